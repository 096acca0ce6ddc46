import { describeError, OperatorError, StateLimitError, TributaryError } from '../core/errors.ts';
import type { DeadLetter } from '../core/sink.ts';
import type { Metrics } from '../core/metrics.ts';
import type { TopicPartition } from '../core/partition.ts';
import { NOOP_LEASE, compositeLease } from '../core/envelope.ts';
import type { Envelope, Lease, LeaseHold, Routed } from '../core/envelope.ts';
import type { Aggregator } from './aggregators.ts';
import { asValidationError, WatermarkTracker } from './watermark.ts';
import { fillWindowStarts, sessionsTouch } from './window-assigners.ts';
import type { FixedGrid } from './window-assigners.ts';
import { windowAt, WindowStore } from './window-store-internals.ts';
import type { OpenWindow } from './window-store-internals.ts';

const identity = (x: unknown) => x;

/** Result fields every window result has; aggregator names may not take them. */
export const RESERVED_FIELDS = new Set(['key', 'window_start', 'window_end', 'final']);

/** Everything the engine needs, validated and defaulted by `window()`. */
export interface EngineConfig<T> {
  readonly id: string;
  readonly grid: FixedGrid | undefined;
  readonly gapMs: number;
  readonly key: (value: T) => string;
  readonly eventTime: (envelope: Envelope<T>) => number;
  readonly names: readonly string[];
  readonly aggregators: readonly Aggregator<T>[];
  readonly graceMs: number;
  readonly maxOutOfOrdernessMs: number;
  readonly idleTimeoutMs: number;
  readonly updates: boolean;
  readonly maxOpenWindows: number;
  readonly carry: ((value: T) => Record<string, unknown>) | undefined;
  readonly deadLetter: DeadLetter;
  readonly metrics: Metrics | undefined;
}

/**
 * Who holds leases when the window state is durable (`window-durable-internals.ts`): records are done
 * once their state is in the changelog, not when their window closes.
 */
export interface LeasePolicy {
  /** The record went into open windows: take its lease (one reference). */
  applied(envelope: Envelope<unknown>): void;
  /** The record leaves the step itself (late, dead letter): the envelope to send, with a tracked lease. */
  out<E>(envelope: Envelope<E>): Envelope<E>;
  /** The lease of a closing window's final result. */
  closed(w: OpenWindow): Lease;
}

/** A window as its changelog keeps it. */
export interface SavedWindow {
  readonly k: string;
  readonly s: number;
  readonly e: number;
  readonly a: unknown[];
  readonly m: { readonly t: string; readonly p: number; readonly o: number; readonly ts: number };
  readonly c?: Record<string, unknown>;
}

/** The per-subscription state of one window step: open windows, watermark, close queue. */
export class WindowEngine<T> {
  readonly #c: EngineConfig<T>;
  readonly #policy: LeasePolicy | undefined;
  readonly #emit: (routed: Routed<unknown>) => void;
  readonly #labels: { step: string };
  readonly #tracker: WatermarkTracker;
  readonly #store: WindowStore;
  readonly #starts: number[] = [];
  readonly #targets: OpenWindow[] = [];
  #reportedOpen = 0;
  #watermark = -Infinity;

  constructor(config: EngineConfig<T>, emit: (routed: Routed<unknown>) => void, policy?: LeasePolicy) {
    this.#c = config;
    this.#policy = policy;
    this.#emit = emit;
    this.#labels = { step: config.id };
    this.#tracker = new WatermarkTracker(config);
    this.#store = new WindowStore(config.graceMs, config.grid === undefined);
  }

  get openWindows(): number {
    return this.#store.size;
  }

