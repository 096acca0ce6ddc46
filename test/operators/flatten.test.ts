import { from } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/core/errors.ts';
import { flatten, MAX_FLATTEN_DEPTH } from '../../src/operators/flatten.ts';
import { deadLetters, expectAllDone, record, testScheduler } from './record-helpers.ts';

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

  it('flattens in key order, the later of two equal names winning, as the recursive version did', () => {
    expect(Object.entries(flat({ a: { b: 1, c: { d: 2 } }, a_b: 3, e: 4, a_c_d: 5 }) as Record<string, unknown>)).toEqual([
      ['a_b', 3],
      ['a_c_d', 5],
      ['e', 4],
    ]);
  });

  it('flattens a value MAX_FLATTEN_DEPTH levels deep and dead-letters one 10,000 levels deep instead of overflowing the stack (regression: the crash loop)', () => {
    const { deadLetter, letters } = deadLetters();
    const levels = (n: number) => JSON.parse(`${'{"a":'.repeat(n)}1${'}'.repeat(n)}`) as Record<string, unknown>;
    const fits = record<Record<string, unknown>>(levels(MAX_FLATTEN_DEPTH), 1);
    const deep = record<Record<string, unknown>>(levels(10_000), 2);
    const arrays = record<Record<string, unknown>>(JSON.parse(`{"x":${'['.repeat(10_000)}1${']'.repeat(10_000)}}`) as Record<string, unknown>, 3);
    const out: Record<string, unknown>[] = [];
    from([fits, deep, arrays])
      .pipe(flatten({ id: 'flat', arrays: 'json', deadLetter }))
      .subscribe((e) => out.push(e.value));
    expect(out.map((v) => Object.keys(v)[0]?.length)).toEqual([MAX_FLATTEN_DEPTH * 2 - 1, 1]);
    expect(out[1]?.x).toBe(`${'['.repeat(10_000)}1${']'.repeat(10_000)}`);
    expect(letters.map((l) => [l.envelope, l.error.code, l.error.message])).toEqual([
      [deep, 'TRIB_OPERATOR', `step "flat": the value nests objects deeper than ${MAX_FLATTEN_DEPTH} levels (or in a cycle)`],
    ]);
  });

  it('dead-letters a cycle or an array JSON cannot encode, and goes on', () => {
    const { deadLetter, letters } = deadLetters();
    const cycle: Record<string, unknown> = { a: 1 };
    cycle.self = cycle;
    const inputs = [cycle, { list: [1n] }, { ok: { v: 1 } }].map((v, i) => record<Record<string, unknown>>(v, i));
    const out: unknown[] = [];
    testScheduler().run(({ cold, expectObservable }) => {
      const source = cold('abc|', { a: inputs[0], b: inputs[1], c: inputs[2] });
      expectObservable(source.pipe(flatten({ id: 'flat', arrays: 'json', deadLetter }))).toBe('--c|', { c: { ...inputs[2], value: { ok_v: 1 } } });
    });
    expect(letters.map((l) => l.error.code)).toEqual(['TRIB_OPERATOR', 'TRIB_OPERATOR']);
    expect(letters[1]?.error.message).toContain('BigInt');
    expect(out).toEqual([]);
  });

  it('checks its options once', () => {
    expect(() => flatten({ id: 'flat', deadLetter: 'dlq' as never })).toThrow(/option "deadLetter"/);
    expect(() => flatten({ id: 'flat', arrays: 'explode' as 'json' })).toThrow(ConfigError);
    expect(() => flatten({ id: 'flat', arrays: 'explode' as 'json' })).toThrow(/step "flat": option "arrays"/);
  });
});
