import { ORIGIN_HEADER, type Changelog, type StateSnapshot } from '../core/state.ts';
import { LeaseHold, NOOP_LEASE, type Envelope, type Lease, type Routed } from '../runtime/envelope.ts';
import type { Metrics } from '../runtime/metrics.ts';
import { partitionKey, type TopicPartition } from '../sources/source.ts';
import { WindowEngine, type EngineConfig, type LeasePolicy, type SavedWindow } from './window-internals.ts';
import type { OpenWindow } from './window-store-internals.ts';

/** One input partition's windows: a task of its own, with its own watermark, state and changelog key. */
interface Part<T> {
  readonly topic: string;
  readonly partition: number;
  readonly key: string;
  readonly engine: WindowEngine<T>;
  /** Highest input offset applied to the state. */
  applied: number;
  /** Per upstream partition (`topic:partition`), the highest upstream offset applied (repartitioned input). */
  readonly marks: Map<string, number>;
  /** Offsets of records the step sent on itself (late, dead letters) that are not done yet. */
  readonly out: Set<number>;
  /** Windows closed whose final result is not done yet: emitted again after a restore. */
  readonly closed: Map<OpenWindow, SavedWindow>;
  /** Leases of applied records, released once the state holding them is in the changelog. */
  readonly hold: LeaseHold;
  dirty: boolean;
}

interface Saved {
  readonly w: [string, number, number][];
  readonly m: [string, number][];
  readonly o: number[];
  readonly win: SavedWindow[];
  readonly closed: SavedWindow[];
}

export interface DurableHooks {
  /** Runs work later (after a restore), inside the operator's error guard. */
  readonly run: (work: () => void) => void;
  readonly fail: (error: unknown) => void;
  readonly now: () => number;
}

