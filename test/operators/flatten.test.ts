import { from } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/core/errors.ts';
import { flatten } from '../../src/operators/flatten.ts';
import { expectAllDone, record, testScheduler } from './record-helpers.ts';

const nested = { user_id: 'u1', event_data: { amount: 5, items: ['a', 'b'], device: { os: 'ios', v: null } }, empty: {} };

function flat(value: Record<string, unknown>, options: Partial<Parameters<typeof flatten>[0]> = {}): unknown {
  let out: unknown;
  from([record<Record<string, unknown>>(value)]).pipe(flatten({ id: 'flat', ...options })).subscribe((e) => (out = e.value));
  return out;
}

describe('flatten', () => {
  it('flattens nested objects to one level, arrays kept by default', () => {
    expect(flat(nested)).toEqual({ user_id: 'u1', event_data_amount: 5, event_data_items: ['a', 'b'], event_data_device_os: 'ios', event_data_device_v: null });
  });

  it('writes arrays as JSON and joins with another delimiter', () => {
    expect(flat(nested, { delimiter: '.', arrays: 'json' })).toEqual({
      user_id: 'u1',
      'event_data.amount': 5,
      'event_data.items': '["a","b"]',
      'event_data.device.os': 'ios',
      'event_data.device.v': null,
    });
  });

  it('keeps a "__proto__" field as a field and leaves the input alone', () => {
    const value = JSON.parse('{"__proto__": 1, "a": {"b": 2}}') as Record<string, unknown>;
    const out = flat(value) as Record<string, unknown>;
    expect(Object.keys(out)).toEqual(['__proto__', 'a_b']);
    expect(Object.getPrototypeOf(out)).toBe(Object.prototype);
    expect(value).toEqual(JSON.parse('{"__proto__": 1, "a": {"b": 2}}'));
  });

  it('stays right past the bound of its name cache', () => {
    const wide = Object.fromEntries(Array.from({ length: 5_000 }, (_, i) => [`k${i}`, { v: i }]));
    const out = flat({ m: wide, n: wide }) as Record<string, unknown>;
    expect(Object.keys(out)).toHaveLength(10_000);
    expect([out.m_k0_v, out.m_k4999_v, out.n_k4999_v]).toEqual([0, 4999, 4999]);
  });

  it('emits in marbles, propagates errors and unsubscription; leases pass through', () => {
    const a = record<Record<string, unknown>>({ x: { y: 1 } });
    testScheduler().run(({ cold, hot, expectObservable, expectSubscriptions }) => {
      const op = flatten({ id: 'flat' });
      expectObservable(cold('a-a|', { a }).pipe(op)).toBe('a-a|', { a: { ...a, value: { x_y: 1 } } });
      expectObservable(cold('a#', { a }).pipe(op)).toBe('a#', { a: { ...a, value: { x_y: 1 } } });
      const endless = hot('a-a-a', { a });
      expectObservable(endless.pipe(op), '^-!').toBe('a-', { a: { ...a, value: { x_y: 1 } } });
      expectSubscriptions(endless.subscriptions).toBe('^-!');
    });
    const records = [record<Record<string, unknown>>({ a: 1 }), record<Record<string, unknown>>({ b: { c: 2 } })];
    from(records).pipe(flatten({ id: 'flat' })).subscribe((e) => e.lease.release());
    expectAllDone(records);
  });

  it('checks its options once', () => {
    expect(() => flatten({ id: 'flat', arrays: 'explode' as 'json' })).toThrow(ConfigError);
    expect(() => flatten({ id: 'flat', arrays: 'explode' as 'json' })).toThrow(/step "flat": option "arrays"/);
  });
});
