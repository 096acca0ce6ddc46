import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { Logger } from '../../src/core/logger.ts';
import { Metrics } from '../../src/core/metrics.ts';
import { InflightGate } from '../../src/runtime/inflight.ts';
import { MemoryGuard, memoryLimitOf, watchMemory } from '../../src/runtime/memory-guard.ts';
import { MemoryPressure } from '../../src/runtime/memory-pressure.ts';

const MiB = 2 ** 20;

/** A guard over a settable RSS and clock; `collections` counts the collections it ran. */
function fakeGuard(rssMb: { value: number }, afterMb?: number) {
  const clock = { ms: 0 };
  const state = { collections: 0 };
  const guard = new MemoryGuard({
    limitBytes: 1000 * MiB,
    minIntervalMs: 10_000,
    rss: () => rssMb.value * MiB,
    collect: async () => {
      state.collections++;
      if (afterMb !== undefined) rssMb.value = afterMb;
    },
    now: () => clock.ms,
  });
  return { guard, clock, state };
}

describe('MemoryGuard', () => {
  it('collects only above 85% of the limit, and at most once per interval', async () => {
    const rss = { value: 800 };
    const { guard, clock, state } = fakeGuard(rss);
    expect(await guard.check()).toBeUndefined();
    rss.value = 900;
    expect(await guard.check()).toMatchObject({ rssBeforeBytes: 900 * MiB, stillAbove: true });
    clock.ms = 9_999;
    expect(await guard.check()).toBeUndefined();
    clock.ms = 10_000;
    expect(await guard.check()).toBeDefined();
    expect(state.collections).toBe(2);
  });

  it('collects after only 2 s above 90% of the limit', async () => {
    const rss = { value: 900 };
    const { guard, clock, state } = fakeGuard(rss);
    await guard.check();
    clock.ms = 2_000;
    expect(await guard.check()).toBeUndefined();
    rss.value = 910;
    clock.ms = 1_999;
    expect(await guard.check()).toBeUndefined();
    clock.ms = 2_000;
    expect(await guard.check()).toBeDefined();
    expect(state.collections).toBe(2);
  });

  it('reports whether the collection brought RSS under the threshold', async () => {
    const rss = { value: 900 };
    const { guard } = fakeGuard(rss, 600);
    expect(await guard.check()).toMatchObject({ rssBeforeBytes: 900 * MiB, rssAfterBytes: 600 * MiB, stillAbove: false });
  });

  it('runs one collection at a time', async () => {
    let finish = () => {};
    let collections = 0;
    const guard = new MemoryGuard({ limitBytes: 100, rss: () => 1000, collect: () => new Promise<void>((resolve) => ((collections++), (finish = resolve))) });
    const first = guard.check();
    expect(await guard.check()).toBeUndefined();
    finish();
    expect(await first).toBeDefined();
    expect(collections).toBe(1);
  });

  it('refuses a limit that is not positive', () => {
    expect(() => new MemoryGuard({ limitBytes: 0, collect: async () => {} })).toThrow(RangeError);
  });

  it('returns the pooled heap pages of a real process to the OS', () => {
    // In a child of its own: a heap that grew to ~300 MB and was dropped keeps its pages resident
    // after an ordinary collection; the guard's collection gives them back.
    const guardModule = fileURLToPath(new URL('../../src/runtime/memory-guard.ts', import.meta.url));
    const script = `
      import { memoryReducingCollection } from ${JSON.stringify(guardModule)};
      const collect = memoryReducingCollection();
      let ring = [];
      for (let r = 0; r < 20; r++) { const a = []; for (let i = 0; i < 200000; i++) a.push({ i, s: 'x' + i, o: { y: i } }); ring.push(a); if (ring.length > 8) ring.shift(); }
      ring = [];
      const before = process.memoryUsage.rss();
      await collect();
      console.log(JSON.stringify({ before, after: process.memoryUsage.rss() }));`;
    const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
    expect(child.stderr).toBe('');
    const { before, after } = JSON.parse(child.stdout) as { before: number; after: number };
    expect(before - after).toBeGreaterThan(100 * MiB);
  });
});

