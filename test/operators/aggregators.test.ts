import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/core/errors.ts';
import { approxDistinct, avg, count, DEFAULT_MAX_EXACT_DISTINCT, distinct, max, min, sum, topK } from '../../src/operators/aggregators.ts';
import type { Aggregator } from '../../src/operators/aggregators.ts';

interface Purchase {
  user?: unknown;
  item?: unknown;
  amount?: unknown;
}

function fold<T, A, R>(agg: Aggregator<T, A, R>, values: readonly T[]): R {
  let acc = agg.init();
  for (const v of values) acc = agg.add(acc, v);
  return agg.result(acc);
}

/** Folds two halves separately and merges them, as a session merge does. */
function foldMerged<T, A, R>(agg: Aggregator<T, A, R>, left: readonly T[], right: readonly T[]): R {
  let a = agg.init();
  for (const v of left) a = agg.add(a, v);
  let b = agg.init();
  for (const v of right) b = agg.add(b, v);
  return agg.result((agg.merge as (a: A, b: A) => A)(a, b));
}

const amount = (p: Purchase) => p.amount;
const rows: Purchase[] = [{ amount: 5 }, { amount: -2.5 }, { amount: '7' }, { amount: Number.NaN }, {}, { amount: 10 }, { amount: null }];

describe('numeric aggregators', () => {
  it('count counts every event, numeric or not', () => {
    expect(fold(count<Purchase>(), rows)).toBe(7);
    expect(fold(count(), [])).toBe(0);
  });

  it('sum, min, max, avg skip non-numeric values instead of turning NaN', () => {
    expect(fold(sum(amount), rows)).toBe(12.5);
    expect(fold(min(amount), rows)).toBe(-2.5);
    expect(fold(max(amount), rows)).toBe(10);
    expect(fold(avg(amount), rows)).toBeCloseTo(12.5 / 3, 12);
  });

  it('min, max and avg of no numeric value are null; sum is 0', () => {
    const none: Purchase[] = [{ amount: 'x' }, {}];
    expect(fold(min(amount), none)).toBeNull();
    expect(fold(max(amount), none)).toBeNull();
    expect(fold(avg(amount), none)).toBeNull();
    expect(fold(sum(amount), none)).toBe(0);
  });

  it('merging two partial results equals folding everything', () => {
    const left = rows.slice(0, 3);
    const right = rows.slice(3);
    for (const agg of [count<Purchase>(), sum(amount), min(amount), max(amount), avg(amount)] as Aggregator<Purchase>[])
      expect(foldMerged(agg, left, right)).toEqual(fold(agg, rows));
  });
});

describe('distinct', () => {
  it('counts distinct values exactly, ignoring null and undefined', () => {
    const users: Purchase[] = [{ user: 'a' }, { user: 'b' }, { user: 'a' }, { user: 1 }, { user: '1' }, { user: null }, {}];
    expect(fold(distinct((p: Purchase) => p.user), users)).toBe(4);
    expect(foldMerged(distinct((p: Purchase) => p.user), users.slice(0, 2), users.slice(2))).toBe(4);
  });

  const user = (p: Purchase) => p.user;
  const users = (n: number, from = 0) => Array.from({ length: n }, (_, i) => ({ user: `u${from + i}` }));
  /** Folds values, returning the accumulator too. */
  const accOf = <A>(agg: Aggregator<Purchase, A, number>, values: readonly Purchase[]) => values.reduce((acc, v) => agg.add(acc, v), agg.init());

  it('stays exact up to maxExact (default 10,000) and says so', () => {
    const agg = distinct(user);
    const acc = accOf(agg, users(DEFAULT_MAX_EXACT_DISTINCT));
    expect(agg.result(acc)).toBe(DEFAULT_MAX_EXACT_DISTINCT);
    expect(agg.approximate?.(acc)).toBe(false);
  });

  it('switches to a HyperLogLog past maxExact: bounded memory, an estimate, flagged approximate (regression: an unbounded set per window)', () => {
    const agg = distinct(user);
    const acc = accOf(agg, [...users(60_000), ...users(60_000)]);
    expect(agg.approximate?.(acc)).toBe(true);
    expect(acc).not.toBeInstanceOf(Set);
    expect(Math.abs(agg.result(acc) - 60_000) / 60_000).toBeLessThan(3 * (1.04 / 128));
  });

  it('saves and loads both forms through JSON, as durable window state does', () => {
    const agg = distinct(user, { maxExact: 100 });
    for (const n of [50, 5_000]) {
      const acc = accOf(agg, users(n));
      const loaded = (agg.load as (s: unknown) => typeof acc)(JSON.parse(JSON.stringify((agg.save as (a: typeof acc) => unknown)(acc))));
      expect([agg.result(loaded), agg.approximate?.(loaded)]).toEqual([agg.result(acc), n > 100]);
      // The loaded accumulator goes on counting as the original does.
      expect(agg.result(agg.add(loaded, { user: 'new-user' }))).toBe(agg.result(agg.add(acc, { user: 'new-user' })));
    }
    // State saved before the switch existed (a plain list) still loads.
    expect(agg.result((agg.load as (s: unknown) => Set<unknown>)(['a', 'b']))).toBe(2);
  });

  it('merges exact sets, a set with a sketch, and two sketches', () => {
    const agg = distinct(user, { maxExact: 1000 });
    const merge = agg.merge as (a: ReturnType<typeof agg.init>, b: ReturnType<typeof agg.init>) => ReturnType<typeof agg.init>;
    const small = () => accOf(agg, users(600));
    const other = () => accOf(agg, users(600, 300));
    const big = () => accOf(agg, users(5_000, 10_000));
    expect(agg.result(merge(small(), other()))).toBe(900);
    expect(agg.approximate?.(merge(small(), accOf(agg, users(600, 600))))).toBe(true); // 1,200 > 1,000
    const mixed = merge(small(), big());
    expect(agg.approximate?.(mixed)).toBe(true);
    expect(Math.abs(agg.result(mixed) - 5_600) / 5_600).toBeLessThan(0.03);
    expect(Math.abs(agg.result(merge(big(), other())) - 5_600) / 5_600).toBeLessThan(0.03);
    expect(Math.abs(agg.result(merge(big(), accOf(agg, users(5_000, 12_000)))) - 7_000) / 7_000).toBeLessThan(0.03);
  });

  it('keeps 1 and "1" apart in both forms', () => {
    const agg = distinct((p: Purchase) => p.user, { maxExact: 2 });
    const acc = accOf(agg, [{ user: 1 }, { user: '1' }, { user: true }, { user: 'true' }]);
    expect(agg.approximate?.(acc)).toBe(true);
    expect(agg.result(acc)).toBe(4);
  });

  it('checks its options once', () => {
    expect(() => distinct(user, { maxExact: 0 })).toThrow(ConfigError);
    expect(() => distinct(user, { precision: 30 })).toThrow(ConfigError);
  });
});

