import { asyncScheduler, Observable, type Observable as Obs, type OperatorFunction, type SchedulerLike } from 'rxjs';
import type { Changelog } from '../core/state.ts';
import { ConfigError } from '../core/errors.ts';
import { LeaseHold, type Envelope, type RecordMeta } from '../core/envelope.ts';
import type { Metrics } from '../core/metrics.ts';
import { partitionKey, type TopicPartition } from '../core/partition.ts';
import { DurableParts, trackedLease, type Part } from './durable-internals.ts';
import { KeyedWindows, type SavedKeys } from './fraud-internals.ts';
import { alertEnvelope, makeAlert, SEVERITIES, type AlertDraft, type FraudAlert, type FraudPatternKind, type Severity } from './fraud-alert.ts';

/**
 * What the fraud patterns (velocity, amount, distinct, sequence) share as operators: the options
 * they all take, their construction-time checks and the per-record skeleton (select, key, lease,
 * alert, metrics). Their keyed state is in `./fraud-internals.ts`.
 *
 * Without `state`, state lives in memory only: a pattern releases the lease of every event that does
 * not trigger an alert as soon as its state is updated, so after a crash the state built from events
 * before the last commit is gone and a burst that straddles a restart may go undetected. With
 * `state` (a changelog, on Kafka), state is kept per input partition and made durable at every
 * checkpoint (`durable-internals.ts`): events are done once their state is in the changelog, a replayed
 * event already applied is skipped, and an alert not yet acknowledged is kept in the state and sent
 * again, unchanged, when its event is replayed. Either way a triggering event's lease travels with its
 * alert, and alert ids are deterministic.
 */

export type KeyOf<T> = (value: T, meta: RecordMeta) => string | undefined;
export type PredicateOf<T> = (value: T, meta: RecordMeta) => boolean;
export type GetterOf<T> = (value: T, meta: RecordMeta) => unknown;

/** Options every fraud pattern takes; functions come compiled (see `./expression.ts`). */
export interface FraudPatternOptions<T = unknown> {
  /** The step id: `pattern_id` of the alerts, metric label `step`, named in errors. */
  readonly id: string;
  /** What the pattern is keyed by, usually `user_id`; records without a key are released and counted. */
  readonly key: KeyOf<T>;
  readonly severity: Severity;
  /** The event's id, listed in alerts and hashed into `alert_id` (default: the `event_id` field, else topic/partition/offset). */
  readonly eventId?: GetterOf<T>;
  /** At most this many keys hold state (default 100 000); beyond, a least recently used key (CLOCK) is dropped and counted. */
  readonly maxKeys?: number;
  /** Counts `alerts_total`, `state_limit_total`, `late_events_total` labelled `{ step: id }`. */
  readonly metrics?: Metrics;
  /** Durable state per input partition (the step's changelog); the input must be partitioned by `key`. */
  readonly state?: Changelog;
  /** Partitions revoked from the source: with `state`, their state is written once more and dropped. */
  readonly revoked?: Obs<readonly TopicPartition[]>;
  /**
   * Partitions assigned to the source (of the topics this step reads): with `state`, restored at
   * once, as the window does, instead of when a partition's first record comes: the restore no
   * longer holds that record, nor runs while the backlog of a start or a rebalance pours in.
   */
  readonly assigned?: Obs<readonly TopicPartition[]>;
  /** Processing time, for restores. Default `asyncScheduler`. */
  readonly scheduler?: SchedulerLike;
}

export const DEFAULT_MAX_KEYS = 25_000;

/** One event as a pattern sees it. */
export interface FraudEvent {
  /** Event time: `envelope.eventTimeMs`, else the Kafka timestamp. */
  readonly timeMs: number;
  readonly id: string;
  /** The record's source partition, `partitionKey(topic, partition)` (state expiry follows the slowest one). */
  readonly partition: string;
}

export interface PatternContext {
  /** Counts state dropped to honour a bound (`state_limit_total`). */
  readonly limited: () => void;
  /** Counts an event older than its key's window (`late_events_total`, see `KeyedWindows.acquire`); returns undefined, for `return context.late()`. */
  readonly late: () => undefined;
  readonly maxKeys: number;
  /** The pattern's keyed state (one per `open`): what a durable step snapshots. */
  readonly keyed: <S>(options: { withinMs: number; maxKeys: number; create: () => S; onLimit: () => void }) => KeyedWindows<S>;
}

/** Decides one keyed, selected event: an alert or nothing. */
export type PatternStep<S> = (key: string, event: FraudEvent, selected: S) => AlertDraft | undefined;