describe('memoryLimitOf', () => {
  const total = 16 * 1024 * MiB;
  it('takes TRIBUTARY_MEMORY_LIMIT_MB first, off turns the guard off', () => {
    expect(memoryLimitOf({ TRIBUTARY_MEMORY_LIMIT_MB: '512' }, 1024 * MiB, total)).toBe(512 * MiB);
    expect(memoryLimitOf({ TRIBUTARY_MEMORY_LIMIT_MB: 'OFF' }, 1024 * MiB, total)).toBeUndefined();
  });
  it("else the container's hard limit, none without one", () => {
    expect(memoryLimitOf({}, 1024 * MiB, total)).toBe(1024 * MiB);
    expect(memoryLimitOf({}, 2 ** 64, total)).toBeUndefined();
    expect(memoryLimitOf({}, 0, total)).toBeUndefined();
  });
});

describe('watchMemory', () => {
  it('counts each collection by outcome and warns once while RSS stays above the threshold', async () => {
    const metrics = new Metrics();
    const warnings: string[] = [];
    const logger = { debug: () => {}, warn: (_fields: object, message: string) => void warnings.push(message) } as unknown as Logger;
    const rss = { value: 900 };
    const guard = new MemoryGuard({ limitBytes: 1000 * MiB, minIntervalMs: 0, rss: () => rss.value * MiB, collect: async () => {} });
    const timer = watchMemory(guard, { logger, metrics }, 5);
    await new Promise((resolve) => setTimeout(resolve, 60));
    rss.value = 500;
    const stillAbove = metrics.value('memory_collections_total', { outcome: 'still_above' }) ?? 0;
    await new Promise((resolve) => setTimeout(resolve, 30));
    clearInterval(timer);
    expect(stillAbove).toBeGreaterThan(1);
    expect(warnings).toHaveLength(1);
    expect(metrics.value('memory_collections_total', { outcome: 'released' }) ?? 0).toBe(0);
  });

  it('lowers the in-flight bound while live memory stays high, pausing the source, and restores it once memory is low', async () => {
    const metrics = new Metrics();
    const messages: string[] = [];
    const log = (_fields: object, message: string) => void messages.push(message);
    const logger = { debug: () => {}, info: log, warn: log } as unknown as Logger;
    const rss = { value: 900 };
    const guard = new MemoryGuard({ limitBytes: 1000 * MiB, minIntervalMs: 0, rss: () => rss.value * MiB, collect: async () => {} });
    const events: string[] = [];
    const gate = new InflightGate({ maxInflightRecords: 1000 }, { onClose: (reason) => events.push(`close:${reason}`), onOpen: () => events.push('open') });
    for (let i = 0; i < 600; i++) gate.add(1);
    const pressure = new MemoryPressure({ limitBytes: 1000 * MiB, quietMs: 0, raiseEveryMs: 0 });
    const timer = watchMemory(guard, { logger, metrics, gate, pressure }, 5);
    const until = async (done: () => boolean) => {
      for (let i = 0; i < 200 && !done(); i++) await new Promise((resolve) => setTimeout(resolve, 5));
    };
    await until(() => gate.scale === 1 / 16);
    expect(gate.limitRecords).toBe(62);
    expect(events[0]).toBe('close:memory');
    expect(metrics.value('inflight_limit_records', {})).toBe(62);
    expect(metrics.value('memory_pressure_total', { action: 'lowered' })).toBe(4);
    rss.value = 500;
    gate.remove(600, 600);
    await until(() => gate.scale === 1);
    clearInterval(timer);
    expect(gate.scale).toBe(1);
    expect(gate.closed).toBe(false);
    expect(metrics.value('memory_pressure_total', { action: 'raised' })).toBe(8);
    expect(messages.filter((m) => m.startsWith('memory pressure: in-flight bound lowered'))).toHaveLength(1);
    expect(messages).toContain('memory pressure gone: in-flight bound back to its configured value');
  });
});
