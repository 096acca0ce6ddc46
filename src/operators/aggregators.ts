import { ConfigError } from '../core/errors.ts';
import { stringifyJson } from '../core/json.ts';
import { HyperLogLog } from './hyperloglog.ts';

/**
 * How a window folds its events into one value: a plain object, testable without Rx.
 *
 * ```ts
 * const revenue = sum((e: Purchase) => e.event_data.amount);
 * const acc = revenue.add(revenue.add(revenue.init(), p1), p2);
 * revenue.result(acc); // p1 + p2 amounts
 * ```
 *
 * `add` may mutate and return its accumulator; `result` must not hand out a live reference to it (a
 * window in `emit: 'update'` mode reads results while it keeps adding). `merge` combines two
 * accumulators and is required by session windows, which merge when an event bridges two sessions.
 */
export interface Aggregator<T, A = any, R = unknown> {
  init(): A;
  add(acc: A, value: T): A;
  result(acc: A): R;
  merge?(a: A, b: A): A;
  /** The accumulator as JSON-safe data, for durable window state. Default: the accumulator itself. */
  save?(acc: A): unknown;
  /** The accumulator `save` returned. Default: the saved data itself. */
  load?(saved: unknown): A;
  /**
   * Whether `result` is an estimate for this accumulator (a `distinct` past its exact bound): the
   * window then adds `<name>_approximate: true` to its result.
   */
  approximate?(acc: A): boolean;
}

/** The result types of a record of named aggregators. */
export type AggregatorResults<Aggs> = {
  [K in keyof Aggs]: Aggs[K] extends Aggregator<any, any, infer R> ? R : never;
};

/** Reads the aggregated field from an event; optional chaining keeps a missing field `undefined`. */
export type ValueGetter<T> = (value: T) => unknown;

/** A finite number, or `undefined` for anything else (missing fields, strings, NaN): skipped, not poisoning. */
function numeric(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}

/** Counts events. */
export function count<T = unknown>(): Aggregator<T, number, number> {
  return { init: () => 0, add: (acc) => acc + 1, result: (acc) => acc, merge: (a, b) => a + b };
}

/** Sums a numeric field; non-numeric values are skipped. */
export function sum<T>(get: ValueGetter<T>): Aggregator<T, number, number> {
  return {
    init: () => 0,
    add: (acc, value) => acc + (numeric(get(value)) ?? 0),
    result: (acc) => acc,
    merge: (a, b) => a + b,
  };
}

/** Smallest numeric value, `null` when there was none. */
export function min<T>(get: ValueGetter<T>): Aggregator<T, number, number | null> {
  return {
    init: () => Infinity,
    add: (acc, value) => Math.min(acc, numeric(get(value)) ?? Infinity),
    result: (acc) => (acc === Infinity ? null : acc),
    merge: (a, b) => Math.min(a, b),
    save: (acc) => (acc === Infinity ? null : acc),
    load: (saved) => (saved === null ? Infinity : (saved as number)),
  };
}

/** Largest numeric value, `null` when there was none. */
export function max<T>(get: ValueGetter<T>): Aggregator<T, number, number | null> {
  return {
    init: () => -Infinity,
    add: (acc, value) => Math.max(acc, numeric(get(value)) ?? -Infinity),
    result: (acc) => (acc === -Infinity ? null : acc),
    merge: (a, b) => Math.max(a, b),
    save: (acc) => (acc === -Infinity ? null : acc),
    load: (saved) => (saved === null ? -Infinity : (saved as number)),
  };
}

interface Mean {
  sum: number;
  count: number;
}

/** Mean of the numeric values, `null` when there was none. */
export function avg<T>(get: ValueGetter<T>): Aggregator<T, Mean, number | null> {
  return {
    init: () => ({ sum: 0, count: 0 }),
    add: (acc, value) => {
      const n = numeric(get(value));
      if (n !== undefined) {
        acc.sum += n;
        acc.count += 1;
      }
      return acc;
    },
    result: (acc) => (acc.count === 0 ? null : acc.sum / acc.count),
    merge: (a, b) => ({ sum: a.sum + b.sum, count: a.count + b.count }),
  };
}

/** Distinct values `distinct` counts exactly before it switches to a HyperLogLog. */
export const DEFAULT_MAX_EXACT_DISTINCT = 10_000;

export interface DistinctOptions {
  /** Distinct values counted exactly (a Set); past this many, a HyperLogLog estimates. Default 10,000. */
  readonly maxExact?: number;
  /** Precision of that HyperLogLog. Default 14: 16 KiB at most, about 0.8 % standard error. */
  readonly precision?: number;
}

/** The exact values seen, or the sketch they became. */
export type DistinctAcc = Set<unknown> | HyperLogLog;

/**
 * Number of distinct values (compared with `SameValueZero` while exact, so `1` and `'1'` differ);
 * `null`/`undefined` are not counted. Memory is bounded: past `maxExact` distinct values the set
 * becomes a HyperLogLog and the count an estimate, flagged by `approximate` (a window result then
 * carries `<name>_approximate: true`). Both forms save and load (durable window state).
 *
 * ```ts
 * window({ ..., aggregators: { active_users: distinct((e: GameEvent) => e.user_id) } });
 * // { key: 'g1', ..., active_users: 12 }, or past 10,000 users { ..., active_users: 48_113, active_users_approximate: true }
 * ```
 */