export interface PatternSpec<T, S> {
  readonly pattern: FraudPatternKind;
  /** What of the record the pattern needs, or `undefined` when the record is not for this pattern. */
  readonly select: (value: T, meta: RecordMeta) => S | undefined;
  /** Called once per subscription: each subscription has its own state. */
  readonly open: (context: PatternContext) => PatternStep<S>;
}

/**
 * The per-record skeleton of every fraud pattern. For each envelope: `select` (not selected:
 * released), key (missing: released and counted), then the pattern's step; an alert takes the
 * triggering event's lease, anything else releases it. A throw errors the stream and leaves that
 * record's lease held, so its offset is not committed.
 */
export function fraudOperator<T, S>(options: FraudPatternOptions<T>, spec: PatternSpec<T, S>): OperatorFunction<Envelope<T>, Envelope<FraudAlert>> {
  const { id, key: keyOf, severity, metrics } = options;
  const eventIdOf = options.eventId ?? defaultEventId;
  const labels = { step: id };
  const shared = {
    limited: () => metrics?.inc('state_limit_total', labels),
    late: () => {
      metrics?.inc('late_events_total', labels);
      return undefined;
    },
    maxKeys: options.maxKeys ?? DEFAULT_MAX_KEYS,
  };
  /** A fresh pattern state and the keyed stores it made. */
  const openStep = () => {
    const keyed: KeyedWindows<unknown>[] = [];
    const step = spec.open({ ...shared, keyed: (o) => (keyed.push(new KeyedWindows(o)), keyed[keyed.length - 1] as never) });
    return { step, keyed };
  };
  const { pattern, select } = spec;
  const partitionOf = partitionNamer();
  /** The alert for one record, `null` when it is not for this pattern (not selected, no key). */
  const decide = (step: PatternStep<S>, envelope: Envelope<T>): FraudAlert | null | undefined => {
    const { value, meta } = envelope;
    const selected = select(value, meta);
    if (selected === undefined) return null;
    const key = keyOf(value, meta);
    if (key === undefined) {
      // No `unkeyed_records_total` in the catalogue yet: counted as an outcome of records_in.
      metrics?.inc('records_in_total', { step: id, outcome: 'unkeyed' });
      return null;
    }
    const event: FraudEvent = { timeMs: envelope.eventTimeMs ?? meta.timestamp, id: eventIdString(eventIdOf(value, meta), meta), partition: partitionOf(meta) };
    const draft = step(key, event, selected);
    if (draft === undefined) return undefined;
    metrics?.inc('alerts_total', labels);
    return makeAlert(id, pattern, key, severity, draft);
  };
  return (source) =>
    new Observable<Envelope<FraudAlert>>((subscriber) => {
      const emit = (trigger: Envelope<unknown>, alert: FraudAlert) => subscriber.next(alertEnvelope(trigger, alert));
      const durable = options.state === undefined ? undefined : durableParts(options, openStep, decide, emit, (error) => subscriber.error(error));
      const { step } = durable === undefined ? openStep() : { step: undefined };
      const unregister = durable === undefined ? undefined : options.state?.register(durable);
      const revoked = durable === undefined ? undefined : options.revoked?.subscribe((partitions) => durable.revoke(partitions));
      const assigned = durable === undefined ? undefined : options.assigned?.subscribe((partitions) => durable.expect(partitions));
      const input = source.subscribe({
        next(envelope) {
          try {
            if (durable !== undefined) return durable.next(envelope, 0);
            const alert = decide(step as PatternStep<S>, envelope);
            if (alert === null || alert === undefined) return envelope.lease.release();
            emit(envelope, alert);
          } catch (error) {
            subscriber.error(error);
          }
        },
        error: (error: unknown) => subscriber.error(error),
        complete: () => subscriber.complete(),
      });
      return () => {
        unregister?.();
        revoked?.unsubscribe();
        assigned?.unsubscribe();
        input.unsubscribe();
      };
    });
}

interface FraudPart<S> extends Part {
  readonly step: PatternStep<S>;
  readonly keyed: KeyedWindows<unknown>[];
  /** Alerts not acknowledged yet, by their triggering offset: sent again when that record is replayed. */
  readonly out: Map<number, FraudAlert>;
}

interface SavedFraud {
  readonly keys: SavedKeys<unknown>[];
  readonly out: [number, FraudAlert][];
}

