import { TributaryError, ValidationError } from '../core/errors.ts';
import type { Envelope } from '../core/envelope.ts';
import { describeValue, parseTimestampMs } from './event-time.ts';
import { partitionKey } from '../core/partition.ts';

/** Reads an event's time in epoch ms; throws `ValidationError` when the record has none. */
export type EventTime<T> = (envelope: Envelope<T>) => number;

/** Event time is the Kafka record timestamp (`meta.timestamp`); a negative one (none set) is invalid. */
export function eventTimeFromKafka<T>(): EventTime<T> {
  return (envelope) => {
    const ms = envelope.meta.timestamp;
    if (Number.isFinite(ms) && ms >= 0) return ms;
    throw new ValidationError(`$timestamp: the Kafka record has no timestamp (${ms})`);
  };
}

/**
 * Event time read from a field holding epoch ms or an ISO-8601 string (parsed by `parseTimestampMs`:
 * a date-time without a zone is UTC, never the machine's local time).
 *
 * ```ts
 * const eventTime = eventTimeFromField((e: GameEvent) => e.timestamp); // "2026-01-04T10:00:00.120Z"
 * ```
 *
 * Anything else (missing, numeric strings, other date formats) throws `ValidationError`, which the
 * window sends to its dead letters.
 */
export function eventTimeFromField<T>(get: (value: T) => unknown): EventTime<T> {
  return (envelope) => {
    const raw = get(envelope.value);
    const ms = parseTimestampMs(raw);
    if (ms === undefined) {
      const expected = 'event time: expected epoch ms or an ISO-8601 string, got';
      throw new ValidationError(`${expected} ${describeValue(raw)}`, { summary: `${expected} ${describeValue(raw, false)}` });
    }
    return ms;
  };
}

/** Event time already set on the envelope by a `withEventTime` step (`eventTimeMs`). */
export function eventTimeFromEnvelope<T>(): EventTime<T> {
  return (envelope) => {
    const ms = envelope.eventTimeMs;
    if (ms === undefined) throw new ValidationError('event time: the envelope has no eventTimeMs (no withEventTime step before the window)');
    return ms;
  };
}

/** Any error thrown while reading a record's time or key, as the `ValidationError` dead letters carry. */
export function asValidationError(error: unknown, stepId: string): TributaryError {
  if (error instanceof TributaryError) return error;
  return new ValidationError(error instanceof Error ? error.message : String(error), { cause: error, stepId });
}

interface PartitionClock {
  /** Highest event time seen minus the allowed out-of-orderness. */
  watermark: number;
  /** Processing time of the partition's last event (or of its registration or resumption). */
  lastSeenAt: number;
  /** Paused by the source (backpressure): its records wait in Kafka, so it is not idle. */
  paused: boolean;
}

export interface WatermarkOptions {
  /** How far behind the highest event time a partition's watermark trails. */
  readonly maxOutOfOrdernessMs: number;
  /** Processing time without events after which a partition stops holding the watermark back. */
  readonly idleTimeoutMs: number;
}

/**
 * Tracks event-time progress per Kafka partition.
 *
 * A partition's watermark is its highest event time minus `maxOutOfOrdernessMs`; the overall
 * watermark is the minimum over active partitions, so a slow partition holds it back. A partition
 * with no event for `idleTimeoutMs` of processing time is idle and left out of the minimum; when every
 * partition is idle the watermark is the highest partition watermark plus the processing time
 * elapsed since the last event, so a quiet stream still moves on. The watermark never goes back:
 * a partition waking up below it does not lower it.
 *
 * Partitions are known from their events, or registered before any (`register`, from the source's
 * assignment): a registered partition with no event yet holds the watermark back until it has events
 * or turns idle, so a backlog read one partition after another does not make the later partitions'
 * events late. A partition the source paused (backpressure, `pause`) is never idle: its records are
 * waiting in Kafka, not missing; its idle timeout starts again when it resumes. Without this, a sink
 * stalled longer than the idle timeout would let the watermark run ahead to the fastest partition
 * and make the others' backlog late. Idleness is computed from `nowMs` on each call (nothing needs a timer to be correct); a caller
 * that wants to act when the watermark moves without events schedules a wake-up at `nextChangeAt`.
 */
export class WatermarkTracker {
  readonly #outOfOrderMs: number;
  readonly #idleMs: number;
  readonly #byKey = new Map<string, PartitionClock>();
  readonly #clocks: PartitionClock[] = [];
  #lastTopic = '';
  #lastPartition = -1;
  #last: PartitionClock | undefined;
  #lastEventAt = -Infinity;
  #watermark = -Infinity;

  constructor(options: WatermarkOptions) {
    this.#outOfOrderMs = options.maxOutOfOrdernessMs;
    this.#idleMs = options.idleTimeoutMs;
  }

  /**
   * Makes a partition known before its first event (it was assigned): until it has events or turns
   * idle, it holds the watermark where it is. A partition already known is left as it is.
   */
  register(topic: string, partition: number, nowMs: number): void {
    this.#clock(topic, partition, nowMs);
  }

