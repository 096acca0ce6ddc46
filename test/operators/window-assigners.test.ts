import { describe, expect, it } from 'vitest';
import { fillWindowStarts, fixedGrid, hopping, lastWindowStart, session, sessionsTouch, tumbling, windowSpecProblems, windowStarts } from '../../src/operators/window-assigners.ts';
import type { WindowSpec } from '../../src/operators/window-assigners.ts';

describe('window assignment', () => {
  it('puts an event exactly at a tumbling window end into the next window', () => {
    const grid = fixedGrid(tumbling({ sizeMs: 60_000 }));
    expect(windowStarts(grid, 59_999)).toEqual([0]);
    expect(windowStarts(grid, 60_000)).toEqual([60_000]);
    expect(windowStarts(grid, 0)).toEqual([0]);
  });

  it('floors negative times towards -Infinity', () => {
    expect(lastWindowStart(-1, 1000)).toBe(-1000);
    expect(lastWindowStart(-1000, 1000)).toBe(-1000);
    expect(windowStarts(fixedGrid(tumbling({ sizeMs: 1000 })), -1)).toEqual([-1000]);
  });

  it('puts a hopping event into every window covering it, earliest first', () => {
    const grid = fixedGrid(hopping({ sizeMs: 60_000, advanceMs: 20_000 }));
    expect(windowStarts(grid, 50_000)).toEqual([0, 20_000, 40_000]);
    expect(windowStarts(grid, 60_000)).toEqual([20_000, 40_000, 60_000]);
    // A size that is not a multiple of the advance: 2 or 3 windows depending on the time.
    const odd = fixedGrid(hopping({ sizeMs: 50, advanceMs: 20 }));
    expect(windowStarts(odd, 45)).toEqual([0, 20, 40]);
    expect(windowStarts(odd, 55)).toEqual([20, 40]);
  });

  it('fills a reused array and says how many starts it wrote', () => {
    const into = [1, 2, 3, 4];
    expect(fillWindowStarts(fixedGrid(hopping({ sizeMs: 30, advanceMs: 10 })), 25, into)).toBe(3);
    expect(into).toEqual([0, 10, 20, 4]);
    expect(fillWindowStarts(fixedGrid(tumbling({ sizeMs: 10 })), 15, into)).toBe(1);
    expect(into[0]).toBe(10);
  });

  it('treats sessions that touch as one (inclusive bounds)', () => {
    expect(sessionsTouch(0, 10, 10, 20)).toBe(true);
    expect(sessionsTouch(0, 10, 11, 20)).toBe(false);
    expect(sessionsTouch(5, 8, 0, 20)).toBe(true);
  });

  it('reports invalid specs', () => {
    expect(windowSpecProblems(tumbling({ sizeMs: 1 }))).toEqual([]);
    expect(windowSpecProblems(session({ gapMs: 1 }))).toEqual([]);
    expect(windowSpecProblems(tumbling({ sizeMs: 0 }))).toEqual(['window.sizeMs must be a finite number > 0, got 0']);
    expect(windowSpecProblems(hopping({ sizeMs: 10, advanceMs: 20 }))).toEqual(['window.advanceMs (20) must be <= window.sizeMs (10)']);
    expect(windowSpecProblems(session({ gapMs: Number.NaN }))).toHaveLength(1);
    expect(windowSpecProblems({ kind: 'sliding' } as unknown as WindowSpec)).toHaveLength(1);
  });
});
