/**
 * The memory model: what the configured bounds can make a process hold, against the V8 heap limit.
 *
 * Each bound holds at most so many items, each item costs about so many bytes of V8 heap (measured by
 * `bench/memory-model.ts`, figures in bench/RESULTS.md "Memory model"). The estimate is the cost of
 * every bound full at once, plus the heap a loaded process holds anyway: a worst case, which steady
 * traffic rarely reaches (dedup fills only up to rate x ttl keys, windows up to the keys they see).
 */
import { getHeapStatistics } from 'node:v8';

/** The bounds, as the validated topology and the runtime options set them. */
export interface MemoryBounds {
  /** The runtime's in-flight bound (`TRIBUTARY_MAX_INFLIGHT_RECORDS` / `_BYTES`). */
  readonly inflight: { readonly records: number; readonly bytes: number };
  /** Each dedup step's in-memory key bound (`maxKeys`). */
  readonly dedup?: readonly { readonly stepId: string; readonly maxKeys: number }[];
  /**
   * Each window step's `maxOpenWindows`; `distinctValues`: the values its `distinct` aggregators
   * hold per window in all, on average (default 1 per distinct aggregator).
   */
  readonly windows?: readonly { readonly stepId: string; readonly maxOpenWindows: number; readonly distinctValues?: number }[];
  /** Each fraud step's `maxKeys` (keys holding pattern state). */
  readonly fraud?: readonly { readonly stepId: string; readonly maxKeys: number }[];
  /**
   * Each Parquet sink's rotation bound (`rotation.rows`); `openFiles`: files open at once at most
   * (default: as many as it takes to buffer every in-flight record).
   */
  readonly parquet?: readonly { readonly sinkId: string; readonly rotationRows: number; readonly openFiles?: number }[];
}

/** Heap bytes per item of each bound. */
export interface ItemCosts {
  /** A record in flight, decoded and flattened, with its envelope, lease and offset bookkeeping. */
  readonly inflightRecord: number;
  /** Value bytes (Kafka) of an average record: the in-flight byte bound divided by it bounds the records too. */
  readonly recordValueBytes: number;
  /** A key in a dedup step's memory (lru-cache entry, event-id key, origin), its `maxKeys` slot included. */
  readonly dedupKey: number;
  /** An open window of a count, a sum and a distinct (one value), with its close-queue entry. */
  readonly openWindow: number;
  /** One more value in a window's `distinct` (exact up to 10,000 values per window). */
  readonly distinctValue: number;
  /** A key of a fraud pattern's state (the amount pattern with one sample; the others hold as much or less). */
  readonly fraudKey: number;
  /** A row buffered in an open Parquet file before its row group is encoded (the encoder worker's heap). */
  readonly parquetRow: number;
  /** The heap a loaded process holds with every bound empty: code, clients, the compiled topology. */
  readonly base: number;
  /** Off the V8 heap, per in-flight record: the Kafka client's fetch buffers its key and value still point into. */
  readonly inflightRecordOffHeap: number;
  /** Off the V8 heap, per dedup key slot: lru-cache's typed arrays (allocated for `maxKeys` up front). */
  readonly dedupKeyOffHeap: number;
}

/**
 * Measured on Node 24.21 (x64), the generated game events (~290 B values): `node_modules/.bin/node
 * bench/memory-model.ts`, the slope of heap after GC between 20k and 100k items held (bench/RESULTS.md
 * "Memory model"), rounded up. `base`: heap in use of the e2e harness's Tributary child before its
 * first records (38-73 MB).
 */
export const MEASURED_COSTS: ItemCosts = Object.freeze({
  inflightRecord: 700,
  recordValueBytes: 290,
  dedupKey: 185,
  openWindow: 1_100,
  distinctValue: 95,
  fraudKey: 440,
  parquetRow: 460,
  base: 64 * 2 ** 20,
  inflightRecordOffHeap: 730,
  dedupKeyOffHeap: 24,
});

/** Rows a Parquet row group buffers before it is encoded (`DEFAULT_ROW_GROUP_ROWS`). */
const ROW_GROUP_ROWS = 100_000;

export interface MemoryContributor {
  /** e.g. `dedup step "dedup" (maxKeys 1,000,000)`. */
  readonly name: string;
  readonly bytes: number;
  /** `main`: the main thread's heap; `worker`: the Parquet encoder worker's heap (a limit of its own). */
  readonly heap: 'main' | 'worker';
}

export interface MemoryEstimate {
  /** Main-thread heap with every bound full. */
  readonly mainBytes: number;
  /** Parquet encoder worker's heap with every buffered row held. */
  readonly workerBytes: number;
  /** Outside both heaps (Kafka fetch buffers, lru-cache arrays): counts in RSS, not against the heap limit. */
  readonly offHeapBytes: number;
  /** The limit each heap is compared with. */
  readonly heapLimitBytes: number;
  /** Largest first. */
  readonly contributors: readonly MemoryContributor[];
}

