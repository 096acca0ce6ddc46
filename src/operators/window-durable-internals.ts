import { WATERMARK_HEADER, type Changelog, type StateSnapshot } from '../core/state.ts';
import { LeaseHold, NOOP_LEASE, type Envelope, type Routed } from '../core/envelope.ts';
import type { Metrics } from '../core/metrics.ts';
import { partitionKey, splitPartitionNumber, type TopicPartition } from '../core/partition.ts';
import { DurableParts, trackedLease, type DurableHooks, type Part } from './durable-internals.ts';
import { WindowEngine, type EngineConfig, type LeasePolicy, type SavedWindow } from './window-internals.ts';
import type { OpenWindow } from './window-store-internals.ts';

export type { DurableHooks } from './durable-internals.ts';

/** One input partition's windows: a task of its own, with its own watermark, state and changelog key. */
interface WindowPart<T> extends Part {
  readonly engine: WindowEngine<T>;
  /** Per upstream partition (`topic:partition`), the highest upstream offset applied (repartitioned input). */
  readonly marks: Map<string, number>;
  /** Offsets of records the step sent on itself (late, dead letters) that are not done yet. */
  readonly out: Set<number>;
  /** Windows closed whose final result is not done yet: emitted again after a restore. */
  readonly closed: Map<OpenWindow, SavedWindow>;
}

interface Saved {
  readonly w: [string, number, number][];
  /** The part's watermark (may be -Infinity). */
  readonly wm: number;
  readonly m: [string, number][];
  readonly o: number[];
  readonly win: SavedWindow[];
  readonly closed: SavedWindow[];
}

/**
 * Window state that survives crashes and moves with its partitions (`window({ state })`).
 *
 * Each input partition is a task (`DurableParts`): its own engine and watermark, restored before its
 * first record is applied, dropped when revoked. A record's lease is released once the state it went
 * into is durable, so commits are not held back by open windows. After a restore, records at or below
 * the applied offset are skipped (their effect is in the state) unless the step had sent them on
 * itself and that was not done; repartitioned records read twice upstream (`tributary.origin`) are
 * skipped by their upstream offset. Closed windows whose result was not acknowledged are restored
 * closed, and their result is emitted again (sinks overwrite it). Event time progresses per upstream
 * partition, as across a Flink shuffle: each part's watermark waits for every one of `origins`.
 */
export class DurableWindows<T> {
  readonly #config: EngineConfig<T>;
  readonly #emit: (routed: Routed<unknown>) => void;
  readonly #hooks: DurableHooks;
  readonly #metrics: Metrics | undefined;
  readonly #labels: { step: string };
  readonly #origins: readonly TopicPartition[];
  readonly #originKeys: ReadonlySet<string>;
  readonly #parts: DurableParts<WindowPart<T>, T>;

