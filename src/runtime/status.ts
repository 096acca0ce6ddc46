/**
 * The live status of a running topology as one JSON document (`/status.json`), read from the
 * metrics registry: per-step and per-sink counters, lag, records in flight against their bounds,
 * paused partitions, readiness. The status page and the terminal progress line both draw it.
 */
import type { Labels, Metrics } from '../core/metrics.ts';
import type { ReadinessState } from './readiness.ts';

export interface StepStatus {
  readonly in: number;
  readonly out: number;
  readonly deadLetters: number;
  readonly duplicates: number;
  readonly late: number;
  readonly alerts: number;
  /**
   * Sinks: records made durable, retries, records waiting in the buffer; p99 (ms) of a batch handed
   * to the sink (`sink_batch_latency_ms`) and of one request to the destination
   * (`sink_request_latency_ms`: DynamoDB, S3; 0 for sinks that record none).
   */
  readonly written: number;
  readonly retries: number;
  readonly buffered: number;
  readonly batchP99Ms: number;
  readonly requestP99Ms: number;
}

export interface Status {
  readonly time: number;
  readonly uptimeS: number;
  readonly readiness: ReadinessState;
  readonly recordsRead: number;
  readonly consumerLag: number;
  readonly commitLag: number;
  readonly inflight: { readonly records: number; readonly bytes: number; readonly maxRecords: number; readonly maxBytes: number };
  readonly pausedPartitions: number;
  readonly deadLetters: number;
  readonly commits: number;
  /** Keyed by step or sink id (`source` for what was read). */
  readonly steps: Readonly<Record<string, StepStatus>>;
}

export interface StatusSources {
  readonly metrics: Metrics;
  /** `limitRecords`/`limitBytes`: the bounds in force (lowered under memory pressure), else `limits`. */
  readonly inflight: { readonly records: number; readonly bytes: number; readonly limitRecords?: number; readonly limitBytes?: number };
  readonly limits: { readonly maxRecords: number; readonly maxBytes: number };
  readonly readiness: () => ReadinessState;
  readonly startedAt: number;
  readonly now?: () => number;
}

const P99_FIELDS = {
  sink_batch_latency_ms: 'batchP99Ms',
  sink_request_latency_ms: 'requestP99Ms',
} as const;

const FIELDS = {
  records_in_total: 'in',
  records_out_total: 'out',
  dead_letters_total: 'deadLetters',
  duplicates_total: 'duplicates',
  late_events_total: 'late',
  alerts_total: 'alerts',
  sink_records_total: 'written',
  sink_retries_total: 'retries',
  buffer_records: 'buffered',
} as const;

function stepOf(labels: Labels): string | undefined {
  const step = labels.step ?? labels.pattern;
  return step === undefined ? undefined : String(step);
}

/** The status now. */
export function readStatus(sources: StatusSources): Status {
  const { metrics } = sources;
  const now = (sources.now ?? Date.now)();
  const steps: Record<string, Record<keyof StepStatus, number>> = {};
  const entry = (id: string) =>
    (steps[id] ??= { in: 0, out: 0, deadLetters: 0, duplicates: 0, late: 0, alerts: 0, written: 0, retries: 0, buffered: 0, batchP99Ms: 0, requestP99Ms: 0 });
  for (const sample of metrics.snapshot()) {
    const id = stepOf(sample.labels);
    if (id === undefined) continue;
    if (typeof sample.value !== 'number') {
      const field = P99_FIELDS[sample.name as keyof typeof P99_FIELDS];
      if (field !== undefined) entry(id)[field] = Math.max(entry(id)[field], sample.value.p99);
      continue;
    }
    const field = FIELDS[sample.name as keyof typeof FIELDS];
    if (field !== undefined) entry(id)[field] += sample.value;
  }
  return {
    time: now,
    uptimeS: Math.round((now - sources.startedAt) / 1000),
    readiness: sources.readiness(),
    recordsRead: metrics.total('source_records_total'),
    consumerLag: metrics.total('consumer_lag_records'),
    commitLag: metrics.total('commit_lag_records'),
    inflight: { records: sources.inflight.records, bytes: sources.inflight.bytes, maxRecords: sources.inflight.limitRecords ?? sources.limits.maxRecords, maxBytes: sources.inflight.limitBytes ?? sources.limits.maxBytes },
    pausedPartitions: metrics.total('paused_partitions'),
    deadLetters: metrics.total('dead_letters_total'),
    commits: metrics.total('commits_total'),
    steps,
  };
}
