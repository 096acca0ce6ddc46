/**
 * How `backfill` runs a topology over a past interval: its own consumer group, a lead-in before
 * `from` that warms the stateful steps, a lead-out after `to` that lets windows close, and writes
 * only for records (and window results) whose event time lies in `[from, to)`.
 */
import type { Envelope } from '../../core/envelope.ts';
import { filter, map, tap } from 'rxjs';
import type { Pipeline, PipelineContext } from '../../runtime/context.ts';
import type { ValidSink, ValidTopology } from '../types.ts';

/** How far past an event its window can still change: size (a session's gap) + grace + maxOutOfOrderness. */
function windowSpanMs(step: ValidTopology['steps'][number]): number {
  if (step.kind !== 'window') return 0;
  const shape = step.window;
  const size = shape.kind === 'session' ? shape.gapMs : shape.sizeMs;
  return size + step.graceMs + step.maxOutOfOrdernessMs;
}

/**
 * The default lead-in: the largest of every dedup `ttl` (a duplicate of an event up to a ttl before
 * `from` is still dropped) and every window's size + grace + maxOutOfOrderness (a window that began
 * before `from` is complete when written). Fraud patterns' own spans (`within`, `window`) are not
 * included: they emit alerts, not rows, and `--lead-in` covers them when wanted.
 */
export function defaultLeadInMs(topology: ValidTopology): number {
  return Math.max(0, ...topology.steps.map((s) => (s.kind === 'dedup' ? s.ttlMs : windowSpanMs(s))));
}

/**
 * The default lead-out: a window's span plus a minute when the topology has windows (windows
 * ending before `to` need later events to close), else none.
 */
export function defaultLeadOutMs(topology: ValidTopology): number {
  const span = Math.max(0, ...topology.steps.map(windowSpanMs));
  return span === 0 ? 0 : span + 60_000;
}

/** Sinks a backfill leaves out, with why: `add` counters would count the interval twice. */
export function excludedSinks(topology: ValidTopology): { readonly id: string; readonly reason: string }[] {
  return topology.sinks.flatMap((s: ValidSink) => (s.kind === 'dynamodb' && s.mode === 'add' ? [{ id: s.id, reason: 'mode add is not idempotent: a backfill would add the interval again' }] : []));
}

/** The topology as the backfill runs it: every source in `group` from its committed offsets, the excluded sinks removed. */
export function backfillTopology(topology: ValidTopology, group: string): ValidTopology {
  const excluded = new Set(excludedSinks(topology).map((s) => s.id));
  return {
    ...topology,
    sources: topology.sources.map((s) => ({ ...s, group, startFrom: 'committed' as const })),
    sinks: topology.sinks.filter((s) => !excluded.has(s.id)),
  };
}

/** Whether an envelope's event time (a window result's: its window start), else its Kafka time, lies in `[fromMs, toMs)`. */
export function inInterval(envelope: Envelope<unknown>, fromMs: number, toMs: number): boolean {
  const time = envelope.eventTimeMs ?? envelope.meta.timestamp;
  return time >= fromMs && time < toMs;
}

export interface IntervalCounts {
  written: number;
  outside: number;
  deadLettersSuppressed: number;
}

/**
 * Wraps a compiled pipeline: `onRecord` sees every record read (for progress and the stop), the
 * sinks named `sinkIds` receive only envelopes in the interval (the others are released, as
 * written), and dead letters of records outside it are not written again (the original run wrote
 * them). Internal writers (repartition topics) get everything: the lead-in and lead-out events are
 * what warms the windows and moves their watermark.
 */
export function intervalPipeline(
  pipeline: Pipeline,
  interval: { readonly fromMs: number; readonly toMs: number; readonly sinkIds: ReadonlySet<string> },
  onRecord: (meta: Envelope<unknown>['meta']) => void,
  counts: IntervalCounts,
): Pipeline {
  const { fromMs, toMs, sinkIds } = interval;
  const keep = (envelope: Envelope<unknown>): boolean => {
    if (inInterval(envelope, fromMs, toMs)) {
      counts.written++;
      return true;
    }
    counts.outside++;
    envelope.lease.release();
    return false;
  };
  return (input$, ctx) => {
    const deadLetter: typeof ctx.deadLetter = (envelope, error, stepId) => {
      if (inInterval(envelope, fromMs, toMs)) return ctx.deadLetter(envelope, error, stepId);
      counts.deadLettersSuppressed++;
      envelope.lease.release();
    };
    const inner: PipelineContext = {
      ...ctx,
      deadLetter,
      sinkContext: { ...ctx.sinkContext, deadLetter },
      toSink: (sink, batching) => (source) =>
        sinkIds.has(sink.id)
          ? source.pipe(
              map((batch) => batch.filter((e) => keep(e))),
              filter((batch) => batch.length > 0),
              ctx.toSink(sink, batching),
            )
          : source.pipe(ctx.toSink(sink, batching)),
    };
    return pipeline(input$.pipe(tap((batch) => batch.forEach((envelope) => onRecord(envelope.meta)))), inner);
  };
}
