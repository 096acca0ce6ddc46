import { pino, stdSerializers, type DestinationStream, type Logger as PinoLogger } from 'pino';
import { TributaryError } from './errors.ts';

export type Logger = PinoLogger;

/** Setting names whose values never reach a log line, at any of the first three levels of a log object. */
const SECRET_KEYS = ['password', 'secretAccessKey', 'sessionToken', 'accessToken', 'token', 'sasl', 'credentials', 'authorization'];

/** pino `redact` paths: `password`, `*.password`, `*.*.password`, … */
export const REDACTED_PATHS: readonly string[] = SECRET_KEYS.flatMap((key) => [key, `*.${key}`, `*.*.${key}`]);

/**
 * Whether logs may carry record content (a value's first bytes, field values quoted by validation):
 * only with `TRIBUTARY_LOG_RECORD_CONTENT=1`. Dead-letter headers carry it either way.
 */
export function logsRecordContent(env: Readonly<Record<string, string | undefined>> = process.env): boolean {
  return ['1', 'true', 'yes', 'on'].includes((env.TRIBUTARY_LOG_RECORD_CONTENT ?? '').trim().toLowerCase());
}

/**
 * pino's error serializer, except that an error about a record whose message quotes it (a
 * TributaryError with a `summary`) is logged by its summary, without the stack that repeats the
 * message, unless record content is allowed.
 */
export function serializeError(error: unknown, content = logsRecordContent()): unknown {
  if (!content && error instanceof TributaryError && error.summary !== undefined) {
    return { type: error.name, code: error.code, message: error.summary, ...(error.stepId === undefined ? {} : { stepId: error.stepId }) };
  }
  return error instanceof Error ? stdSerializers.err(error) : error;
}

/**
 * Structured JSON logs on stdout; `LOG_LEVEL` sets the level (default `info`, `silent` in tests).
 * Credentials and SASL settings are redacted (`REDACTED_PATHS`); see `serializeError` for errors.
 */
export function createLogger(bindings: Record<string, unknown> = {}, level?: string, destination?: DestinationStream): Logger {
  const resolved = level ?? process.env.LOG_LEVEL ?? (process.env.VITEST ? 'silent' : 'info');
  const options = {
    level: resolved,
    base: { service: 'tributary', ...bindings },
    redact: { paths: [...REDACTED_PATHS], censor: '[redacted]' },
    serializers: { err: (error: unknown) => serializeError(error) },
  };
  return destination === undefined ? pino(options) : pino(options, destination);
}

/** A logger that writes nothing: for tests and benchmarks. */
export const silentLogger: Logger = pino({ level: 'silent' });
