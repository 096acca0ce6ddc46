import { describe, expect, it } from 'vitest';
import { flattenRecord } from '../../../src/sinks/parquet/flatten.ts';

describe('flattenRecord', () => {
  it('joins nested keys with _ and serializes arrays as JSON', () => {
    const at = new Date(0);
    expect(
      flattenRecord({ user_id: 'u1', at, event_data: { amount: 4.99, meta: { level: 3 }, items: ['a', { b: 1 }] }, none: null }),
    ).toEqual({ user_id: 'u1', at, event_data_amount: 4.99, event_data_meta_level: 3, event_data_items: '["a",{"b":1}]', none: null });
  });

  it('takes another separator', () => {
    expect(flattenRecord({ a: { b: 1 } }, '.')).toEqual({ 'a.b': 1 });
  });

  it('puts a scalar in a value column and bytes in base64', () => {
    expect(flattenRecord('hello')).toEqual({ value: 'hello' });
    expect(flattenRecord({ raw: Buffer.from('hi') })).toEqual({ raw: 'aGk=' });
  });

  it('returns an already flat record itself (no copy), and still flattens one with an array or bytes', () => {
    const flat = { user_id: 'u1', amount: 4.99, at: new Date(0), none: null };
    expect(flattenRecord(flat)).toBe(flat);
    expect(flattenRecord({ user_id: 'u1', items: ['a'] })).toEqual({ user_id: 'u1', items: '["a"]' });
    expect(flattenRecord({ raw: Buffer.from('hi') })).toEqual({ raw: 'aGk=' });
  });
});