  constructor(config: EngineConfig<T>, emit: (routed: Routed<unknown>) => void, changelog: Changelog, hooks: DurableHooks, origins: readonly TopicPartition[] = []) {
    this.#config = config;
    this.#emit = emit;
    this.#hooks = hooks;
    this.#metrics = config.metrics;
    this.#labels = { step: config.id };
    this.#origins = origins;
    this.#originKeys = new Set(origins.map((tp) => partitionKey(tp.topic, tp.partition)));
    this.#parts = new DurableParts<WindowPart<T>, T>(changelog, hooks, {
      create: (topic, partition, key) => this.#part(topic, partition, key),
      save: (part): Saved => ({
        w: part.engine.saveClocks(),
        wm: part.engine.watermark,
        m: [...part.marks],
        o: [...part.out],
        win: part.engine.save(),
        closed: [...part.closed.values()],
      }),
      load: (part, saved) => this.#load(part, saved as Saved),
      apply: (part, envelope, nowMs) => this.#apply(part, envelope, nowMs),
    });
  }

  get openWindows(): number {
    let open = 0;
    for (const part of this.#parts.parts()) open += part.engine.openWindows;
    return open;
  }

  next(envelope: Envelope<T>, nowMs: number): void {
    this.#parts.next(envelope, nowMs);
  }

  /** Assigned partitions are restored at once, so that results a crash left unacknowledged are emitted again. */
  expect(partitions: readonly TopicPartition[]): void {
    this.#parts.expect(partitions);
  }

  revoke(partitions: readonly TopicPartition[]): void {
    this.#parts.revoke(partitions);
  }

  snapshot(): StateSnapshot {
    return this.#parts.snapshot();
  }

  advance(nowMs: number): void {
    for (const part of this.#parts.parts()) part.engine.advance(nowMs);
  }

  flush(): void {
    for (const part of this.#parts.parts()) part.engine.flush();
  }

  wakeAt(nowMs: number): number | undefined {
    let at: number | undefined;
    for (const part of this.#parts.parts()) {
      const next = part.engine.wakeAt(nowMs);
      if (next !== undefined && (at === undefined || next < at)) at = next;
    }
    return at;
  }

  /**
   * The source paused or resumed partitions: only upstream partitions (origins) are clocks here; a
   * paused repartition partition is not one, and taking it for one froze the watermark.
   */
  flow(paused: boolean, partitions: readonly TopicPartition[], nowMs: number): void {
    const origins = partitions.filter((tp) => this.#originKeys.has(partitionKey(tp.topic, tp.partition)));
    if (origins.length === 0) return;
    for (const part of this.#parts.parts()) part.engine.flow(paused, origins, nowMs);
  }

  #apply(part: WindowPart<T>, envelope: Envelope<T>, nowMs: number): void {
    const { offset } = envelope.meta;
    if (offset <= part.applied && !part.out.has(offset)) return this.#skip(envelope);
    const marker = envelope.meta.headers[WATERMARK_HEADER];
    if (marker !== undefined) {
      const [topic, partition, eventTimeMs] = splitPartitionNumber(marker);
      part.applied = offset;
      part.dirty = true;
      part.hold.add(envelope);
      return part.engine.progress({ topic, partition }, eventTimeMs, nowMs);
    }
    const { origin } = envelope;
    let clock: TopicPartition = envelope.meta;
    if (origin !== undefined) {
      clock = origin;
      if (offset > part.applied) {
        const mark = part.marks.get(origin.key);
        part.applied = offset;
        part.dirty = true;
        if (mark !== undefined && origin.offset <= mark) return this.#skip(envelope);
        part.marks.set(origin.key, origin.offset);
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

  #part(topic: string, partition: number, key: string): WindowPart<T> {
    const holder: { part?: WindowPart<T> } = {};
    const policy: LeasePolicy = {
      applied: (envelope) => (holder.part as WindowPart<T>).hold.add(envelope),
      out: (envelope) => {
        const p = holder.part as WindowPart<T>;
        const offset = envelope.meta.offset;
        p.out.add(offset);
        return { ...envelope, lease: trackedLease(envelope.lease, () => ((p.dirty = true), p.out.delete(offset))) };
      },
      closed: (w) => {
        const p = holder.part as WindowPart<T>;
        p.closed.set(w, p.engine.saveWindow(w));
        p.dirty = true;
        return trackedLease(NOOP_LEASE, () => ((p.dirty = true), p.closed.delete(w)));
      },
    };
    const part: WindowPart<T> = {
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
    part.engine.expect(this.#origins, this.#hooks.now());
    return part;
  }

  #load(part: WindowPart<T>, saved: Saved): void {
    for (const [from, upstream] of saved.m) part.marks.set(from, upstream);
    for (const offset of saved.o) part.out.add(offset);
    part.engine.restoreClocks(saved.w, saved.wm, this.#hooks.now());
    for (const w of saved.win) part.engine.load(w, false);
    for (const w of saved.closed) part.engine.load(w, true);
    // The restored watermark is in force before the first replayed record is placed.
    part.engine.advance(this.#hooks.now());
  }
}
