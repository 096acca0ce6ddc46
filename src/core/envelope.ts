/**
 * What flows through a pipeline: a value, where it came from, and a lease on its source offset.
 *
 * The lease is how offsets get committed only after the sinks. The source gives each Kafka record
 * a reference to a lease (the records of one fetch of a partition share one); the partition's
 * committed offset never passes a record whose lease is still held. Whoever holds an envelope owns
 * exactly one reference to its lease and must do one of:
 * - pass it on inside an emitted envelope (map, filter that keeps, route to one output);
 * - `retain(n)` before emitting it n + 1 times (fan-out to several outputs or sinks);
 * - `release()` it when the record's effect is complete (filtered out, a duplicate, durably written);
 * - hand it to a `LeaseHold` when the record's effect is deferred (a window that is still open).
 */
import { PartitionKeys } from './partition.ts';

export interface RecordMeta {
  readonly topic: string;
  readonly partition: number;
  /** Kafka offset as a number: exact up to 2^53, centuries of traffic on one partition. */
  readonly offset: number;
  /** Kafka record timestamp, epoch ms. */
  readonly timestamp: number;
  readonly key: Buffer | null;
  readonly headers: Readonly<Record<string, string>>;
}

export interface Lease {
  /** Adds `count` references (default 1). */
  retain(count?: number): void;
  /** Drops one reference; the last one marks the source record done. */
  release(): void;
  /**
   * True once the record's partition was revoked from this member: the member will not commit it,
   * and the partition's next owner reads it again from the last commit. A sink still holding such a
   * record may drop it (releasing the lease) rather than write it. Absent: never revoked.
   */
  readonly revoked?: boolean;
}

export interface Envelope<T> {
  readonly value: T;
  readonly meta: RecordMeta;
  readonly lease: Lease;
  /** Event time in epoch ms, set by the step that extracts it. */
  readonly eventTimeMs?: number;
  /** Where a record read from a repartition topic was read before it (its upstream record). */
  readonly origin?: RecordOrigin;
}

/** An upstream record: its topic-partition (and that pair's `partitionKey`) and offset. */
export interface RecordOrigin {
  readonly topic: string;
  readonly partition: number;
  readonly key: string;
  readonly offset: number;
}

/**
 * The unit that flows through a pipeline: records of one source fetch (one partition, in offset
 * order, for records read from Kafka), or what a step made of them. Never empty; never changed
 * once emitted (several readers may hold the same batch).
 */
export type Batch<T> = readonly T[];

/** An envelope tagged with the named output of a multi-output operator (route, window's `late`). */
export interface Routed<T> {
  readonly output: string;
  readonly envelope: Envelope<T>;
}

/** A lease that tracks nothing: for tests and for records that do not come from Kafka. */
export const NOOP_LEASE: Lease = Object.freeze({ retain() {}, release() {} });

/** The same record carrying another value: ownership of the lease moves to the new envelope. */
export function withValue<T, U>(envelope: Envelope<T>, value: U): Envelope<U> {
  return { ...envelope, value } as Envelope<U>;
}

/** A lease that releases every one of `leases` when it is released for the last time. */
export function compositeLease(leases: readonly Lease[]): Lease {
  if (leases.length === 1) return leases[0] as Lease;
  let refs = 1;
  return {
    retain(count = 1) {
      refs += count;
    },
    release() {
      if (--refs === 0) for (const lease of leases) lease.release();
    },
  };
}

/**
 * Holds the leases of records whose effect is deferred (the events of an open window).
 *
 * Records of one partition arrive in offset order, and a partition's commit never passes its lowest
 * unreleased offset, so holding the first lease per partition blocks the commit exactly as well as
 * holding all of them: later leases of a partition already held are released at once, and the state
 * stays one lease per partition however many events a window takes.
 */
export class LeaseHold {
  readonly #held = new Map<string, Lease>();
  readonly #keys = new PartitionKeys();

  /** Takes ownership of the envelope's lease reference. */
  add(envelope: Envelope<unknown>): void {
    const key = this.#keys.of(envelope.meta.topic, envelope.meta.partition);
    if (this.#held.has(key)) envelope.lease.release();
    else this.#held.set(key, envelope.lease);
  }

  get size(): number {
    return this.#held.size;
  }

  /** One lease covering everything held; the hold is empty afterwards. */
  take(): Lease {
    const lease = this.#held.size === 0 ? NOOP_LEASE : compositeLease([...this.#held.values()]);
    this.#held.clear();
    return lease;
  }

  /** Releases everything held (the state is discarded). */
  releaseAll(): void {
    for (const lease of this.#held.values()) lease.release();
    this.#held.clear();
  }
}

/** Test helper: a lease that counts its references, to assert nothing leaks or is released twice. */
export class CountingLease implements Lease {
  refs = 1;
  releasedAt: number | undefined;
  retain(count = 1): void {
    if (this.refs <= 0) throw new Error('retain after final release');
    this.refs += count;
  }
  release(): void {
    if (this.refs <= 0) throw new Error('lease released more often than retained');
    this.refs -= 1;
  }
  get done(): boolean {
    return this.refs === 0;
  }
}

/** Builds an envelope for tests and in-process use. */
export function envelopeOf<T>(
  value: T,
  meta: Partial<RecordMeta> = {},
  lease: Lease = NOOP_LEASE,
  eventTimeMs?: number,
): Envelope<T> {
  return {
    value,
    meta: { topic: 't', partition: 0, offset: 0, timestamp: 0, key: null, headers: {}, ...meta },
    lease,
    ...(eventTimeMs === undefined ? {} : { eventTimeMs }),
  };
}
