/** The bounds a topology and the runtime's limits set, as the memory model (`runtime/memory-budget.ts`) takes them. */
import { DEFAULT_LIMITS } from '../runtime/inflight.ts';
import { memoryBudgetWarning, type MemoryBounds, type MemoryBudgetOptions } from '../runtime/memory-budget.ts';
import type { ValidTopology } from './types.ts';

/** Every bound that holds memory: in flight, each dedup, fraud and window step, each Parquet sink. */
export function memoryBoundsOf(topology: ValidTopology, limits: { maxInflightRecords?: number; maxInflightBytes?: number } = {}): MemoryBounds {
  const steps = topology.steps;
  return {
    inflight: { records: limits.maxInflightRecords ?? DEFAULT_LIMITS.maxInflightRecords, bytes: limits.maxInflightBytes ?? DEFAULT_LIMITS.maxInflightBytes },
    dedup: steps.flatMap((s) => (s.kind === 'dedup' ? [{ stepId: s.id, maxKeys: s.maxKeys }] : [])),
    fraud: steps.flatMap((s) => (s.kind === 'fraud' ? [{ stepId: s.id, maxKeys: s.maxKeys }] : [])),
    windows: steps.flatMap((s) => (s.kind === 'window' ? [{ stepId: s.id, maxOpenWindows: s.maxOpenWindows, distinctValues: s.aggregate.filter((a) => a.fn === 'distinct').length || 1 }] : [])),
    parquet: topology.sinks.flatMap((s) => (s.kind === 's3-parquet' ? [{ sinkId: s.id, rotationRows: s.rotation.rows }] : [])),
  };
}

/** The start-up warning of `tributary run` when the topology's bounds, all full, would not fit the heap. */
export function topologyMemoryWarning(topology: ValidTopology, limits: { maxInflightRecords?: number; maxInflightBytes?: number } = {}, options: MemoryBudgetOptions = {}): string | undefined {
  return memoryBudgetWarning(memoryBoundsOf(topology, limits), options);
}
