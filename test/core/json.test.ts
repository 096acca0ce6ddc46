import { describe, expect, it } from 'vitest';
import { nestedDeeperThan, setOwn, stringifyJson } from '../../src/core/json.ts';

/** `{"a":{"a":…1…}}`, `levels` objects deep. */
function deepObject(levels: number): unknown {
  return JSON.parse(`${'{"a":'.repeat(levels)}1${'}'.repeat(levels)}`);
}

describe('nestedDeeperThan', () => {
  it('counts objects and arrays, not scalars', () => {
    expect(nestedDeeperThan(1, 0)).toBe(false);
    expect(nestedDeeperThan({}, 0)).toBe(true);
    expect(nestedDeeperThan({}, 1)).toBe(false);
    expect(nestedDeeperThan({ a: [1, { b: 2 }] }, 2)).toBe(true);
    expect(nestedDeeperThan({ a: [1, { b: 2 }] }, 3)).toBe(false);
    expect(nestedDeeperThan(Buffer.from('[[[['), 0)).toBe(false);
  });

  it('walks 100,000 levels without overflowing, and ends on a cycle', () => {
    expect(nestedDeeperThan(deepObject(100_000), 99_999)).toBe(true);
    expect(nestedDeeperThan(deepObject(100_000), 100_000)).toBe(false);
    const cycle: Record<string, unknown> = {};
    cycle.self = cycle;
    expect(nestedDeeperThan(cycle, 64)).toBe(true);
  });
});

describe('stringifyJson', () => {
  const samples: unknown[] = [
    { a: 1, b: 'x"y\n', c: [1, null, true, { d: undefined, e: () => 1 }], f: undefined, g: Number.NaN, h: -0 },
    [undefined, Symbol('s'), Infinity, new Date(Date.UTC(2026, 0, 1)), Buffer.from('hi')],
    JSON.parse('{"__proto__": {"x": 1}, "constructor": {"prototype": 2}}'),
    'text',
    12.5,
    null,
  ];

  it.each(samples.map((s) => [s]))('equals JSON.stringify when the built-in can do it: %j', (sample) => {
    expect(stringifyJson(sample)).toBe(JSON.stringify(sample));
  });

  it('encodes values nested too deep for JSON.stringify, with the same text', () => {
    const levels = 50_000;
    const value = deepObject(levels);
    expect(() => JSON.stringify(value)).toThrow(RangeError);
    const text = stringifyJson(value) as string;
    expect(text).toBe(`${'{"a":'.repeat(levels)}1${'}'.repeat(levels)}`);
    const arrays = JSON.parse(`${'['.repeat(levels)}"x",2${']'.repeat(levels)}`) as unknown;
    expect(stringifyJson(arrays)).toBe(`${'['.repeat(levels)}"x",2${']'.repeat(levels)}`);
  });

  it('keeps the built-in semantics on the deep path: skipped fields, null elements, toJSON', () => {
    const tail = { a: undefined, b: [undefined, Number.NaN, new Date(0)], c: 'ok' };
    let value: unknown = tail;
    for (let i = 0; i < 20_000; i++) value = { n: value };
    const text = stringifyJson(value) as string;
    expect(text.endsWith(`${JSON.stringify(tail)}${'}'.repeat(20_000)}`)).toBe(true);
    expect(stringifyJson(undefined)).toBeUndefined();
  });

  it('still refuses cycles and BigInts, as JSON.stringify does', () => {
    const cycle: Record<string, unknown> = {};
    cycle.self = cycle;
    expect(() => stringifyJson(cycle)).toThrow(TypeError);
    expect(() => stringifyJson({ n: 1n })).toThrow(TypeError);
  });
});

describe('setOwn', () => {
  it('sets "__proto__" as an own field and leaves the prototype alone', () => {
    const target: Record<string, unknown> = {};
    setOwn(target, '__proto__', { polluted: true });
    setOwn(target, 'a', 1);
    expect(Object.getPrototypeOf(target)).toBe(Object.prototype);
    expect(Object.keys(target)).toEqual(['__proto__', 'a']);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});
