import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { memoryBoundsOf, topologyMemoryWarning } from '../../src/topology/memory.ts';
import { validateTopology } from '../../src/topology/validate.ts';

const topology = validateTopology(parse(readFileSync('topologies/game-events.yaml', 'utf8')), { env: {} });
const MiB = 2 ** 20;

describe('the memory bounds of a topology', () => {
  it('names every bound of the default topology: in flight, dedup, the four fraud steps, the window, the Parquet sink', () => {
    const bounds = memoryBoundsOf(topology, { maxInflightRecords: 20_000 });
    expect(bounds.inflight.records).toBe(20_000);
    expect(bounds.dedup?.map((d) => d.maxKeys)).toEqual([250_000]);
    expect(bounds.fraud).toHaveLength(4);
    expect(bounds.windows?.map((w) => w.stepId)).toEqual(['game-minute']);
    expect(bounds.parquet?.map((p) => p.sinkId)).toEqual(['cold-storage']);
  });

  it('warns at start when the bounds cannot fit the heap limit, naming the biggest, and not when they fit', () => {
    const warning = topologyMemoryWarning(topology, {}, { heapLimitBytes: 256 * MiB });
    expect(warning).toMatch(/above 80% of the 256 MB heap limit/);
    expect(warning).toMatch(/Biggest: in-flight records \(100,000 at most.*dedup step "dedup" \(maxKeys 250,000\)/);
    // The default bounds fit a 320 MB heap (README, "Memory").
    expect(topologyMemoryWarning(topology, {}, { heapLimitBytes: 320 * MiB })).toBeUndefined();
  });
});
