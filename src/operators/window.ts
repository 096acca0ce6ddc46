import { asyncScheduler, Observable, timer } from 'rxjs';
import type { OperatorFunction, SchedulerLike, Subscription } from 'rxjs';
import type { Envelope, Routed } from '../core/envelope.ts';
import type { Metrics } from '../core/metrics.ts';
import type { DeadLetter } from '../core/sink.ts';
import type { TopicPartition } from '../core/partition.ts';
import type { Aggregator, AggregatorResults } from './aggregators.ts';
import { checkStepId, stepConfigError } from './per-record.ts';
import type { EventTime } from './watermark.ts';
import { fixedGrid, windowSpecProblems } from './window-assigners.ts';
import type { WindowSpec } from './window-assigners.ts';
import type { Changelog } from '../core/state.ts';
import { DurableWindows } from './window-durable-internals.ts';
import { RESERVED_FIELDS, WindowEngine } from './window-internals.ts';
import type { EngineConfig } from './window-internals.ts';

export type { Aggregator, AggregatorResults } from './aggregators.ts';
export { approxDistinct, avg, count, distinct, max, min, sum, topK } from './aggregators.ts';
export type { HoppingSpec, SessionSpec, TumblingSpec, WindowSpec } from './window-assigners.ts';
export { hopping, session, tumbling } from './window-assigners.ts';
export type { EventTime } from './watermark.ts';
export { eventTimeFromEnvelope, eventTimeFromField, eventTimeFromKafka } from './watermark.ts';

/**
 * One window's result, a flat record: the key, the window bounds, whether it is the final result,
 * fields copied by `carry` from the window's first event, and one field per named aggregator.
 */
export type WindowResult<R extends Record<string, unknown> = Record<string, unknown>> = {
  readonly key: string;
  readonly window_start: number;
  readonly window_end: number;
  /** False for the running results of `emit: 'update'`, true for the one emitted when the window closes. */
  readonly final: boolean;
} & R &
  Readonly<Record<string, unknown>>;

export interface WindowOptions<T, Aggs extends Record<string, Aggregator<T>> = Record<string, Aggregator<T>>> {
  /** The step id, in errors, dead-letter records and metric labels. */
  readonly id: string;
  /** Tumbling, hopping or session: see `tumbling()`, `hopping()`, `session()`. */
  readonly window: WindowSpec;
  /** Groups events: one set of windows per key (`e => e.game_id`). */
  readonly key: (value: T) => string;
  /** Event time in epoch ms: `eventTimeFromField`, `eventTimeFromKafka`, `eventTimeFromEnvelope`. */
  readonly eventTime: EventTime<T>;
  /** Named aggregators; each name becomes a field of the result. */
  readonly aggregators: Aggs;
  /** How far behind a partition's highest event time its watermark trails. Default 0. */
  readonly maxOutOfOrdernessMs?: number;
  /** How long past its end (in event time) a window stays open for late events. Default 0. */
  readonly graceMs?: number;
  /** Processing time without events after which a partition stops holding the watermark back. Default: never. */
  readonly idleTimeoutMs?: number;
  /** `'final'` (default): one result per window at close. `'update'`: a result on every change too. */
  readonly emit?: 'final' | 'update';
  /** Bound on windows open across all keys; past it new windows are refused. Default 100,000. */
  readonly maxOpenWindows?: number;
  /** Fields copied into the result from the window's first event (`e => ({ game_id: e.game_id })`). */
  readonly carry?: (value: T) => Record<string, unknown>;
  /** Takes refused records (unreadable time or key, state limit, failing aggregator) and their leases. */
  readonly deadLetter: DeadLetter;
  /** Counts `late_events_total`, `state_limit_total` and sets `open_windows`, labelled `{ step: id }`. */
  readonly metrics?: Metrics;
  /** Processing-time clock and timers (idle partitions). Default `asyncScheduler`. */
  readonly scheduler?: SchedulerLike;
  /** On completion, close every open window and emit its result (default true); see `window()`. */
  readonly flushOnComplete?: boolean;
  /**
   * Partitions that will feed this window, as the source is assigned them (the runtime's
   * `assigned` events). Each holds the watermark back from its assignment until it has events or
   * turns idle. Without it, partitions are known from their first event only, and a backlog read one
   * partition after another makes the later partitions' early events late.
   */
  readonly partitions?: Observable<readonly TopicPartition[]>;
  /**
   * The source's pauses and resumptions of partitions (the runtime's `paused` / `resumed` events). A
   * paused partition is never idle (its records wait in Kafka), so a sink stalled for longer than
   * `idleTimeoutMs` does not let the watermark run ahead and make the paused partitions' backlog late.
   */
  readonly flow?: Observable<PartitionFlow>;
  /** Partitions revoked from the source (the runtime's `revoked` events): they leave the watermark and, with `state`, the step. */
  readonly revoked?: Observable<readonly TopicPartition[]>;
  /**
   * Durable state (`ctx.state.changelog(id)`): windows kept per input partition, written to the
   * changelog at every checkpoint and restored on assignment; records are done once in the changelog,
   * not when their window closes. The input must be partitioned by `key` (a repartition topic).
   */
  readonly state?: Changelog;
  /** With `state` and a repartitioned input: every upstream partition, which each partition's watermark waits for. */
  readonly origins?: readonly TopicPartition[];
}