export function distinct<T>(get: ValueGetter<T>, options: DistinctOptions = {}): Aggregator<T, DistinctAcc, number> {
  const maxExact = options.maxExact ?? DEFAULT_MAX_EXACT_DISTINCT;
  const precision = options.precision ?? 14;
  if (!Number.isInteger(maxExact) || maxExact < 1) throw new ConfigError(`distinct maxExact must be an integer >= 1, got ${maxExact}`);
  new HyperLogLog(precision); // validates the precision at construction
  const sketchOf = (values: Iterable<unknown>, into = new HyperLogLog(precision)): HyperLogLog => {
    for (const v of values) into.add(sketchKey(v));
    return into;
  };
  const bounded = (set: Set<unknown>): DistinctAcc => (set.size > maxExact ? sketchOf(set) : set);
  return {
    init: () => new Set(),
    add: (acc, value) => {
      const v = get(value);
      if (v === null || v === undefined) return acc;
      if (acc instanceof HyperLogLog) {
        acc.add(sketchKey(v));
        return acc;
      }
      acc.add(v);
      return bounded(acc);
    },
    result: (acc) => (acc instanceof HyperLogLog ? Math.round(acc.estimate()) : acc.size),
    approximate: (acc) => acc instanceof HyperLogLog,
    save: (acc) => (acc instanceof HyperLogLog ? { hll: acc.save() } : [...acc]),
    load: (saved) => (Array.isArray(saved) ? new Set(saved) : HyperLogLog.restore(precision, (saved as { hll: [number, number][] }).hll)),
    merge: (a, b) => {
      if (a instanceof HyperLogLog) return b instanceof HyperLogLog ? a.merge(b) : sketchOf(b, a);
      if (b instanceof HyperLogLog) return sketchOf(a, b);
      const [big, small] = a.size >= b.size ? [a, b] : [b, a];
      for (const v of small) big.add(v);
      return bounded(big);
    },
  };
}

/** What a HyperLogLog hashes for a value: a string as itself, anything else tagged with its type (so `1` and `'1'` stay apart). */
function sketchKey(v: unknown): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'object') {
    try {
      return `object:${stringifyJson(v)}`;
    } catch {
      return `object:${String(v)}`;
    }
  }
  return `${typeof v}:${String(v)}`;
}

/**
 * Approximate number of distinct values with a HyperLogLog of `2^precision` registers (default 14:
 * 16 KiB at most, about 0.8 % standard error). Values are compared as strings (`1` and `'1'` are the
 * same); `null`/`undefined` are not counted. The result is rounded to an integer.
 */
export function approxDistinct<T>(get: ValueGetter<T>, options: { readonly precision?: number } = {}): Aggregator<T, HyperLogLog, number> {
  const precision = options.precision ?? 14;
  new HyperLogLog(precision); // validates the precision at construction
  return {
    init: () => new HyperLogLog(precision),
    add: (acc, value) => {
      const v = get(value);
      if (v !== null && v !== undefined) acc.add(typeof v === 'string' ? v : String(v));
      return acc;
    },
    result: (acc) => Math.round(acc.estimate()),
    merge: (a, b) => a.merge(b),
    save: (acc) => acc.save(),
    load: (saved) => HyperLogLog.restore(precision, saved as [number, number][]),
  };
}

/** One entry of a `topK` result. */
export interface Ranked {
  readonly value: unknown;
  readonly count: number;
}

/**
 * The `k` most frequent values with their counts (or summed `weight`s), highest first; ties are broken
 * by the value's string form, so results are deterministic. Counting is exact: memory grows with the
 * distinct values of a window. `null`/`undefined` values and non-numeric weights are skipped.
 *
 * ```ts
 * topK((e: Purchase) => e.event_data.item_id, 3, (e) => e.event_data.amount); // top items by revenue
 * ```
 */
export function topK<T>(get: ValueGetter<T>, k: number, weight?: (value: T) => unknown): Aggregator<T, Map<unknown, number>, Ranked[]> {
  if (!Number.isInteger(k) || k < 1) throw new ConfigError(`topK k must be an integer >= 1, got ${k}`);
  return {
    init: () => new Map(),
    add: (acc, value) => {
      const v = get(value);
      if (v === null || v === undefined) return acc;
      const w = weight === undefined ? 1 : numeric(weight(value));
      if (w !== undefined) acc.set(v, (acc.get(v) ?? 0) + w);
      return acc;
    },
    result: (acc) => top(acc, k),
    save: (acc) => [...acc],
    load: (saved) => new Map(saved as [unknown, number][]),
    merge: (a, b) => {
      const [big, small] = a.size >= b.size ? [a, b] : [b, a];
      for (const [v, n] of small) big.set(v, (big.get(v) ?? 0) + n);
      return big;
    },
  };
}

function before(a: Ranked, b: Ranked): boolean {
  if (a.count !== b.count) return a.count > b.count;
  return String(a.value) < String(b.value);
}

/** The k best entries by insertion into a small sorted buffer: O(n k), no full sort. */
function top(counts: Map<unknown, number>, k: number): Ranked[] {
  const best: Ranked[] = [];
  for (const [value, n] of counts) {
    const entry = { value, count: n };
    if (best.length === k && !before(entry, best[k - 1] as Ranked)) continue;
    let i = best.length === k ? k - 1 : best.length;
    while (i > 0 && before(entry, best[i - 1] as Ranked)) {
      best[i] = best[i - 1] as Ranked;
      i--;
    }
    best[i] = entry;
  }
  return best;
}
