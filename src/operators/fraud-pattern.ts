import { Observable, type OperatorFunction } from 'rxjs';
import { ConfigError } from '../errors.ts';
import type { Envelope, RecordMeta } from '../runtime/envelope.ts';
import type { Metrics } from '../runtime/metrics.ts';
import { partitionKey } from '../sources/source.ts';
import { alertEnvelope, makeAlert, SEVERITIES, type AlertDraft, type FraudAlert, type FraudPatternKind, type Severity } from './fraud-alert.ts';

/**
 * What the fraud patterns (velocity, amount, distinct, sequence) share as operators: the options
 * they all take, their construction-time checks and the per-record skeleton (select, key, lease,
 * alert, metrics). Their keyed state is in `./fraud-internals.ts`.
 *
 * State lives in memory only. A pattern releases the lease of every event that does not trigger an
 * alert as soon as its state is updated, so after a crash the state built from events before the last
 * commit is gone (as in Kafka Streams without a changelog topic): a burst that straddles a restart
 * may go undetected. The alerts themselves are never lost: a triggering event's lease travels with
 * its alert, and a replay rebuilds the same `alert_id`.
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
}

export const DEFAULT_MAX_KEYS = 100_000;

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
  const context: PatternContext = {
    limited: () => metrics?.inc('state_limit_total', labels),
    late: () => {
      metrics?.inc('late_events_total', labels);
      return undefined;
    },
    maxKeys: options.maxKeys ?? DEFAULT_MAX_KEYS,
  };
  const { pattern, select, open } = spec;
  return (source) =>
    new Observable<Envelope<FraudAlert>>((subscriber) => {
      const step = open(context);
      const partitionOf = partitionNamer();
      return source.subscribe({
        next(envelope) {
          try {
            const { value, meta } = envelope;
            const selected = select(value, meta);
            if (selected === undefined) return envelope.lease.release();
            const key = keyOf(value, meta);
            if (key === undefined) {
              // No `unkeyed_records_total` in the catalogue yet: counted as an outcome of records_in.
              metrics?.inc('records_in_total', { step: id, outcome: 'unkeyed' });
              return envelope.lease.release();
            }
            const event: FraudEvent = { timeMs: envelope.eventTimeMs ?? meta.timestamp, id: eventIdString(eventIdOf(value, meta), meta), partition: partitionOf(meta) };
            const draft = step(key, event, selected);
            if (draft === undefined) return envelope.lease.release();
            metrics?.inc('alerts_total', labels);
            subscriber.next(alertEnvelope(envelope, makeAlert(id, pattern, key, severity, draft)));
          } catch (error) {
            subscriber.error(error);
          }
        },
        error: (error: unknown) => subscriber.error(error),
        complete: () => subscriber.complete(),
      });
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