/** A lease that calls `done` when its last reference is released. */
function trackedLease(inner: Lease, done: () => void): Lease {
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

/** Prefers the version that applied more of the input (an old owner's late write may land last). */
function higherApplied(previous: Buffer, next: Buffer): Buffer {
  return appliedOf(next) >= appliedOf(previous) ? next : previous;
}

function appliedOf(value: Buffer): number {
  return Number(value.subarray(0, value.indexOf(10)).toString());
}

/**
 * Window state that survives crashes and moves with its partitions (`window({ state })`).
 *
 * Each input partition is a task: its own engine and watermark, its state written to changelog
 * partition `p` under key `topic:partition` as one record (a full snapshot of the partition's
 * windows, so a restore never sees half a checkpoint), restored from there before its first record
 * is applied, dropped when the partition is revoked. A record's lease is released once the state it
 * went into is durable, so commits are not held back by open windows. After a restore, records at or
 * below the applied offset are skipped (their effect is in the state) unless the step had sent them
 * on itself and that was not done; repartitioned records read twice upstream (`tributary.origin`)
 * are skipped by their upstream offset. Closed windows whose result was not acknowledged are restored
 * closed, and their result is emitted again (sinks overwrite it).
 */
export class DurableWindows<T> {
  readonly #config: EngineConfig<T>;
  readonly #emit: (routed: Routed<unknown>) => void;
  readonly #changelog: Changelog;
  readonly #hooks: DurableHooks;
  readonly #metrics: Metrics | undefined;
  readonly #labels: { step: string };
  readonly #parts = new Map<string, Part<T>>();
  readonly #restoring = new Map<string, Envelope<T>[]>();

  readonly #origins: readonly TopicPartition[];

  /** `origins`: every upstream partition; each part's watermark waits for all of them (or their idleness). */
  constructor(config: EngineConfig<T>, emit: (routed: Routed<unknown>) => void, changelog: Changelog, hooks: DurableHooks, origins: readonly TopicPartition[] = []) {
    this.#config = config;
    this.#origins = origins;
    this.#emit = emit;
    this.#changelog = changelog;
    this.#hooks = hooks;
    this.#metrics = config.metrics;
    this.#labels = { step: config.id };
  }

  get openWindows(): number {
    let open = 0;
    for (const part of this.#parts.values()) open += part.engine.openWindows;
    return open;
  }

  next(envelope: Envelope<T>, nowMs: number): void {
    const { topic, partition } = envelope.meta;
    const key = partitionKey(topic, partition);
    const waiting = this.#restoring.get(key);
    if (waiting !== undefined) return void waiting.push(envelope);
    const part = this.#parts.get(key);
    if (part !== undefined) return this.#apply(part, envelope, nowMs);
    this.#restoring.set(key, [envelope]);
    this.#restore(topic, partition, key);
  }

  /** Assigned partitions are restored at once, so that results a crash left unacknowledged are emitted again. */
  expect(partitions: readonly TopicPartition[]): void {
    for (const { topic, partition } of partitions) {
      const key = partitionKey(topic, partition);
      if (this.#parts.has(key) || this.#restoring.has(key)) continue;
      this.#restoring.set(key, []);
      this.#restore(topic, partition, key);
    }
  }

  advance(nowMs: number): void {
    for (const part of this.#parts.values()) part.engine.advance(nowMs);
  }

  flush(): void {
    for (const part of this.#parts.values()) part.engine.flush();
  }

  wakeAt(nowMs: number): number | undefined {
    let at: number | undefined;
    for (const part of this.#parts.values()) {
      const next = part.engine.wakeAt(nowMs);
      if (next !== undefined && (at === undefined || next < at)) at = next;
    }
    return at;
  }

  flow(paused: boolean, partitions: readonly TopicPartition[], nowMs: number): void {
    for (const part of this.#parts.values()) part.engine.flow(paused, partitions, nowMs);
  }

  /** Revoked partitions: their last state is written, then dropped here (the new owner restores it). */
  revoke(partitions: readonly TopicPartition[]): void {
    for (const { topic, partition } of partitions) {
      const key = partitionKey(topic, partition);
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

  #apply(part: Part<T>, envelope: Envelope<T>, nowMs: number): void {
    const { offset } = envelope.meta;
    if (offset <= part.applied && !part.out.has(offset)) return this.#skip(envelope);
    const origin = envelope.meta.headers[ORIGIN_HEADER];
    let clock: TopicPartition = envelope.meta;
    if (origin !== undefined) {
      const last = origin.lastIndexOf(':');
      const middle = origin.lastIndexOf(':', last - 1);
      const from = origin.slice(0, last);
      const upstream = Number(origin.slice(last + 1));
      clock = { topic: origin.slice(0, middle), partition: Number(origin.slice(middle + 1, last)) };
      if (offset > part.applied) {
        const mark = part.marks.get(from);
        part.applied = offset;
        part.dirty = true;
        if (mark !== undefined && upstream <= mark) return this.#skip(envelope);
        part.marks.set(from, upstream);
      }
    }
    if (offset > part.applied) part.applied = offset;
    part.dirty = true;
    // Event time progresses per upstream partition (as across a Flink shuffle): its origin is the clock.
    part.engine.next(envelope, nowMs, clock);
  }

  #skip(envelope: Envelope<T>): void {
    this.#metrics?.inc('state_replayed_skipped_total', this.#labels);
    envelope.lease.release();
  }

  #restore(topic: string, partition: number, key: string): void {
    this.#changelog.restore(partition, higherApplied).then(
      (state) =>
        this.#hooks.run(() => {
          const waiting = this.#restoring.get(key);
          if (waiting === undefined) return; // revoked meanwhile
          this.#restoring.delete(key);
          const part = this.#part(topic, partition, key);
          part.engine.expect(this.#origins, this.#hooks.now());
          const value = state.get(key);
          if (value !== undefined) this.#load(part, value);
          this.#parts.set(key, part);
          const now = this.#hooks.now();
          for (const envelope of waiting) this.#apply(part, envelope, now);
        }),
      this.#hooks.fail,
    );
  }

  #part(topic: string, partition: number, key: string): Part<T> {
    const holder: { part?: Part<T> } = {};
    const policy: LeasePolicy = {
      applied: (envelope) => (holder.part as Part<T>).hold.add(envelope),
      out: (envelope) => {
        const p = holder.part as Part<T>;
        const offset = envelope.meta.offset;
        p.out.add(offset);
        return { ...envelope, lease: trackedLease(envelope.lease, () => ((p.dirty = true), p.out.delete(offset))) };
      },
      closed: (w) => {
        const p = holder.part as Part<T>;
        p.closed.set(w, p.engine.saveWindow(w));
        p.dirty = true;
        return trackedLease(NOOP_LEASE, () => ((p.dirty = true), p.closed.delete(w)));
      },
    };
    const part: Part<T> = {
      topic,
      partition,
      key,
      engine: new WindowEngine(this.#config, this.#emit, policy),
      applied: -1,
      marks: new Map(),
      out: new Set(),
      closed: new Map(),
      hold: new LeaseHold(),
      dirty: false,
    };
    holder.part = part;
    return part;
  }

  #encode(part: Part<T>): Buffer {
    const saved: Saved = {
      w: part.engine.saveClocks(),
      m: [...part.marks],
      o: [...part.out],
      win: part.engine.save(),
      closed: [...part.closed.values()],
    };
    return Buffer.from(`${part.applied}\n${JSON.stringify(saved)}`);
  }

  #load(part: Part<T>, value: Buffer): void {
    const newline = value.indexOf(10);
    part.applied = Number(value.subarray(0, newline).toString());
    const saved = JSON.parse(value.subarray(newline + 1).toString()) as Saved;
    for (const [from, upstream] of saved.m) part.marks.set(from, upstream);
    for (const offset of saved.o) part.out.add(offset);
    part.engine.restoreClocks(saved.w, this.#hooks.now());
    for (const w of saved.win) part.engine.load(w, false);
    for (const w of saved.closed) part.engine.load(w, true);
    // The restored watermark is in force before the first replayed record is placed.
    part.engine.advance(this.#hooks.now());
  }
}
