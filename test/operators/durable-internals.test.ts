import { describe, expect, it } from 'vitest';
import { readStateJson, stateJson } from '../../src/operators/durable-internals.ts';

/** What checkpoints wrote before `stateJson`: the built-in with a replacer function. */
const reference = (value: unknown) =>
  JSON.stringify(value, (_key, v: unknown) => (v === Infinity ? { $inf: 1 } : v === -Infinity ? { $inf: -1 } : v));

const STATES: unknown[] = [
  { min: Infinity, max: -Infinity, n: 3, sum: 0.5, list: [1, -Infinity, { at: Infinity }], none: null, skipped: undefined },
  { windows: [{ key: 'g1', start: 60_000, acc: [4, Infinity, ['u1', 'u2']] }], watermark: -Infinity },
  { keys: [['user-1', { events: [1, 2], rearmAtMs: -Infinity }]], out: [] },
  { plain: { nested: [1, 2, 3], text: 'a"b' }, at: new Date(0) },
  [Infinity],
  Infinity,
  'text',
  null,
];

describe('stateJson', () => {
  it.each(STATES.map((state, i) => [i, state]))('writes what JSON.stringify with the infinity replacer wrote (state %i)', (_i, state) => {
    expect(stateJson(state)).toBe(reference(state));
  });

  it('reads infinities back, and leaves the saved state as it was', () => {
    const state = { min: Infinity, list: [1, -Infinity], inner: { never: -Infinity, n: 1 } };
    const before = structuredClone(state);
    expect(readStateJson(stateJson(state))).toEqual(state);
    expect(state).toEqual(before);
  });

  it('keeps a key named __proto__ on the way to an infinity as a field (a user id can be anything)', () => {
    const state = JSON.parse('{"__proto__": {"rearmAtMs": 1}}') as Record<string, { rearmAtMs: number }>;
    (state['__proto__'] as { rearmAtMs: number }).rearmAtMs = -Infinity;
    const text = stateJson(state);
    expect(text).toBe('{"__proto__":{"rearmAtMs":{"$inf":-1}}}');
    expect(Object.keys(readStateJson(text) as object)).toEqual(['__proto__']);
  });
});
