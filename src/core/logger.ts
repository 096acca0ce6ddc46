import { pino, type DestinationStream, type Logger as PinoLogger } from 'pino';

export type Logger = PinoLogger;

/** Structured JSON logs on stdout; `LOG_LEVEL` sets the level (default `info`, `silent` in tests). */
export function createLogger(bindings: Record<string, unknown> = {}, level?: string, destination?: DestinationStream): Logger {
  const resolved = level ?? process.env.LOG_LEVEL ?? (process.env.VITEST ? 'silent' : 'info');
  const options = { level: resolved, base: { service: 'tributary', ...bindings } };
  return destination === undefined ? pino(options) : pino(options, destination);
}

/** A logger that writes nothing: for tests and benchmarks. */
export const silentLogger: Logger = pino({ level: 'silent' });
