/**
 * Keyed state shared by the fraud patterns: `KeyedWindows`, per-key state whose window follows the
 * key's newest event time, bounded in keys, and the small list helpers the patterns keep it with.
 */

export interface KeySlot<S> {
  state: S;
  /** The newest event time seen for the key; its window is `(newestMs - withinMs, newestMs]`. */
  newestMs: number;
  /** Used since it last passed the old end of the clock (its second chance). */
  referenced: boolean;
}

export interface SavedKeys<S> {
  readonly slots: [string, S, number][];
  readonly partitions: [string, number][];
  readonly watermark: number;
}

/** How many acquisitions between two sweeps of abandoned keys, and the most keys a sweep looks at. */
const SWEEP_EVERY = 256;

/**
 * Per-key state whose window follows each key's newest event time, bounded in keys.
 *
 * A key's window is the half-open span `(newestMs - withinMs, newestMs]`: two events exactly
 * `withinMs` apart are NOT in one window (as Flink CEP's `within`). A key is expired once its newest
 * event is at least `withinMs` older than the watermark: the smallest, over the source partitions
 * the operator has seen, of each partition's newest event time. A key's next event can come from a
 * partition that is behind the others (a replay hands over minutes of one sparse partition per
 * fetch), so the newest time over all partitions would drop state that is still in its key's
 * window; the 1M benchmark missed 5 of 50 refund-after-purchase cases that way. A partition that
 * stops sending holds expiry back; `maxKeys` still bounds the state.
 *
 * An expired key starts from fresh state even before a sweep drops it, so results do not depend on
 * when sweeps run. Keys are kept in CLOCK order, the usual approximation of least recently used: an access only marks
 * the key (moving a Map entry on every event costs more than the detection). Every `SWEEP_EVERY`
 * acquisitions, a sweep walks the old end: expired keys are dropped, marked keys get a second chance
 * (moved to the new end, mark cleared), and it stops at the first live unmarked key. A new key
 * beyond `maxKeys` takes the place of the first expired or unmarked key from the old end, and when
 * that key was live `onLimit` is called (`state_limit_total`).
 */
export class KeyedWindows<S> {
  readonly #slots = new Map<string, KeySlot<S>>();
  readonly #withinMs: number;
  readonly #maxKeys: number;
  readonly #create: () => S;
  readonly #onLimit: () => void;
  /** Newest event time per source partition (see `acquire`). */
  readonly #newestByPartition = new Map<string, number>();
  #watermarkMs = -Infinity;
  #untilSweep = SWEEP_EVERY;

  constructor(options: { withinMs: number; maxKeys: number; create: () => S; onLimit: () => void }) {
    this.#withinMs = options.withinMs;
    this.#maxKeys = options.maxKeys;
    this.#create = options.create;
    this.#onLimit = options.onLimit;
  }

  get size(): number {
    return this.#slots.size;
  }

  /**
   * The key's slot for an event at `timeMs`, its `newestMs` advanced; `undefined` when the event is
   * late: at or before the key's `newestMs - withinMs`, so outside the key's window. A key whose
   * every event has left the window starts again from fresh state.
   */
  acquire(key: string, timeMs: number, partition = ''): KeySlot<S> | undefined {
    const newest = this.#newestByPartition.get(partition);
    if (newest === undefined || timeMs > newest) {
      this.#newestByPartition.set(partition, timeMs);
      this.#updateWatermark();
    }
    if (--this.#untilSweep === 0) this.sweep();
    let slot = this.#slots.get(key);
    // An expired key starts fresh whether or not a sweep has dropped it yet: what an event sees must
    // not depend on when sweeps ran (their count restarts with a restore, so a replay would differ).
    if (slot !== undefined && this.#expired(slot)) {
      this.#slots.delete(key);
      slot = undefined;
    }
    if (slot !== undefined) {
      if (timeMs <= slot.newestMs - this.#withinMs) return undefined;
      slot.referenced = true;
      if (timeMs - this.#withinMs >= slot.newestMs) slot.state = this.#create();
      if (timeMs > slot.newestMs) slot.newestMs = timeMs;
      return slot;
    }
    if (this.#slots.size >= this.#maxKeys) this.#evictOne();
    slot = { state: this.#create(), newestMs: timeMs, referenced: false };
    this.#slots.set(key, slot);
    return slot;
  }

  /** Everything, as JSON-safe data (key states are plain data). */
  save(): SavedKeys<S> {
    return { slots: [...this.#slots].map(([key, slot]) => [key, slot.state, slot.newestMs]), partitions: [...this.#newestByPartition], watermark: this.#watermarkMs };
  }

  /** Puts back what `save` returned. */
  load(saved: SavedKeys<S>): void {
    for (const [key, state, newestMs] of saved.slots) this.#slots.set(key, { state, newestMs, referenced: false });
    for (const [partition, newest] of saved.partitions) this.#newestByPartition.set(partition, newest);
    this.#watermarkMs = saved.watermark;
  }

  /** Drops expired keys from the old end, giving marked ones a second chance; returns how many were dropped. */
  sweep(): number {
    this.#untilSweep = SWEEP_EVERY;
    this.#updateWatermark();
    let dropped = 0;
    let looked = 0;
    // One iterator for the walk: each fresh `entries()` would step over every hole that deletions
    // left at the front of the Map's table. Entries moved to the end come round again at most once.
    for (const [key, slot] of this.#slots) {
      if (++looked > SWEEP_EVERY) break;
      if (this.#expired(slot)) {
        this.#slots.delete(key);
        dropped++;
      } else if (slot.referenced) this.#secondChance(key, slot);
      else break;
    }
    return dropped;
  }

  #evictOne(): void {
    this.#updateWatermark();
    for (const [key, slot] of this.#slots) {
      if (!this.#expired(slot) && slot.referenced) {
        this.#secondChance(key, slot);
        continue;
      }
      this.#slots.delete(key);
      if (!this.#expired(slot)) this.#onLimit();
      return;
    }
  }

  /** The smallest newest-event-time over partitions (it never goes back). */
  #updateWatermark(): void {
    let min = Infinity;
    for (const newest of this.#newestByPartition.values()) if (newest < min) min = newest;
    if (min !== Infinity && min > this.#watermarkMs) this.#watermarkMs = min;
  }

  #expired(slot: KeySlot<S>): boolean {
    return slot.newestMs <= this.#watermarkMs - this.#withinMs;
  }

  #secondChance(key: string, slot: KeySlot<S>): void {
    slot.referenced = false;
    this.#slots.delete(key);
    this.#slots.set(key, slot);
  }
}

/** Inserts into a list kept sorted by `timeMs`; equal times keep arrival order. Returns the index. */
export function insertByTime<E extends { readonly timeMs: number }>(list: E[], item: E): number {
  let i = list.length;
  while (i > 0 && (list[i - 1] as E).timeMs > item.timeMs) i--;
  if (i === list.length) list.push(item);
  else list.splice(i, 0, item);
  return i;
}

/** Removes the leading items at or before `horizonMs` (out of the window); returns how many. */
export function dropUntil<E extends { readonly timeMs: number }>(list: E[], horizonMs: number): number {
  let n = 0;
  while (n < list.length && (list[n] as E).timeMs <= horizonMs) n++;
  if (n === 1) list.shift();
  else if (n > 1) list.splice(0, n);
  return n;
}

/** A value as a comparable string (distinct values, correlation ids), or `undefined` when missing. */
export function valueKey(x: unknown): string | undefined {
  if (x === undefined || x === null || x === '') return undefined;
  return typeof x === 'string' ? x : typeof x === 'object' ? JSON.stringify(x) : String(x);
}