/** The source paused (`paused` true) or resumed these partitions (the runtime's `paused` / `resumed` events). */
export interface PartitionFlow {
  readonly paused: boolean;
  readonly partitions: readonly TopicPartition[];
}

/**
 * Aggregates events in event-time windows per key, emitting one flat result per window.
 *
 * ```ts
 * events$.pipe(
 *   window({
 *     id: 'revenue-per-game',
 *     window: tumbling({ sizeMs: 60_000 }),
 *     key: (e: Purchase) => e.game_id,
 *     eventTime: eventTimeFromField((e: Purchase) => e.timestamp),
 *     aggregators: { purchases: count(), revenue: sum((e: Purchase) => e.event_data?.amount) },
 *     maxOutOfOrdernessMs: 5_000,
 *     idleTimeoutMs: 30_000,
 *     deadLetter,
 *   }),
 * ); // Routed: 'results' -> { key, window_start, window_end, final, purchases, revenue }, 'late' -> the event
 * ```
 *
 * Watermark: per Kafka partition, the highest event time minus `maxOutOfOrdernessMs`; the step's is
 * the minimum over partitions that had an event within `idleTimeoutMs` of processing time, or, when
 * all are idle, the highest plus the processing time since the last event (a quiet stream still
 * closes its windows; a partition the source paused is never idle: see `flow`).
 * A window closes when the watermark reaches `window_end + graceMs`.
 *
 * Outputs: results on `'results'` (envelope meta of the window's first event, `eventTimeMs` =
 * `window_start`); events whose every window has closed, unchanged with their own lease, on `'late'`
 * (a hopping event some of whose windows are still open joins those; a session event touching an
 * open session merges into it, however old).
 * Nothing is dropped silently: a record whose event time or key cannot be read, one that needs a new
 * window while `maxOpenWindows` are open (`StateLimitError`, counted in `state_limit_total`; the event
 * is refused as a whole, and windows already open keep taking events), and one an aggregator throws
 * on (`OperatorError`; windows that already existed keep what earlier aggregators added) go to
 * `deadLetter`, which is required.
 *
 * Results closing together come out in window-end order, then in the order the windows opened. Give
 * aggregator getters a typed parameter (`(e: Purchase) => e.amount`): TypeScript does not carry `T`
 * into the aggregator factories.
 *
 * Leases: an event's lease is handed to the `LeaseHold` of each window it joins (retained once per
 * extra window), and the final result carries them all; `'update'` results carry `NOOP_LEASE`.
 * Completion with `flushOnComplete` closes every window; without it (an unbounded source shutting
 * down) nothing is emitted and held leases are kept unreleased, so those records are read again on
 * restart. An upstream error or unsubscription also leaves held leases unreleased. Timers are torn
 * down in every case.
 *
 * @param options the window, key, event time, aggregators and bounds; checked here (ConfigError)
 * @returns an operator emitting `Routed` results and late events
 */
