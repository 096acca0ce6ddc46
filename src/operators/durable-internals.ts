import type { Changelog, StateSnapshot } from '../core/state.ts';
import { LeaseHold, type Envelope, type Lease } from '../core/envelope.ts';
import { partitionKey, PartitionKeys, type TopicPartition } from '../core/partition.ts';
import { setOwn } from '../core/json.ts';

/**
 * What durable stateful operators (windows, fraud patterns) share, the way RxJS keeps `scanInternals`
 * beside `scan`: state kept per input partition ("part"), written to changelog partition `p` under
 * key `topic:partition` as one record per checkpoint (a whole snapshot of the part, so a restore never
 * sees half a checkpoint), restored before the part's first record is applied, written once more and
 * dropped when the partition is revoked; records of a revoked partition still in flight are released
 * unapplied (the new owner reads them again). A part holds the leases of the records it applied until the
 * snapshot holding them is durable.
 */
export interface Part {
  readonly topic: string;
  readonly partition: number;
  readonly key: string;
  /** Highest input offset applied to the state (-1: none). */
  applied: number;
  readonly hold: LeaseHold;
  dirty: boolean;
}

export interface PartCodec<P extends Part, T> {
  create(topic: string, partition: number, key: string): P;
  /** The part's state as JSON-safe data. */
  save(part: P): unknown;
  load(part: P, saved: unknown): void;
  /** Processes one record of a ready part. */
  apply(part: P, envelope: Envelope<T>, nowMs: number): void;
}

export interface DurableHooks {
  /** Runs work later (after a restore), inside the operator's error guard. */
  readonly run: (work: () => void) => void;
  readonly fail: (error: unknown) => void;
  readonly now: () => number;
}

export class DurableParts<P extends Part, T> {
  readonly #changelog: Changelog;
  readonly #hooks: DurableHooks;
  readonly #codec: PartCodec<P, T>;
  readonly #parts = new Map<string, P>();
  readonly #restoring = new Map<string, Envelope<T>[]>();
  readonly #keys = new PartitionKeys();

  constructor(changelog: Changelog, hooks: DurableHooks, codec: PartCodec<P, T>) {
    this.#changelog = changelog;
    this.#hooks = hooks;
    this.#codec = codec;
  }

  parts(): IterableIterator<P> {
    return this.#parts.values();
  }

  next(envelope: Envelope<T>, nowMs: number): void {
    // A record of a partition revoked from this member (in flight when it went) is done here: its new
    // owner reads it again from the last commit. Applying it would restore the part from a changelog
    // that may not hold the part's last write yet, and act (an alert) on that stale state.
    if (envelope.lease.revoked === true) return envelope.lease.release();
    const { topic, partition } = envelope.meta;
    const key = this.#keys.of(topic, partition);
    const waiting = this.#restoring.get(key);
    if (waiting !== undefined) return void waiting.push(envelope);
    const part = this.#parts.get(key);
    if (part !== undefined) return this.#codec.apply(part, envelope, nowMs);
    this.#restoring.set(key, [envelope]);
    this.#restore(topic, partition, key);
  }