  /** Every partition with events so far and its watermark, as `[topic, partition, watermark]`. */
  save(): [string, number, number][] {
    const saved: [string, number, number][] = [];
    for (const [key, clock] of this.#byKey) {
      if (clock.watermark === -Infinity) continue;
      const cut = key.lastIndexOf(':');
      saved.push([key.slice(0, cut), Number(key.slice(cut + 1)), clock.watermark]);
    }
    return saved;
  }

  /** Starts a partition at a restored watermark. */
  restore(topic: string, partition: number, watermarkMs: number, nowMs: number): void {
    const clock = this.#clock(topic, partition, nowMs);
    if (watermarkMs > clock.watermark) clock.watermark = watermarkMs;
  }

  /** The watermark so far (it never goes back). */
  get watermark(): number {
    return this.#watermark;
  }

  /** Restores a watermark reached before: it does not go below it, whatever partitions join. */
  raise(watermarkMs: number): void {
    if (watermarkMs > this.#watermark) this.#watermark = watermarkMs;
  }

  /** Forgets a partition (revoked): it no longer holds the watermark back. */
  unregister(topic: string, partition: number): void {
    const key = partitionKey(topic, partition);
    const clock = this.#byKey.get(key);
    if (clock === undefined) return;
    this.#byKey.delete(key);
    this.#clocks.splice(this.#clocks.indexOf(clock), 1);
    if (this.#last === clock) {
      this.#last = undefined;
      this.#lastPartition = -1;
    }
  }

  /** The source paused the partition: it holds the watermark back (is not idle) until `resume`. */
  pause(topic: string, partition: number, nowMs: number): void {
    this.#clock(topic, partition, nowMs).paused = true;
  }

  /** The source resumed the partition: its idle timeout counts from `nowMs`. */
  resume(topic: string, partition: number, nowMs: number): void {
    const clock = this.#clock(topic, partition, nowMs);
    if (!clock.paused) return;
    clock.paused = false;
    if (nowMs > clock.lastSeenAt) clock.lastSeenAt = nowMs;
  }

  #clock(topic: string, partition: number, nowMs: number): PartitionClock {
    const key = partitionKey(topic, partition);
    let clock = this.#byKey.get(key);
    if (clock === undefined) {
      clock = { watermark: -Infinity, lastSeenAt: nowMs, paused: false };
      this.#byKey.set(key, clock);
      this.#clocks.push(clock);
    }
    return clock;
  }

  /** Records an event of `topic`/`partition` at `eventTimeMs`, seen at processing time `nowMs`. */
  observe(topic: string, partition: number, eventTimeMs: number, nowMs: number): void {
    let clock = this.#last;
    if (clock === undefined || topic !== this.#lastTopic || partition !== this.#lastPartition) {
      clock = this.#clock(topic, partition, nowMs);
      this.#last = clock;
      this.#lastTopic = topic;
      this.#lastPartition = partition;
    }
    const candidate = eventTimeMs - this.#outOfOrderMs;
    if (candidate > clock.watermark) clock.watermark = candidate;
    clock.lastSeenAt = nowMs;
    if (nowMs > this.#lastEventAt) this.#lastEventAt = nowMs;
  }

  /** The watermark at processing time `nowMs` (-Infinity before any event). */
  current(nowMs: number): number {
    let minActive = Infinity;
    let max = -Infinity;
    let active = false;
    for (const clock of this.#clocks) {
      if (clock.watermark > max) max = clock.watermark;
      if (clock.paused || nowMs - clock.lastSeenAt < this.#idleMs) {
        active = true;
        if (clock.watermark < minActive) minActive = clock.watermark;
      }
    }
    const candidate = this.#clocks.length === 0 ? -Infinity : active ? minActive : max + (nowMs - this.#lastEventAt);
    if (candidate > this.#watermark) this.#watermark = candidate;
    return this.#watermark;
  }

  /**
   * The processing time at which the watermark may next move without any event: when an active
   * partition turns idle, or, with all idle, when the watermark reaches `targetMs`. `undefined` when
   * only an event can move it (idleness disabled, no partition seen yet, or one paused and the rest idle).
   */
  nextChangeAt(targetMs: number, nowMs: number): number | undefined {
    if (this.#idleMs === Infinity || this.#clocks.length === 0) return undefined;
    let nextIdle = Infinity;
    let max = -Infinity;
    let paused = false;
    for (const clock of this.#clocks) {
      if (clock.watermark > max) max = clock.watermark;
      if (clock.paused) paused = true;
      else if (nowMs - clock.lastSeenAt < this.#idleMs) nextIdle = Math.min(nextIdle, clock.lastSeenAt + this.#idleMs);
    }
    if (nextIdle !== Infinity) return nextIdle;
    // A paused partition holds the watermark until it resumes, which is an event, not a time.
    return paused ? undefined : this.#lastEventAt + (targetMs - max);
  }

  /** Partitions seen so far. */
  get partitions(): number {
    return this.#clocks.length;
  }
}
