/**
 * Signal handling for a runtime, kept apart from it so tests drive shutdown programmatically.
 *
 * The first SIGTERM or SIGINT starts a graceful shutdown (stop fetching, drain, flush, commit, leave
 * the group) and exits 0 when it was clean, 1 when it hit its deadline or failed. A second signal
 * exits at once (128 + the signal number), without committing further.
 *
 * @example
 * ```ts
 * const runtime = createRuntime(options);
 * installSignalHandlers(runtime);
 * await runtime.run(pipeline);
 * ```
 */
import { constants } from 'node:os';
import type { ShutdownResult } from './context.ts';
import type { Logger } from '../core/logger.ts';

export interface ShutdownTarget {
  shutdown(reason?: string): Promise<ShutdownResult>;
  readonly logger: Logger;
}

export interface SignalOptions {
  /** Default SIGTERM and SIGINT. */
  readonly signals?: readonly NodeJS.Signals[];
  /** Default `process.exit`. */
  readonly exit?: (code: number) => void;
}

/** Installs the handlers; returns a function that removes them. */
export function installSignalHandlers(runtime: ShutdownTarget, options: SignalOptions = {}): () => void {
  const signals = options.signals ?? ['SIGTERM', 'SIGINT'];
  const exit = options.exit ?? ((code: number) => process.exit(code));
  let received = false;
  const handler = (signal: NodeJS.Signals) => {
    if (received) {
      runtime.logger.warn({ signal }, 'second signal: exiting at once');
      exit(128 + (constants.signals[signal] ?? 0));
      return;
    }
    received = true;
    runtime.logger.info({ signal }, 'signal received: shutting down');
    runtime.shutdown(signal).then(
      (result) => exit(result.clean ? 0 : 1),
      () => exit(1),
    );
  };
  for (const signal of signals) process.on(signal, handler);
  return () => {
    for (const signal of signals) process.off(signal, handler);
  };
}