  /** The open windows, as the changelog keeps them. */
  save(): SavedWindow[] {
    return [...this.#store.all()].map((w) => this.saveWindow(w));
  }

  saveWindow(w: OpenWindow): SavedWindow {
    const aggs = this.#c.aggregators;
    return {
      k: w.key,
      s: w.start,
      e: w.end,
      a: w.accs.map((acc, i) => ((aggs[i] as Aggregator<T>).save ?? identity)(acc)),
      m: { t: w.meta.topic, p: w.meta.partition, o: w.meta.offset, ts: w.meta.timestamp },
      ...(w.carried === undefined ? {} : { c: w.carried }),
    };
  }

  /** Puts back a window `save` returned: open again, or, when `closed`, its final result emitted again. */
  load(saved: SavedWindow, closed: boolean): void {
    const aggs = this.#c.aggregators;
    const accs = saved.a.map((acc, i) => ((aggs[i] as Aggregator<T>).load ?? identity)(acc));
    const meta = { topic: saved.m.t, partition: saved.m.p, offset: saved.m.o, timestamp: saved.m.ts, key: null, headers: {} };
    const w = this.#store.open(saved.k, saved.s, saved.e, meta, accs, saved.c);
    if (closed) {
      this.#store.remove(w);
      this.#close(w);
    }
  }

  /** Each known partition's watermark (its highest event time less the allowed out-of-orderness). */
  saveClocks(): [string, number, number][] {
    return this.#tracker.save();
  }

  /** An upstream partition's event time reached `eventTimeMs` (a watermark marker): move its clock, close what is due. */
  progress(clock: TopicPartition, eventTimeMs: number, nowMs: number): void {
    this.#tracker.observe(clock.topic, clock.partition, eventTimeMs, nowMs);
    this.advance(nowMs);
  }

  /** The step's watermark so far. */
  get watermark(): number {
    return this.#tracker.watermark;
  }

  /**
   * Sets restored partitions' watermarks, and the step's own as a floor: partitions that had sent
   * nothing before do not take it back (events late before the restart stay late).
   */
  restoreClocks(clocks: readonly (readonly [string, number, number])[], watermarkMs: number, nowMs: number): void {
    for (const [topic, partition, clockMs] of clocks) this.#tracker.restore(topic, partition, clockMs, nowMs);
    this.#tracker.raise(watermarkMs);
  }

  /** Forgets revoked partitions: they no longer hold the watermark back. */
  forget(partitions: readonly TopicPartition[]): void {
    for (const { topic, partition } of partitions) this.#tracker.unregister(topic, partition);
  }

  /** Registers partitions that will feed this window (assigned to the source) before their first event. */
  expect(partitions: readonly TopicPartition[], nowMs: number): void {
    for (const { topic, partition } of partitions) this.#tracker.register(topic, partition, nowMs);
  }

  /** The source paused (`paused` true) or resumed these partitions: a paused partition is not idle. */
  flow(paused: boolean, partitions: readonly TopicPartition[], nowMs: number): void {
    for (const { topic, partition } of partitions) {
      if (paused) this.#tracker.pause(topic, partition, nowMs);
      else this.#tracker.resume(topic, partition, nowMs);
    }
  }

  /**
   * Takes one event (and ownership of its lease) seen at processing time `nowMs`. `clock`: the
   * partition whose event-time progress it shows, when not its own (a repartitioned record's origin).
   */
  next(envelope: Envelope<T>, nowMs: number, clock: TopicPartition = envelope.meta): void {
    const c = this.#c;
    let time: number;
    let key: string;
    try {
      time = c.eventTime(envelope);
      if (typeof time !== 'number' || !Number.isFinite(time)) throw new TypeError(`event time must be a finite number, got ${String(time)}`);
      key = c.key(envelope.value);
      if (typeof key !== 'string') throw new TypeError(`window key must be a string, got ${typeof key}`);
    } catch (error) {
      c.deadLetter(envelope, asValidationError(error, c.id), c.id);
      return;
    }
    // With idleness the watermark moves with processing time: close what is due before placing.
    if (c.idleTimeoutMs !== Infinity) this.advance(nowMs);
    if (c.grid !== undefined) this.#placeFixed(envelope, key, time, c.grid);
    else this.#placeSession(envelope, key, time);
    this.#tracker.observe(clock.topic, clock.partition, time, nowMs);
    this.advance(nowMs);
  }

  /** Brings the watermark to processing time `nowMs` and emits every window it closes. */
  advance(nowMs: number): void {
    this.#watermark = this.#tracker.current(nowMs);
    let w: OpenWindow | undefined;
    while ((w = this.#store.popDue(this.#watermark)) !== undefined) this.#close(w);
    this.#report();
  }

  /** Closes every open window, earliest first (the end of a bounded input). */
  flush(): void {
    let w: OpenWindow | undefined;
    while ((w = this.#store.popDue(Infinity)) !== undefined) this.#close(w);
    this.#report();
  }

  /** When a timer should call `advance` for the watermark to move without events, if ever. */
  wakeAt(nowMs: number): number | undefined {
    if (this.#store.size === 0 || this.#c.idleTimeoutMs === Infinity) return undefined;
    return this.#tracker.nextChangeAt(this.#store.nextCloseAt(), nowMs);
  }

  #placeFixed(envelope: Envelope<T>, key: string, time: number, grid: FixedGrid): void {
    const c = this.#c;
    const store = this.#store;
    const open = store.windows(key);
    // Scratch arrays are filled by index and counted, never truncated: see fillWindowStarts.
    const starts = this.#starts;
    const count = fillWindowStarts(grid, time, starts);
    const targets = this.#targets;
    let found = 0;
    let fresh = 0;
    for (let i = 0; i < count; i++) {
      const start = starts[i] as number;
      const w = windowAt(open, start);
      if (w !== undefined) targets[found++] = w;
      else if (start + grid.sizeMs + c.graceMs > this.#watermark) fresh++;
    }
    if (found + fresh === 0) return this.#late(envelope);
    if (fresh > 0 && store.size + fresh > c.maxOpenWindows) return this.#refuse(envelope);
    let created: OpenWindow[] | undefined;
    try {
      if (fresh > 0) {
        created = [];
        found = 0; // rebuilt in start order, opening the missing windows
        for (let i = 0; i < count; i++) {
          const start = starts[i] as number;
          let w = windowAt(store.windows(key), start);
          if (w === undefined && start + grid.sizeMs + c.graceMs > this.#watermark) created.push((w = this.#openWindow(envelope, key, start, start + grid.sizeMs)));
          if (w !== undefined) targets[found++] = w;
        }
      }
      for (let i = 0; i < found; i++) this.#accumulate(targets[i] as OpenWindow, envelope.value);
    } catch (error) {
      return this.#fail(envelope, error, created ?? []);
    }
    if (this.#policy !== undefined) {
      this.#policy.applied(envelope);
      if (c.updates) for (let i = 0; i < found; i++) this.#result(targets[i] as OpenWindow, false, NOOP_LEASE);
      return;
    }
    if (found > 1) envelope.lease.retain(found - 1);
    for (let i = 0; i < found; i++) this.#hold(targets[i] as OpenWindow, envelope);
  }

  #placeSession(envelope: Envelope<T>, key: string, time: number): void {
    const c = this.#c;
    const end = time + c.gapMs;
    const touching: OpenWindow[] = [];
    for (const w of this.#store.windows(key) ?? touching) if (sessionsTouch(w.start, w.end, time, end)) touching.push(w);
    let target = touching[0];
    if (target === undefined && end + c.graceMs <= this.#watermark) return this.#late(envelope);
    if (target === undefined && this.#store.size + 1 > c.maxOpenWindows) return this.#refuse(envelope);
    let created: OpenWindow | undefined;
    try {
      if (target === undefined) target = created = this.#openWindow(envelope, key, time, end);
      else {
        // An event bridging sessions: the oldest takes the others in.
        for (let i = 1; i < touching.length; i++) this.#absorb(target, touching[i] as OpenWindow);
        this.#store.extend(target, time, end);
      }
      this.#accumulate(target, envelope.value);
    } catch (error) {
      return this.#fail(envelope, error, created === undefined ? [] : [created]);
    }
    if (this.#policy !== undefined) {
      this.#policy.applied(envelope);
      if (c.updates) this.#result(target, false, NOOP_LEASE);
    } else this.#hold(target, envelope);
  }

  #absorb(target: OpenWindow, other: OpenWindow): void {
    const aggs = this.#c.aggregators;
    for (let i = 0; i < aggs.length; i++) target.accs[i] = (aggs[i] as Aggregator<T>).merge?.(target.accs[i], other.accs[i]);
    target.holds.push(...other.holds);
    this.#store.remove(other);
    this.#store.extend(target, other.start, other.end);
  }

  #openWindow(envelope: Envelope<T>, key: string, start: number, end: number): OpenWindow {
    const c = this.#c;
    const accs = c.aggregators.map((a) => a.init());
    const carried = c.carry?.(envelope.value);
    return this.#store.open(key, start, end, envelope.meta, accs, carried);
  }

  #accumulate(w: OpenWindow, value: T): void {
    const aggs = this.#c.aggregators;
    let i = 0;
    try {
      for (; i < aggs.length; i++) w.accs[i] = (aggs[i] as Aggregator<T>).add(w.accs[i], value);
    } catch (error) {
      throw new OperatorError(`step ${this.#c.id}: aggregator ${this.#c.names[i]} failed: ${describeError(error).message}`, {
        cause: error,
        stepId: this.#c.id,
      });
    }
  }

  /** Hands the envelope's lease reference to the window and emits the update, if asked for. */
  #hold(w: OpenWindow, envelope: Envelope<T>): void {
    const { topic, partition } = envelope.meta;
    // The hold already has this partition's earliest lease: release the later one, as LeaseHold would.
    if (topic === w.heldTopic && partition === w.heldPartition) envelope.lease.release();
    else {
      (w.holds[0] as LeaseHold).add(envelope);
      w.heldTopic = topic;
      w.heldPartition = partition;
    }
    if (this.#c.updates) this.#result(w, false, NOOP_LEASE);
  }

  /**
   * An aggregator (or `carry`) threw: the event goes to dead letters. Windows it opened are dropped;
   * windows that already existed keep what the aggregators before the failing one added.
   */
  #fail(envelope: Envelope<T>, error: unknown, created: readonly OpenWindow[]): void {
    for (const w of created) this.#store.remove(w);
    const c = this.#c;
    const failure =
      error instanceof TributaryError ? error : new OperatorError(`step ${c.id}: ${describeError(error).message}`, { cause: error, stepId: c.id });
    c.deadLetter(this.#policy?.out(envelope) ?? envelope, failure, c.id);
  }

  #close(w: OpenWindow): void {
    if (this.#policy !== undefined) return this.#result(w, true, this.#policy.closed(w));
    this.#result(w, true, w.holds.length === 1 ? (w.holds[0] as LeaseHold).take() : compositeLease(w.holds.map((h) => h.take())));
  }

  #result(w: OpenWindow, final: boolean, lease: Lease): void {
    const c = this.#c;
    const value: Record<string, unknown> = { key: w.key, window_start: w.start, window_end: w.end, final };
    if (w.carried !== undefined) for (const field in w.carried) if (!RESERVED_FIELDS.has(field)) value[field] = w.carried[field];
    for (let i = 0; i < c.names.length; i++) {
      const aggregator = c.aggregators[i] as Aggregator<T>;
      value[c.names[i] as string] = aggregator.result(w.accs[i]);
      if (aggregator.approximate?.(w.accs[i]) === true) value[`${c.names[i] as string}_approximate`] = true;
    }
    this.#emit({ output: 'results', envelope: { value, meta: w.meta, lease, eventTimeMs: w.start } });
  }

  #late(envelope: Envelope<T>): void {
    this.#c.metrics?.inc('late_events_total', this.#labels);
    this.#emit({ output: 'late', envelope: this.#policy?.out(envelope) ?? envelope });
  }

  #refuse(envelope: Envelope<T>): void {
    const c = this.#c;
    c.metrics?.inc('state_limit_total', this.#labels);
    const error = new StateLimitError(`step ${c.id}: ${c.maxOpenWindows} windows open (maxOpenWindows), event refused`, { stepId: c.id });
    c.deadLetter(this.#policy?.out(envelope) ?? envelope, error, c.id);
  }

  #report(): void {
    const open = this.#store.size;
    if (this.#c.metrics === undefined || open === this.#reportedOpen) return;
    this.#reportedOpen = open;
    this.#c.metrics.set('open_windows', this.#labels, open);
  }
}
