/** Runs one Tributary variant in a child process against produced input topics. */
import { spawn } from 'node:child_process';
import { mkdirSync, openSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { connectionsFromEnv } from '../../src/config.ts';
import type { MetricSample } from '../../src/core/metrics.ts';
import { loadTopologyFile } from '../../src/topology/load.ts';
import { provisionTopology } from '../../src/topology/provision.ts';
import type { ChildConfig } from './tributary-child.ts';
import { IMAGE_NODE_FLAGS, imageMallocEnv } from './image-env.ts';
import type { Sample } from './sampler.ts';

const CHILD = fileURLToPath(new URL('./tributary-child.ts', import.meta.url));

/**
 * `BENCH_CHILD_LOGS=<dir>`: each Tributary child logs at `info` (pauses, resumes, checkpoints) to
 * `<dir>/<variant>.log` instead of warnings to nowhere.
 */
const CHILD_LOGS = process.env.BENCH_CHILD_LOGS;

/**
 * V8 flags of the Tributary child: the Dockerfile's `NODE_OPTIONS` (a young generation of 8 MB
 * semi-spaces; V8's default on this machine let RSS grow ~35% higher for the same throughput).
 * `BENCH_NODE_FLAGS` replaces them (space-separated). The child also gets the image's `MALLOC_*`
 * settings, unless the harness's environment sets them or `BENCH_MALLOC=off` (glibc's defaults).
 */
export const CHILD_NODE_FLAGS = process.env.BENCH_NODE_FLAGS === undefined ? IMAGE_NODE_FLAGS : process.env.BENCH_NODE_FLAGS.split(' ').filter(Boolean);

export interface TributaryRun {
  name: string;
  yaml: string;
  /** Names of this run's outputs. */
  names: { topicPrefix: string; tablePrefix: string; bucket: string; group: string };
  ok: boolean;
  error?: string;
  events: number;
  seconds: number;
  eventsPerSec: number;
  readSeconds: number;
  startupSeconds?: number;
  progress: { end: number; committed: number; caughtUp: boolean };
  resources: { rssPeakMb: number; rssSteadyMb: number; heapUsedPeakMb?: number; heapTotalSteadyMb?: number; externalSteadyMb?: number; workerHeapTotalSteadyMb?: number; cpuPeakPct: number; cpuSteadyPct: number; samples: number };
  latency?: Percentiles;
  /** With `latency`: per sink, produce header to that sink's acknowledgement; `hot` pools the hot sinks. */
  sinkLatency?: { hot: Percentiles; bySink: Record<string, Percentiles> };
  /** Offered load of a live run, events/s. */
  rate?: number;
  stall?: { startedAtMs: number; endedAtMs: number; rssPeakMb: number; rssSteadyMb: number; heapUsedPeakMb?: number };
  metrics: MetricSample[];
  samples: Sample[];
  cpuProfileDir?: string;
}

export interface Percentiles {
  count: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
  /** The same over the records produced after the warm-up (`WARM_UP_MS` in lease-latency.ts). */
  steady?: Omit<Percentiles, 'steady' | 'settled'>;
  /** The same over the records produced after the start-up backlog drained (`SETTLED_MS`). */
  settled?: Omit<Percentiles, 'steady' | 'settled'>;
}

export interface RunTributaryOptions {
  name: string;
  yaml: string;
  runId: string;
  inputPrefix: string;
  inputTopics: string[];
  expected: number;
  holdBack?: Record<string, number>;
  outDir: string;
  latency?: boolean;
  hotSinks?: string[];
  stall?: { sink: string; ms: number };
  cpuProf?: boolean;
  /** Called once the child is running (start producing here for a live run). */
  onStarted?: () => void;
}

/** Provisions the variant's outputs under fresh names, runs the child, returns its result. */
export async function runTributary(o: RunTributaryOptions): Promise<TributaryRun> {
  const tag = `e2e-${o.runId}-${o.name}`;
  const names = { topicPrefix: `${tag}-`, tablePrefix: `${tag.replaceAll('-', '_')}_`, bucket: tag, group: tag };
  const env = {
    INPUT_PREFIX: o.inputPrefix,
    TOPIC_PREFIX: names.topicPrefix,
    TABLE_PREFIX: names.tablePrefix,
    EVENTS_BUCKET: names.bucket,
    CONSUMER_GROUP: names.group,
    ...(process.env.BENCH_WINDOW_IDLE_TIMEOUT ? { WINDOW_IDLE_TIMEOUT: process.env.BENCH_WINDOW_IDLE_TIMEOUT } : {}),
    TRIBUTARY_COMMIT_INTERVAL_MS: '1000',
    // Parquet files land on rotation, and offsets follow them: "done" must not wait 5 minutes for the
    // last files. 5 s files (BENCH_PARQUET_ROTATION to change) keep the measured tail short.
    PARQUET_ROTATION_INTERVAL: process.env.BENCH_PARQUET_ROTATION ?? '5s',
    LOG_LEVEL: CHILD_LOGS === undefined ? 'warn' : 'info',
  };
  const topology = await loadTopologyFile(o.yaml, { env: { ...process.env, ...env } });
  await provisionTopology(topology, connectionsFromEnv({ ...process.env, ...env }));
  const out = `${o.outDir}/${o.name}.child.json`;
  const config: ChildConfig = { yaml: o.yaml, env, expected: o.expected, inputTopics: o.inputTopics, group: names.group, out, ...(o.holdBack ? { holdBack: o.holdBack } : {}), ...(o.latency ? { latency: true, hotSinks: o.hotSinks ?? [] } : {}), ...(o.stall ? { stall: o.stall } : {}) };
  const profDir = `${o.outDir}/prof-${o.name}`;
  const args = [...CHILD_NODE_FLAGS, ...(o.cpuProf ? ['--cpu-prof', `--cpu-prof-dir=${profDir}`] : []), CHILD, JSON.stringify(config)];
  await new Promise<void>((resolve, reject) => {
    if (CHILD_LOGS !== undefined) mkdirSync(CHILD_LOGS, { recursive: true });
    const stdout = CHILD_LOGS === undefined ? 'ignore' : openSync(`${CHILD_LOGS}/${o.name}.log`, 'w');
    const wrap = process.env.BENCH_CHILD_WRAP?.split(' ').filter(Boolean) ?? [];
    const child = spawn(wrap[0] ?? process.execPath, wrap.length > 0 ? [...wrap.slice(1), process.execPath, ...args] : args, { stdio: ['ignore', stdout, 'inherit'], env: { ...process.env, ...imageMallocEnv() } });
    child.on('error', reject);
    child.on('spawn', () => o.onStarted?.());
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`tributary child ${o.name} exited with ${code}`))));
  });
  const result = JSON.parse(readFileSync(out, 'utf8')) as Omit<TributaryRun, 'name' | 'yaml' | 'names'>;
  // JSON turns NaN (no end time) into null.
  for (const key of ['seconds', 'eventsPerSec', 'readSeconds'] as const) result[key] ??= Number.NaN;
  return { name: o.name, yaml: o.yaml, names, ...result, ...(o.cpuProf ? { cpuProfileDir: profDir } : {}) };
}

/** Sum of a metric's counters, optionally filtered by a label value. */
export function metricSum(metrics: readonly MetricSample[], name: string, label?: [string, string]): number {
  let sum = 0;
  for (const m of metrics) {
    if (m.name !== name || typeof m.value !== 'number') continue;
    if (label !== undefined && m.labels[label[0]] !== label[1]) continue;
    sum += m.value;
  }
  return sum;
}
