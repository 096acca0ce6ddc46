import { EMPTY, ignoreElements, tap } from 'rxjs';
import type { TributaryError } from '../core/errors.ts';
import type { PipelineContext } from './context.ts';
import type { Envelope } from '../core/envelope.ts';
import { silentLogger } from '../core/logger.ts';
import { Metrics } from '../core/metrics.ts';

export interface MemoryContextHandlers {
  /** Each dead letter; its lease is released after this returns. */
  readonly onDeadLetter?: (envelope: Envelope<unknown>, error: TributaryError, stepId: string) => void;
  /** Each record reaching a sink; its lease is released after this returns (the sink is not called). */
  readonly onSink?: (sinkId: string, envelope: Envelope<unknown>) => void;
}

/**
 * A `PipelineContext` for running a compiled topology in process, without Kafka or sinks: records
 * that reach a sink or dead letters are handed to the callbacks and then count as done. For tests
 * of topologies and for measuring the operators alone.
 *
 * ```ts
 * const seen: unknown[] = [];
 * compileTopology(topology, deps)(input$, memoryContext({ onSink: (_, e) => seen.push(e.value) }));
 * ```
 */
export function memoryContext(handlers: MemoryContextHandlers = {}, metrics = new Metrics()): PipelineContext {
  return {
    deadLetter: (envelope, error, stepId) => {
      handlers.onDeadLetter?.(envelope, error, stepId);
      envelope.lease.release();
    },
    logger: silentLogger,
    metrics,
    sinkContext: { deadLetter: () => {}, logger: silentLogger, metrics },
    events: EMPTY,
    toSink: (sink) => (source) =>
      source.pipe(
        tap((batch) => {
          for (const envelope of batch) {
            handlers.onSink?.(sink.id, envelope);
            envelope.lease.release();
          }
        }),
        ignoreElements(),
      ),
  };
}