describe('approxDistinct', () => {
  it('is exact-ish for small sets (linear counting)', () => {
    const values = Array.from({ length: 100 }, (_, i) => ({ user: `u${i % 40}` }));
    expect(fold(approxDistinct((p: Purchase) => p.user), values)).toBe(40);
  });

  it('rejects a precision outside [4, 18]', () => {
    expect(() => approxDistinct(amount, { precision: 3 })).toThrow(ConfigError);
    expect(() => approxDistinct(amount, { precision: 19 })).toThrow(ConfigError);
  });

  it('merges like a union', () => {
    const agg = approxDistinct((p: Purchase) => p.user, { precision: 12 });
    const left = Array.from({ length: 30_000 }, (_, i) => ({ user: `u${i}` }));
    const right = Array.from({ length: 30_000 }, (_, i) => ({ user: `u${i + 15_000}` }));
    expect(foldMerged(agg, left, right)).toBe(fold(agg, [...left, ...right]));
    expect(Math.abs(fold(agg, [...left, ...right]) - 45_000) / 45_000).toBeLessThan(3 * (1.04 / 64));
  });
});

describe('topK', () => {
  const items: Purchase[] = [
    { item: 'sword', amount: 5 },
    { item: 'shield', amount: 50 },
    { item: 'sword', amount: 5 },
    { item: 'potion', amount: 1 },
    { item: 'sword', amount: 5 },
    { item: 'potion', amount: 1 },
    { item: 'bow', amount: 'free' },
    { item: null, amount: 100 },
  ];

  it('ranks by count, ties by value', () => {
    expect(fold(topK((p: Purchase) => p.item, 3), items)).toEqual([
      { value: 'sword', count: 3 },
      { value: 'potion', count: 2 },
      { value: 'bow', count: 1 },
    ]);
  });

  it('ranks by summed weight, skipping non-numeric weights', () => {
    expect(fold(topK((p: Purchase) => p.item, 2, amount), items)).toEqual([
      { value: 'shield', count: 50 },
      { value: 'sword', count: 15 },
    ]);
  });

  it('merges counts', () => {
    const agg = topK((p: Purchase) => p.item, 4);
    expect(foldMerged(agg, items.slice(0, 4), items.slice(4))).toEqual(fold(agg, items));
  });

  it('returns a fresh array each time (safe for update results)', () => {
    const agg = topK((p: Purchase) => p.item, 2);
    const acc = agg.add(agg.init(), { item: 'a' });
    const first = agg.result(acc);
    agg.add(acc, { item: 'b' });
    agg.add(acc, { item: 'b' });
    expect(first).toEqual([{ value: 'a', count: 1 }]);
    expect(agg.result(acc)).toEqual([
      { value: 'b', count: 2 },
      { value: 'a', count: 1 },
    ]);
  });

  it('rejects k < 1', () => {
    expect(() => topK(amount, 0)).toThrow(ConfigError);
  });
});