export function window<T, Aggs extends Record<string, Aggregator<T>>>(
  options: WindowOptions<T, Aggs>,
): OperatorFunction<Envelope<T>, Routed<WindowResult<AggregatorResults<Aggs>> | T>> {
  const config = resolve(options);
  const scheduler = options.scheduler ?? asyncScheduler;
  const flushOnComplete = options.flushOnComplete ?? true;
  const tracksIdle = config.idleTimeoutMs !== Infinity;
  return (source) =>
    new Observable<Routed<WindowResult<AggregatorResults<Aggs>> | T>>((subscriber) => {
      const emit = (routed: Routed<unknown>) => subscriber.next(routed as Routed<WindowResult<AggregatorResults<Aggs>> | T>);
      const durable =
        options.state === undefined
          ? undefined
          : new DurableWindows<T>(config, emit, options.state, {
              run: (work) => guard(() => {
                work();
                arm(scheduler.now());
              }),
              fail: (error) => guard(() => {
                throw error;
              }),
              now: () => scheduler.now(),
            }, options.origins);
      const engine = durable ?? new WindowEngine<T>(config, emit);
      const unregister = durable === undefined ? undefined : options.state?.register(durable);
      // One timer at a time, for the earliest moment the watermark can move without an event.
      let wake: { readonly at: number; sub?: Subscription } | undefined;
      const stopTimer = () => {
        wake?.sub?.unsubscribe();
        wake = undefined;
      };
      const arm = (now: number) => {
        const at = engine.wakeAt(now);
        if (at === undefined || (wake !== undefined && wake.at <= at) || subscriber.closed) return;
        stopTimer();
        const mine: { readonly at: number; sub?: Subscription } = { at };
        wake = mine;
        const sub = timer(Math.max(0, at - now), scheduler).subscribe(() => {
          if (wake !== mine) return;
          wake = undefined;
          guard(() => {
            const t = scheduler.now();
            engine.advance(t);
            arm(t);
          });
        });
        if (wake === mine) mine.sub = sub;
      };
      const guard = (work: () => void) => {
        try {
          work();
        } catch (error) {
          stopTimer();
          subscriber.error(error);
        }
      };
      const expected = options.partitions?.subscribe((partitions) => guard(() => {
        const now = scheduler.now();
        if (durable) durable.expect(partitions);
        else (engine as WindowEngine<T>).expect(partitions, now);
        arm(now);
      }));
      const revoked = options.revoked?.subscribe((partitions) => guard(() => {
        const now = scheduler.now();
        if (durable) durable.revoke(partitions);
        else (engine as WindowEngine<T>).forget(partitions);
        engine.advance(now);
        arm(now);
      }));
      const flow = options.flow?.subscribe(({ paused, partitions }) => guard(() => {
        const now = scheduler.now();
        engine.flow(paused, partitions, now);
        engine.advance(now);
        arm(now);
      }));
      const input = source.subscribe({
        next: (envelope) => {
          if (subscriber.closed) return; // a failed step takes no more records
          try {
            const now = tracksIdle ? scheduler.now() : 0; // without idleness processing time plays no part
            engine.next(envelope, now);
            arm(now);
          } catch (error) {
            stopTimer();
            subscriber.error(error);
          }
        },
        error: (error: unknown) => {
          stopTimer();
          subscriber.error(error);
        },
        complete: () => {
          stopTimer();
          guard(() => {
            if (flushOnComplete) engine.flush();
            subscriber.complete();
          });
        },
      });
      return () => {
        unregister?.();
        revoked?.unsubscribe();
        expected?.unsubscribe();
        flow?.unsubscribe();
        input.unsubscribe();
        stopTimer();
      };
    });
}