  /** Restores assigned partitions at once (what a restore re-emits goes out before new records come). */
  expect(partitions: readonly TopicPartition[]): void {
    for (const { topic, partition } of partitions) {
      const key = partitionKey(topic, partition);
      if (this.#parts.has(key) || this.#restoring.has(key)) continue;
      this.#restoring.set(key, []);
      this.#restore(topic, partition, key);
    }
  }

  /** Revoked partitions: their last state is written, then dropped here (the new owner restores it). */
  revoke(partitions: readonly TopicPartition[]): void {
    for (const { topic, partition } of partitions) {
      const key = partitionKey(topic, partition);
      for (const waiting of this.#restoring.get(key) ?? []) waiting.lease.release();
      this.#restoring.delete(key);
      const part = this.#parts.get(key);
      if (part === undefined) continue;
      this.#parts.delete(key);
      const lease = part.hold.take();
      const entries = part.dirty ? [{ partition, key, value: this.#encode(part) }] : [];
      this.#changelog.write(entries).then(() => lease.release(), this.#hooks.fail);
    }
  }

  snapshot(): StateSnapshot {
    const entries = [];
    const leases: Lease[] = [];
    for (const part of this.#parts.values()) {
      if (!part.dirty) continue;
      part.dirty = false;
      entries.push({ partition: part.partition, key: part.key, value: this.#encode(part) });
      leases.push(part.hold.take());
    }
    return { entries, durable: () => leases.forEach((lease) => lease.release()) };
  }

  #restore(topic: string, partition: number, key: string): void {
    this.#changelog.restore(partition, higherApplied).then(
      (state) =>
        this.#hooks.run(() => {
          const waiting = this.#restoring.get(key);
          if (waiting === undefined) return; // revoked meanwhile
          this.#restoring.delete(key);
          const part = this.#codec.create(topic, partition, key);
          this.#parts.set(key, part);
          const value = state.get(key);
          if (value !== undefined) {
            const newline = value.indexOf(10);
            part.applied = Number(value.subarray(0, newline).toString());
            this.#codec.load(part, readStateJson(value.subarray(newline + 1).toString()));
          }
          const now = this.#hooks.now();
          for (const envelope of waiting) this.#codec.apply(part, envelope, now);
        }),
      this.#hooks.fail,
    );
  }

  #encode(part: P): Buffer {
    return Buffer.from(`${part.applied}\n${stateJson(this.#codec.save(part))}`);
  }
}

const POSITIVE = Object.freeze({ $inf: 1 });
const NEGATIVE = Object.freeze({ $inf: -1 });

/**
 * A part's saved state as JSON, infinite numbers (empty minima, "never" times) as `{"$inf":±1}`
 * (read back by `readStateJson`). What `JSON.stringify` with a replacer function writes, at under half its
 * cost: a walk in JavaScript finds the infinities and copies only the objects on their way, and the
 * built-in writes the rest without calling back into JavaScript for every value.
 *
 * ```ts
 * stateJson({ min: Infinity, n: [1, -Infinity] }); // '{"min":{"$inf":1},"n":[1,{"$inf":-1}]}'
 * ```
 */
export function stateJson(state: unknown): string {
  return JSON.stringify(finite(state));
}

/** `x` with ±Infinity replaced, the same object where there is none (a copy of each container on the way to one). */
function finite(x: unknown): unknown {
  if (typeof x === 'number') return x === Infinity ? POSITIVE : x === -Infinity ? NEGATIVE : x;
  if (typeof x !== 'object' || x === null) return x;
  if (Array.isArray(x)) {
    let copy: unknown[] | undefined;
    for (let i = 0; i < x.length; i++) {
      const value: unknown = x[i];
      const replaced = finite(value);
      if (replaced !== value) (copy ??= x.slice())[i] = replaced;
    }
    return copy ?? x;
  }
  let copy: Record<string, unknown> | undefined;
  for (const key of Object.keys(x)) {
    const value = (x as Record<string, unknown>)[key];
    const replaced = finite(value);
    if (replaced !== value) setOwn((copy ??= { ...(x as Record<string, unknown>) }), key, replaced);
  }
  return copy ?? x;
}

/** What `stateJson` wrote, infinities back. */
export function readStateJson(text: string): unknown {
  return JSON.parse(text, revive);
}

function revive(_: string, value: unknown): unknown {
  if (typeof value === 'object' && value !== null && '$inf' in value && Object.keys(value).length === 1) return (value as { $inf: number }).$inf * Infinity;
  return value;
}

/** Prefers the version that applied more of the input (an old owner's late write may land last). */
function higherApplied(previous: Buffer, next: Buffer): Buffer {
  return appliedOf(next) >= appliedOf(previous) ? next : previous;
}

function appliedOf(value: Buffer): number {
  return Number(value.subarray(0, value.indexOf(10)).toString());
}

/** A lease that calls `done` when its last reference is released. */
export function trackedLease(inner: Lease, done: () => void): Lease {
  let refs = 1;
  return {
    retain(count = 1) {
      refs += count;
      inner.retain(count);
    },
    release() {
      inner.release();
      if (--refs === 0) done();
    },
  };
}