export interface MemoryBudgetOptions {
  /** Default: this process's `v8.getHeapStatistics().heap_size_limit` (set by `--max-old-space-size`). */
  readonly heapLimitBytes?: number;
  /** Warn above this fraction of the limit. Default 0.8. */
  readonly threshold?: number;
  readonly costs?: ItemCosts;
}

const MiB = 2 ** 20;
const mb = (bytes: number) => `${Math.round(bytes / MiB)} MB`;
const n = (v: number) => v.toLocaleString('en-US');

/**
 * The heap every bound can fill, per contributor, largest first.
 * @example
 * estimateMemory({ inflight: { records: 100_000, bytes: 64 * 2 ** 20 }, dedup: [{ stepId: 'dedup', maxKeys: 1_000_000 }] });
 * @returns main-thread and worker heap estimates, with the limit they are compared with.
 */
export function estimateMemory(bounds: MemoryBounds, options: MemoryBudgetOptions = {}): MemoryEstimate {
  const c = options.costs ?? MEASURED_COSTS;
  const records = Math.min(bounds.inflight.records, Math.ceil(bounds.inflight.bytes / c.recordValueBytes));
  const list: MemoryContributor[] = [
    { name: 'process base (code, clients, topology)', bytes: c.base, heap: 'main' },
    { name: `in-flight records (${n(records)} at most: TRIBUTARY_MAX_INFLIGHT_RECORDS ${n(bounds.inflight.records)}, _BYTES ${mb(bounds.inflight.bytes)})`, bytes: records * c.inflightRecord, heap: 'main' },
  ];
  for (const d of bounds.dedup ?? []) list.push({ name: `dedup step "${d.stepId}" (maxKeys ${n(d.maxKeys)})`, bytes: d.maxKeys * c.dedupKey, heap: 'main' });
  for (const f of bounds.fraud ?? []) list.push({ name: `fraud step "${f.stepId}" (maxKeys ${n(f.maxKeys)})`, bytes: f.maxKeys * c.fraudKey, heap: 'main' });
  for (const w of bounds.windows ?? []) {
    const extra = Math.max(0, (w.distinctValues ?? 1) - 1) * c.distinctValue;
    list.push({ name: `window step "${w.stepId}" (maxOpenWindows ${n(w.maxOpenWindows)})`, bytes: w.maxOpenWindows * (c.openWindow + extra), heap: 'main' });
  }
  for (const p of bounds.parquet ?? []) {
    // A buffered row is an in-flight record; a file encodes its rows a row group at a time.
    const perFile = Math.min(p.rotationRows, ROW_GROUP_ROWS);
    const rows = Math.min(records, p.openFiles === undefined ? records : p.openFiles * perFile);
    list.push({ name: `Parquet sink "${p.sinkId}" (${n(rows)} buffered rows at most, rotation.rows ${n(p.rotationRows)})`, bytes: rows * c.parquetRow, heap: 'worker' });
  }
  list.sort((a, b) => b.bytes - a.bytes);
  const sum = (heap: 'main' | 'worker') => list.filter((x) => x.heap === heap).reduce((s, x) => s + x.bytes, 0);
  const offHeapBytes = records * c.inflightRecordOffHeap + (bounds.dedup ?? []).reduce((s, d) => s + d.maxKeys * c.dedupKeyOffHeap, 0);
  return { mainBytes: sum('main'), workerBytes: sum('worker'), offHeapBytes, heapLimitBytes: options.heapLimitBytes ?? getHeapStatistics().heap_size_limit, contributors: list };
}

/**
 * A warning for `tributary run` to log at start when the bounds, all full, would need more than
 * `threshold` of the heap limit (main thread or encoder worker); `undefined` when they fit.
 * @example
 * const warning = memoryBudgetWarning(bounds);
 * if (warning !== undefined) logger.warn(warning);
 * @param bounds the effective bounds (see {@link MemoryBounds})
 * @returns one paragraph naming the estimate, the limit and the biggest contributors, or undefined
 */
export function memoryBudgetWarning(bounds: MemoryBounds, options: MemoryBudgetOptions = {}): string | undefined {
  const e = estimateMemory(bounds, options);
  const budget = e.heapLimitBytes * (options.threshold ?? 0.8);
  const over = (['main', 'worker'] as const).filter((heap) => (heap === 'main' ? e.mainBytes : e.workerBytes) > budget);
  if (over.length === 0) return undefined;
  const top = e.contributors.filter((x) => over.includes(x.heap)).slice(0, 4);
  const where = over.map((heap) => (heap === 'main' ? `main heap ~${mb(e.mainBytes)}` : `Parquet encoder worker heap ~${mb(e.workerBytes)}`)).join(', ');
  return (
    `memory bounds may not fit the heap: with every bound full, ${where}, above ${Math.round((options.threshold ?? 0.8) * 100)}% of the ` +
    `${mb(e.heapLimitBytes)} heap limit (--max-old-space-size). Biggest: ${top.map((x) => `${x.name} ~${mb(x.bytes)}`).join('; ')}. ` +
    `Lower these bounds or raise the heap limit and the task's memory (README "Memory model").`
  );
}
