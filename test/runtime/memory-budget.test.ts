import { getHeapStatistics } from 'node:v8';
import { describe, expect, it } from 'vitest';
import { estimateMemory, MEASURED_COSTS, memoryBudgetWarning, type ItemCosts, type MemoryBounds } from '../../src/runtime/memory-budget.ts';

const MiB = 2 ** 20;
/** Round costs, so that the arithmetic below reads. */
const costs: ItemCosts = {
  inflightRecord: 1000,
  recordValueBytes: 100,
  dedupKey: 200,
  openWindow: 1000,
  distinctValue: 100,
  fraudKey: 400,
  parquetRow: 500,
  base: 50 * MiB,
  inflightRecordOffHeap: 700,
  dedupKeyOffHeap: 20,
};
const small: MemoryBounds = { inflight: { records: 10_000, bytes: 64 * MiB } };

describe('estimateMemory', () => {
  it('adds every bound at its cost, largest first', () => {
    const e = estimateMemory(
      {
        inflight: { records: 100_000, bytes: 64 * MiB },
        dedup: [{ stepId: 'dedup', maxKeys: 1_000_000 }],
        windows: [{ stepId: 'game-minute', maxOpenWindows: 10_000, distinctValues: 3 }],
        fraud: [{ stepId: 'fraud-amount', maxKeys: 100_000 }],
        parquet: [{ sinkId: 'cold-storage', rotationRows: 200_000 }],
      },
      { costs, heapLimitBytes: 512 * MiB },
    );
    // base + 100k records + 1M keys + 10k windows of (1 + 2 extra distinct values) + 100k fraud keys
    expect(e.mainBytes).toBe(50 * MiB + 100_000 * 1000 + 1_000_000 * 200 + 10_000 * 1200 + 100_000 * 400);
    // every in-flight record may be a buffered row
    expect(e.workerBytes).toBe(100_000 * 500);
    expect(e.offHeapBytes).toBe(100_000 * 700 + 1_000_000 * 20);
    expect(e.contributors.map((c) => c.name.split(' (')[0])).toEqual(['dedup step "dedup"', 'in-flight records', 'process base', 'Parquet sink "cold-storage"', 'fraud step "fraud-amount"', 'window step "game-minute"']);
    expect(e.contributors[0]?.heap).toBe('main');
  });

  it('bounds the in-flight records by the byte bound too', () => {
    const e = estimateMemory({ inflight: { records: 100_000, bytes: 1_000_000 } }, { costs });
    // 1 MB of 100 B values: 10,000 records
    expect(e.mainBytes).toBe(50 * MiB + 10_000 * 1000);
  });

  it('caps a Parquet sink with known open files at a row group per file', () => {
    const e = estimateMemory({ inflight: { records: 500_000, bytes: 1e12 }, parquet: [{ sinkId: 'p', rotationRows: 1_000_000, openFiles: 2 }] }, { costs });
    expect(e.workerBytes).toBe(2 * 100_000 * 500);
  });

  it("defaults to this process's heap limit and the measured costs", () => {
    const e = estimateMemory(small);
    expect(e.heapLimitBytes).toBe(getHeapStatistics().heap_size_limit);
    expect(e.mainBytes).toBe(MEASURED_COSTS.base + 10_000 * MEASURED_COSTS.inflightRecord);
  });
});

describe('memoryBudgetWarning', () => {
  it('is quiet when the bounds fit under the threshold', () => {
    expect(memoryBudgetWarning(small, { costs, heapLimitBytes: 256 * MiB })).toBeUndefined();
  });

  it('names the estimate, the limit and the biggest contributors when they do not', () => {
    const warning = memoryBudgetWarning(
      { inflight: { records: 100_000, bytes: 64 * MiB }, dedup: [{ stepId: 'dedup', maxKeys: 1_000_000 }], windows: [{ stepId: 'game-minute', maxOpenWindows: 100 }] },
      { costs, heapLimitBytes: 256 * MiB },
    );
    expect(warning).toContain('main heap ~336 MB');
    expect(warning).toContain('above 80% of the 256 MB heap limit');
    expect(warning).toContain('dedup step "dedup" (maxKeys 1,000,000) ~191 MB');
    expect(warning?.indexOf('dedup step')).toBeLessThan(warning?.indexOf('in-flight records') ?? -1);
  });

  it('warns at the threshold asked for', () => {
    // 50 MiB base + 10 MB records = ~60 MiB of a 100 MiB limit
    expect(memoryBudgetWarning(small, { costs, heapLimitBytes: 100 * MiB, threshold: 0.5 })).toContain('above 50%');
    expect(memoryBudgetWarning(small, { costs, heapLimitBytes: 100 * MiB, threshold: 0.7 })).toBeUndefined();
  });

  it("compares the encoder worker's rows with the limit on their own", () => {
    const warning = memoryBudgetWarning({ inflight: { records: 400_000, bytes: 1e12 }, parquet: [{ sinkId: 'cold-storage', rotationRows: 200_000 }] }, { costs, heapLimitBytes: 256 * MiB });
    // main: 50 MiB + 400 MB > 205 MiB too; worker: 400k rows x 500 B = 191 MiB < 205 MiB
    expect(warning).toContain('main heap');
    expect(warning).not.toContain('worker heap');
    const worker = memoryBudgetWarning({ inflight: { records: 400_000, bytes: 1e12 }, parquet: [{ sinkId: 'cold-storage', rotationRows: 200_000 }] }, { costs: { ...costs, inflightRecord: 1, parquetRow: 1000 }, heapLimitBytes: 256 * MiB });
    expect(worker).toContain('Parquet encoder worker heap ~381 MB');
    expect(worker).not.toContain('main heap');
  });
});
