import { from } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/core/errors.ts';
import { fnv1a, sample } from '../../src/operators/sample.ts';
import { record, testScheduler } from './record-helpers.ts';

/** The event ids `sample` keeps out of e0..e(n-1), run through the operator. */
function kept(rate: number, n: number, key = ['event_id']): string[] {
  const out: string[] = [];
  const records = Array.from({ length: n }, (_, i) => record({ event_id: `e${i}`, user_id: `u${i % 10}` }, i));
  from(records)
    .pipe(sample({ id: 's', rate, key }))
    .subscribe((e) => {
      out.push((e.value as { event_id: string }).event_id);
      e.lease.release();
    });
  expect(records.every((r) => r.lease.refs <= 1)).toBe(true);
  return out;
}

describe('sample', () => {
  it('keeps the records whose key hashes below the rate, in order, releasing the others', () => {
    const ids = Array.from({ length: 50 }, (_, i) => `k${i}`);
    const low = ids.filter((id) => fnv1a(id) < 2 ** 31);
    const high = ids.filter((id) => fnv1a(id) >= 2 ** 31);
    const a = record({ event_id: low[0] }, 1);
    const b = record({ event_id: high[0] }, 2);
    const c = record({ event_id: low[1] }, 3);
    testScheduler().run(({ cold, expectObservable }) => {
      expectObservable(cold('a-b-c-|', { a, b, c }).pipe(sample({ id: 's', rate: 0.5, key: ['event_id'] }))).toBe('a---c-|', { a, c });
    });
    expect([a.lease.refs, b.lease.refs, c.lease.refs]).toEqual([1, 0, 1]);
  });

  it('keeps about the rate, and the same records on every run', () => {
    const first = kept(0.1, 20_000);
    expect(first.length / 20_000).toBeGreaterThan(0.08);
    expect(first.length / 20_000).toBeLessThan(0.12);
    expect(kept(0.1, 20_000)).toEqual(first);
    expect(kept(1, 100)).toHaveLength(100);
  });

  it('keeps every event of a sampled user when sampling by user', () => {
    const users = new Set(kept(0.3, 1000, ['user_id']).map((id) => Number(id.slice(1)) % 10));
    const out = kept(0.3, 1000, ['user_id']);
    expect(out).toHaveLength(users.size * 100);
  });

  it('refuses a rate outside (0, 1] when built', () => {
    expect(() => sample({ id: 's', rate: 0, key: ['event_id'] })).toThrow(ConfigError);
    expect(() => sample({ id: 's', rate: 1.5, key: ['event_id'] })).toThrow(/rate/);
  });
});
