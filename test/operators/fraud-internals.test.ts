import { describe, expect, it } from 'vitest';
import { dropUntil, insertByTime, KeyedWindows, valueKey } from '../../src/operators/fraud-internals.ts';

describe('KeyedWindows', () => {
  const make = (maxKeys = 10, limits: string[] = []) =>
    new KeyedWindows<string[]>({ withinMs: 100, maxKeys, create: () => [], onLimit: () => limits.push('limit') });

  it('advances a key to its newest event time and calls an event at or before newest - withinMs late', () => {
    const keys = make();
    expect(keys.acquire('k', 500)?.newestMs).toBe(500);
    expect(keys.acquire('k', 450)?.newestMs).toBe(500);
    expect(keys.acquire('k', 401)).toBeDefined();
    expect(keys.acquire('k', 400)).toBeUndefined();
  });

  it('gives fresh state once every event of a key has left the window', () => {
    const keys = make();
    keys.acquire('k', 0)?.state.push('old');
    expect(keys.acquire('k', 99)?.state).toEqual(['old']);
    expect(keys.acquire('k', 198)?.state).toEqual(['old']);
    // newest is 198: at 298 everything the key holds is at least withinMs old.
    expect(keys.acquire('k', 298)?.state).toEqual([]);
  });

  it('drops the least recently used key beyond maxKeys (CLOCK: a used key gets a second chance) and reports it', () => {
    const limits: string[] = [];
    const keys = make(2, limits);
    keys.acquire('a', 1)?.state.push('a');
    keys.acquire('b', 2)?.state.push('b');
    keys.acquire('a', 3);
    keys.acquire('c', 4);
    expect(keys.size).toBe(2);
    expect(limits).toEqual(['limit']);
    expect(keys.acquire('a', 5)?.state).toEqual(['a']);
    expect(keys.acquire('b', 6)?.state).toEqual([]);
  });

  it('sweeps abandoned keys without counting them as a limit', () => {
    const limits: string[] = [];
    const keys = make(1000, limits);
    for (let i = 0; i < 300; i++) keys.acquire(`user${i}`, i * 10);
    // At 2990 only keys with newest > 2890 are live: user290..user299 (and the sweep ran at the 256th).
    keys.sweep();
    expect(keys.size).toBe(10);
    expect(limits).toEqual([]);
  });

  it('makes room at maxKeys by sweeping expired keys first', () => {
    const limits: string[] = [];
    const keys = make(2, limits);
    keys.acquire('a', 0);
    keys.acquire('b', 50);
    keys.acquire('c', 100); // a is expired (0 <= 100 - 100): swept, not a limit
    expect(limits).toEqual([]);
    expect(keys.size).toBe(2);
  });

  it('keeps a used key through a sweep and stops at the first live unused key', () => {
    const keys = make(1000);
    keys.acquire('busy', 0);
    keys.acquire('idle', 5);
    for (let i = 0; i < 200; i++) keys.acquire(`gone${i}`, 10);
    keys.acquire('busy', 95);
    // At 101 (horizon 1) nothing is expired; busy, marked, moves to the new end; idle stops the sweep.
    keys.acquire('late-comer', 101);
    expect(keys.sweep()).toBe(0);
    // At 106 (horizon 6) idle has expired but gone* have not: idle is dropped, then the sweep stops.
    keys.acquire('x', 106);
    expect(keys.sweep()).toBe(1);
    // At 190 (horizon 90) the 200 gone* are dropped; late-comer (101) stops the sweep before busy (95).
    keys.acquire('y', 190);
    expect(keys.sweep()).toBe(200);
    expect(keys.size).toBe(4);
    expect(keys.acquire('busy', 190)?.newestMs).toBe(190);
  });
});

describe('KeyedWindows across partitions', () => {
  it('expires keys against the slowest partition, so a key of a partition behind the others survives a sweep', () => {
    const keys = new KeyedWindows<string[]>({ withinMs: 100, maxKeys: 1000, create: () => [], onLimit: () => {} });
    keys.acquire('behind', 10, 'p1')?.state.push('purchase');
    for (let i = 0; i < 300; i++) keys.acquire(`ahead${i}`, 1000 + i, 'p0');
    keys.sweep();
    expect(keys.acquire('behind', 50, 'p1')?.state).toEqual(['purchase']);
    // Against the newest time over all partitions (1299) it would have been expired and swept.
    expect(keys.size).toBe(301);
  });
});

describe('KeyedWindows and sweeps', () => {
  it('gives an expired key fresh state whether or not a sweep dropped it (a restore restarts the sweep count)', () => {
    const stateAfter = (sweep: boolean) => {
      const keys = new KeyedWindows<string[]>({ withinMs: 100, maxKeys: 1000, create: () => [], onLimit: () => {} });
      keys.acquire('a', 100)?.state.push('x');
      keys.acquire('b', 200); // the partition moves on: a (newest 100) is expired
      if (sweep) keys.sweep();
      // Out of order within the partition, within 100 of a's newest: before the fix, ['x'] unless swept.
      return keys.acquire('a', 150)?.state;
    };
    expect(stateAfter(false)).toEqual([]);
    expect(stateAfter(true)).toEqual([]);
  });
});

describe('helpers', () => {
  it('insertByTime keeps time order and arrival order for ties', () => {
    const list: { timeMs: number; n: string }[] = [];
    for (const [t, n] of [[5, 'a'], [3, 'b'], [5, 'c'], [9, 'd'], [0, 'e']] as const) insertByTime(list, { timeMs: t, n });
    expect(list.map((x) => x.n).join('')).toBe('ebacd');
  });

  it('dropUntil removes the items at or before the horizon', () => {
    const list = [1, 2, 3, 4].map((timeMs) => ({ timeMs }));
    expect(dropUntil(list, 2)).toBe(2);
    expect(list).toEqual([{ timeMs: 3 }, { timeMs: 4 }]);
  });

  it('valueKey reads values as strings, missing ones as undefined', () => {
    expect([valueKey('a'), valueKey(7), valueKey(true), valueKey({ b: 1 }), valueKey(''), valueKey(null), valueKey(undefined)]).toEqual(['a', '7', 'true', '{"b":1}', undefined, undefined, undefined]);
  });
});
