import { describe, expect, it } from 'vitest';
import { INFLIGHT_RECORD_RESIDENT_BYTES, MemoryPressure, startScale } from '../../src/runtime/memory-pressure.ts';
import type { MemoryTrim } from '../../src/runtime/memory-guard.ts';

const MiB = 2 ** 20;
const LIMIT = 1000 * MiB;
const trim = (stillAbove: boolean): MemoryTrim => ({ rssBeforeBytes: 900 * MiB, rssAfterBytes: (stillAbove ? 880 : 700) * MiB, durationMs: 300, stillAbove });

function pressure() {
  const clock = { ms: 0 };
  const p = new MemoryPressure({ limitBytes: LIMIT, now: () => clock.ms });
  return { p, clock };
}

describe('MemoryPressure', () => {
  it('halves the bound when a collection leaves live memory above the threshold, down to 1/16', () => {
    const { p } = pressure();
    expect(p.update(880 * MiB, trim(true))).toBe('lowered');
    expect(p.scale).toBe(0.5);
    for (let i = 0; i < 3; i++) p.update(880 * MiB, trim(true));
    expect(p.scale).toBe(1 / 16);
    expect(p.update(880 * MiB, trim(true))).toBeUndefined();
    expect(p.scale).toBe(1 / 16);
  });

  it('leaves it alone when the collection released the memory, or when none ran, however high RSS is', () => {
    const { p } = pressure();
    expect(p.update(700 * MiB, trim(false))).toBeUndefined();
    expect(p.update(990 * MiB, undefined)).toBeUndefined();
    expect(p.scale).toBe(1);
  });

  it('starts where the bound fits the room left at start (whole when it fits), raising only 30 s later', () => {
    expect(startScale({ limitBytes: 512 * MiB, rssBytes: 150 * MiB, maxRecords: 100_000 })).toBeCloseTo(((0.5 * 512 - 150) * MiB) / (100_000 * INFLIGHT_RECORD_RESIDENT_BYTES));
    expect(startScale({ limitBytes: 2048 * MiB, rssBytes: 150 * MiB, maxRecords: 100_000 })).toBe(1);
    expect(startScale({ limitBytes: 256 * MiB, rssBytes: 200 * MiB, maxRecords: 100_000 })).toBe(1 / 16);
    const clock = { ms: 0 };
    const started = new MemoryPressure({ limitBytes: LIMIT, initialScale: 0.3, now: () => clock.ms });
    expect(started.scale).toBe(0.3);
    clock.ms = 29_000;
    expect(started.update(100 * MiB, undefined)).toBeUndefined();
    clock.ms = 34_000;
    expect(started.update(100 * MiB, undefined)).toBe('raised');
  });

  it('raises by 1/8 at a time while the peak RSS of the last 5 s is below 75%, 30 s after the last lowering', () => {
    const { p, clock } = pressure();
    p.update(880 * MiB, trim(true));
    p.update(880 * MiB, trim(true));
    clock.ms = 29_000;
    expect(p.update(500 * MiB, undefined)).toBeUndefined();
    clock.ms = 31_000;
    expect(p.update(760 * MiB, undefined)).toBeUndefined();
    clock.ms = 34_000;
    expect(p.update(500 * MiB, undefined)).toBeUndefined();
    clock.ms = 39_000;
    expect(p.update(500 * MiB, undefined)).toBe('raised');
    expect(p.scale).toBe(0.375);
    clock.ms = 41_000;
    expect(p.update(500 * MiB, undefined)).toBeUndefined();
    for (let i = 0; i < 10; i++) {
      clock.ms += 5_000;
      p.update(500 * MiB, undefined);
    }
    expect(p.scale).toBe(1);
    clock.ms += 5_000;
    expect(p.update(500 * MiB, undefined)).toBeUndefined();
  });

  it('does not raise on the low RSS right after a collection when the peak since the last change was high', () => {
    const { p, clock } = pressure();
    p.update(880 * MiB, trim(true));
    clock.ms = 30_000;
    expect(p.update(700 * MiB, { rssBeforeBytes: 870 * MiB, rssAfterBytes: 700 * MiB, durationMs: 300, stillAbove: false })).toBeUndefined();
    expect(p.update(600 * MiB, undefined)).toBeUndefined();
    expect(p.scale).toBe(0.5);
  });

  it('refuses a limit, floor or step out of range', () => {
    expect(() => new MemoryPressure({ limitBytes: 0 })).toThrow(RangeError);
    expect(() => new MemoryPressure({ limitBytes: LIMIT, minScale: 0 })).toThrow(RangeError);
    expect(() => new MemoryPressure({ limitBytes: LIMIT, step: 2 })).toThrow(RangeError);
  });
});
