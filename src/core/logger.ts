import { pino, type Logger as PinoLogger } from 'pino';

export type Logger = PinoLogger;

/** Structured JSON logs on stdout; `LOG_LEVEL` sets the level (default `info`, `silent` in tests). */
export function createLogger(bindings: Record<string, unknown> = {}, level?: string): Logger {
  const resolved = level ?? process.env.LOG_LEVEL ?? (process.env.VITEST ? 'silent' : 'info');
  return pino({ level: resolved, base: { service: 'tributary', ...bindings } });
}

/** A logger that writes nothing: for tests and benchmarks. */
export const silentLogger: Logger = pino({ level: 'silent' });