function durableParts<T, S>(
  options: FraudPatternOptions<T>,
  openStep: () => { step: PatternStep<S>; keyed: KeyedWindows<unknown>[] },
  decide: (step: PatternStep<S>, envelope: Envelope<T>) => FraudAlert | null | undefined,
  emit: (trigger: Envelope<unknown>, alert: FraudAlert) => void,
  fail: (error: unknown) => void,
): DurableParts<FraudPart<S>, T> {
  const scheduler = options.scheduler ?? asyncScheduler;
  const labels = { step: options.id };
  const send = (part: FraudPart<S>, envelope: Envelope<T>, alert: FraudAlert) => {
    const offset = envelope.meta.offset;
    part.out.set(offset, alert);
    emit({ ...envelope, lease: trackedLease(envelope.lease, () => ((part.dirty = true), part.out.delete(offset))) }, alert);
  };
  return new DurableParts<FraudPart<S>, T>(options.state as Changelog, { run: (work) => work(), fail, now: () => scheduler.now() }, {
    create: (topic, partition, key) => ({ topic, partition, key, applied: -1, hold: new LeaseHold(), dirty: false, out: new Map(), ...openStep() }),
    save: (part): SavedFraud => ({ keys: part.keyed.map((k) => k.save()), out: [...part.out] }),
    load: (part, saved) => {
      const { keys, out } = saved as SavedFraud;
      keys.forEach((k, i) => part.keyed[i]?.load(k));
      for (const [offset, alert] of out) part.out.set(offset, alert);
    },
    apply: (part, envelope) => {
      const offset = envelope.meta.offset;
      if (offset <= part.applied) {
        const alert = part.out.get(offset);
        if (alert !== undefined) return send(part, envelope, alert);
        options.metrics?.inc('state_replayed_skipped_total', labels);
        return envelope.lease.release();
      }
      part.applied = offset;
      part.dirty = true;
      const alert = decide(part.step, envelope);
      if (alert === null) return envelope.lease.release();
      if (alert === undefined) return part.hold.add(envelope);
      // The record stays held until its state is durable; the alert carries a second reference.
      envelope.lease.retain();
      part.hold.add(envelope);
      send(part, envelope, alert);
    },
  });
}

function defaultEventId(value: unknown): unknown {
  return typeof value === 'object' && value !== null ? (value as Record<string, unknown>).event_id : undefined;
}

/** `partitionKey` of a record's meta; remembers the last one (records come in runs per partition). */
function partitionNamer(): (meta: RecordMeta) => string {
  let topic = '';
  let partition = -1;
  let name = '';
  return (meta) => {
    if (meta.topic !== topic || meta.partition !== partition) {
      topic = meta.topic;
      partition = meta.partition;
      name = partitionKey(topic, partition);
    }
    return name;
  };
}

function eventIdString(raw: unknown, meta: RecordMeta): string {
  if (typeof raw === 'string' && raw !== '') return raw;
  if (typeof raw === 'number' || typeof raw === 'bigint') return String(raw);
  return `${meta.topic}/${meta.partition}/${meta.offset}`;
}

/** Collects construction-time problems for a fraud step and throws one ConfigError naming it. */
export class OptionChecks {
  readonly problems: string[] = [];
  readonly #id: string;

  constructor(options: FraudPatternOptions<never>, operator: string) {
    const id = (options as { id?: unknown }).id;
    if (typeof id !== 'string' || id.trim() === '') throw new ConfigError(`${operator}: option "id" (the step id) must be a non-empty string`);
    this.#id = id;
    if (typeof options.key !== 'function') this.problems.push('option "key" must be a function');
    if (!SEVERITIES.includes(options.severity)) this.problems.push(`option "severity" must be one of ${SEVERITIES.join(', ')} (got ${String(options.severity)})`);
    if (options.eventId !== undefined) this.fn('eventId', options.eventId);
    if (options.maxKeys !== undefined) this.integer('maxKeys', options.maxKeys, 1);
  }

  integer(name: string, value: unknown, min: number): void {
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min) this.problems.push(`option "${name}" must be an integer >= ${min} (got ${String(value)})`);
  }

  positive(name: string, value: unknown): void {
    if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) this.problems.push(`option "${name}" must be a finite number > 0 (got ${String(value)})`);
  }

  fn(name: string, value: unknown): void {
    if (typeof value !== 'function') this.problems.push(`option "${name}" must be a function`);
  }

  /** Throws if any problem was found: `step "<id>": <problem>` per line. */
  done(): void {
    if (this.problems.length > 0) throw new ConfigError(this.problems.map((p) => `step "${this.#id}": ${p}`), { stepId: this.#id });
  }
}