const DEFAULT_MAX_OPEN_WINDOWS = 25_000;

function resolve<T>(options: WindowOptions<T, Record<string, Aggregator<T>>>): EngineConfig<T> {
  checkStepId(options?.id, 'window');
  const problems: string[] = [];
  const nonNegative = (name: string, value: unknown) => {
    if (value !== undefined && (typeof value !== 'number' || Number.isNaN(value) || value < 0 || value === Infinity))
      problems.push(`${name} must be a finite number >= 0, got ${String(value)}`);
  };
  const fn = (name: string, value: unknown, required: boolean) => {
    if ((required || value !== undefined) && typeof value !== 'function') problems.push(`${name} must be a function`);
  };
  const spec = options.window;
  if (typeof spec !== 'object' || spec === null) problems.push('window must be a tumbling, hopping or session spec');
  else problems.push(...windowSpecProblems(spec));
  fn('key', options.key, true);
  fn('eventTime', options.eventTime, true);
  fn('carry', options.carry, false);
  fn('deadLetter', options.deadLetter, true);
  nonNegative('graceMs', options.graceMs);
  nonNegative('maxOutOfOrdernessMs', options.maxOutOfOrdernessMs);
  const idle = options.idleTimeoutMs;
  if (idle !== undefined && (typeof idle !== 'number' || !(idle > 0))) problems.push(`idleTimeoutMs must be > 0, got ${String(idle)}`);
  const maxOpen = options.maxOpenWindows ?? DEFAULT_MAX_OPEN_WINDOWS;
  if (!Number.isInteger(maxOpen) || maxOpen < 1) problems.push(`maxOpenWindows must be an integer >= 1, got ${String(maxOpen)}`);
  if (options.emit !== undefined && options.emit !== 'final' && options.emit !== 'update')
    problems.push(`emit must be 'final' or 'update', got ${String(options.emit)}`);
  if (options.flushOnComplete !== undefined && typeof options.flushOnComplete !== 'boolean') problems.push('flushOnComplete must be a boolean');
  const aggregators = options.aggregators;
  const names = typeof aggregators === 'object' && aggregators !== null ? Object.keys(aggregators) : [];
  if (names.length === 0 && (typeof aggregators !== 'object' || aggregators === null)) problems.push('aggregators must be an object of named aggregators');
  for (const name of names) {
    const agg = aggregators[name] as Aggregator<T> | undefined;
    if (RESERVED_FIELDS.has(name)) problems.push(`aggregators.${name}: the name is taken by the window result itself`);
    const flag = `${name}_approximate`;
    if (typeof agg?.approximate === 'function' && (names.includes(flag) || RESERVED_FIELDS.has(flag)))
      problems.push(`aggregators.${name}: its estimate flag "${flag}" is taken by another aggregate`);
    if (typeof agg?.init !== 'function' || typeof agg.add !== 'function' || typeof agg.result !== 'function')
      problems.push(`aggregators.${name} must have init, add and result functions`);
    else if (spec?.kind === 'session' && typeof agg.merge !== 'function') problems.push(`aggregators.${name} must have merge: session windows merge`);
  }
  if (problems.length > 0) throw stepConfigError(options.id, problems);
  return {
    id: options.id,
    grid: spec.kind === 'session' ? undefined : fixedGrid(spec),
    gapMs: spec.kind === 'session' ? spec.gapMs : 0,
    key: options.key,
    eventTime: options.eventTime,
    names,
    aggregators: names.map((name) => aggregators[name] as Aggregator<T>),
    graceMs: options.graceMs ?? 0,
    maxOutOfOrdernessMs: options.maxOutOfOrdernessMs ?? 0,
    idleTimeoutMs: idle ?? Infinity,
    updates: options.emit === 'update',
    maxOpenWindows: maxOpen,
    carry: options.carry,
    deadLetter: options.deadLetter,
    metrics: options.metrics,
  };
}
