import { encoderHeaps } from '../../src/sinks/parquet/worker-writer.ts';

/** RSS and CPU of this process, sampled every `periodMs`. */
export interface Sample {
  /** ms since the sampler started. */
  t: number;
  rssMb: number;
  /** V8 heap in use (live and not yet collected), main thread only. */
  heapUsedMb?: number;
  /** V8 heap reserved by the main thread (what of the heap counts in RSS at most). */
  heapTotalMb?: number;
  /** Off the main heap: Buffers and ArrayBuffers (`external`, which includes `arrayBuffers`). */
  externalMb?: number;
  /** The Parquet encoder workers' V8 heaps, reserved (the latest reading, taken asynchronously). */
  workerHeapTotalMb?: number;
  /** CPU time over the last period as a share of one core, in %. */
  cpuPct: number;
}

export function startSampler(periodMs = 500) {
  const samples: Sample[] = [];
  let workerHeapTotalMb = 0;
  const t0 = performance.now();
  let lastT = t0;
  let lastCpu = process.cpuUsage();
  const timer = setInterval(() => {
    const now = performance.now();
    const cpu = process.cpuUsage();
    const usedUs = cpu.user - lastCpu.user + (cpu.system - lastCpu.system);
    const memory = process.memoryUsage();
    samples.push({ t: Math.round(now - t0), rssMb: Math.round(memory.rss / 1048576), heapUsedMb: Math.round(memory.heapUsed / 1048576), heapTotalMb: Math.round(memory.heapTotal / 1048576), externalMb: Math.round(memory.external / 1048576), workerHeapTotalMb, cpuPct: Math.round((usedUs / 1000 / (now - lastT)) * 1000) / 10 });
    lastT = now;
    lastCpu = cpu;
    void encoderHeaps().then((heaps) => (workerHeapTotalMb = Math.round(heaps.totalBytes / 1048576)));
  }, periodMs);
  return { samples, t0, stop: () => clearInterval(timer) };
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? Number.NaN : (s[Math.floor(s.length / 2)] as number);
};

/** Peak and steady (median of the second half) RSS and CPU, and the peak V8 heap in use, over samples in [fromMs, toMs]. */
export function summarize(samples: readonly Sample[], fromMs = 0, toMs = Infinity) {
  const within = samples.filter((s) => s.t >= fromMs && s.t <= toMs);
  const half = within.slice(Math.floor(within.length / 2));
  return {
    samples: within.length,
    rssPeakMb: Math.max(...within.map((s) => s.rssMb)),
    rssSteadyMb: median(half.map((s) => s.rssMb)),
    heapUsedPeakMb: Math.max(...within.map((s) => s.heapUsedMb ?? 0)),
    heapTotalSteadyMb: median(half.map((s) => s.heapTotalMb ?? Number.NaN)),
    externalSteadyMb: median(half.map((s) => s.externalMb ?? Number.NaN)),
    workerHeapTotalSteadyMb: median(half.map((s) => s.workerHeapTotalMb ?? Number.NaN)),
    cpuPeakPct: Math.max(...within.map((s) => s.cpuPct)),
    cpuSteadyPct: median(half.map((s) => s.cpuPct)),
  };
}
