import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/core/errors.ts';
import { hash64, HyperLogLog } from '../../src/operators/hyperloglog.ts';

function filled(precision: number, n: number, prefix = 'user-'): HyperLogLog {
  const hll = new HyperLogLog(precision);
  for (let i = 0; i < n; i++) hll.add(`${prefix}${i}`);
  return hll;
}

describe('HyperLogLog', () => {
  it.each([
    [10, 100_000],
    [12, 100_000],
    [14, 100_000],
    [16, 100_000],
    // Near 2.5 m, where the classic estimator with linear counting was off by 3.5 standard errors.
    [14, 40_000],
  ])('stays within 3 standard errors (precision %i, %i distinct values)', (precision, n) => {
    const error = Math.abs(filled(precision, n).estimate() - n) / n;
    expect(error).toBeLessThan(3 * HyperLogLog.standardError(precision));
  });

  it('keeps its mean error near the standard error over many sets', () => {
    const precision = 10;
    const n = 20_000;
    let squares = 0;
    const runs = 30;
    for (let r = 0; r < runs; r++) squares += ((filled(precision, n, `r${r}-`).estimate() - n) / n) ** 2;
    const rmse = Math.sqrt(squares / runs);
    expect(rmse).toBeLessThan(1.5 * HyperLogLog.standardError(precision));
  });

  it('ignores repeats', () => {
    const hll = filled(14, 1000);
    const before = hll.estimate();
    for (let i = 0; i < 1000; i++) hll.add(`user-${i}`);
    expect(hll.estimate()).toBe(before);
    expect(Math.round(before)).toBeGreaterThan(990);
    expect(Math.round(before)).toBeLessThan(1010);
  });

  it('gives the same estimate sparse or dense, and after merging', () => {
    const sparse = filled(14, 300); // 300 registers < m / 32: still sparse
    const dense = new HyperLogLog(14).merge(filled(14, 1000, 'other-')); // dense
    const reference = filled(14, 300);
    expect(sparse.estimate()).toBe(reference.estimate());
    const union = filled(14, 300).merge(filled(14, 1000, 'other-'));
    const all = new HyperLogLog(14);
    for (let i = 0; i < 300; i++) all.add(`user-${i}`);
    for (let i = 0; i < 1000; i++) all.add(`other-${i}`);
    expect(union.estimate()).toBe(all.estimate());
    expect(new HyperLogLog(14).merge(dense).estimate()).toBe(dense.estimate());
  });

  it('estimates 0 when empty and rejects another precision on merge', () => {
    expect(new HyperLogLog(8).estimate()).toBe(0);
    expect(() => new HyperLogLog(8).merge(new HyperLogLog(9))).toThrow(ConfigError);
    expect(() => new HyperLogLog(2)).toThrow(ConfigError);
  });

  it('hashes to two 32-bit lanes that differ for near-identical strings', () => {
    const [a1, a2] = hash64('user-1');
    const [b1, b2] = hash64('user-2');
    for (const lane of [a1, a2, b1, b2]) expect(lane >>> 0).toBe(lane);
    expect(a1).not.toBe(b1);
    expect(a2).not.toBe(b2);
  });
});
