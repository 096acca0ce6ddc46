/**
 * The one place where metrics are declared and kept. Every metric name Tributary emits is in
 * `METRICS` with its kind and meaning; a step labels its series with `{ step: id }`.
 */
export const METRICS = {
  records_in_total: { kind: 'counter', help: 'Records a step received' },
  records_out_total: { kind: 'counter', help: 'Records a step emitted' },
  source_records_total: { kind: 'counter', help: 'Records read from Kafka, per topic' },
  source_bytes_total: { kind: 'counter', help: 'Value bytes read from Kafka' },
  inflight_records: { kind: 'gauge', help: 'Records read and not yet done (bounded)' },
  inflight_bytes: { kind: 'gauge', help: 'Bytes of records read and not yet done (bounded)' },
  buffer_records: { kind: 'gauge', help: 'Records waiting in a sink buffer' },
  paused_partitions: { kind: 'gauge', help: 'Partitions paused by backpressure' },
  pauses_total: { kind: 'counter', help: 'Times the source paused for backpressure' },
  commits_total: { kind: 'counter', help: 'Offset commits' },
  commit_lag_records: { kind: 'gauge', help: 'Records read but not yet committed' },
  consumer_lag_records: { kind: 'gauge', help: 'High watermark minus committed offset, summed' },
  partition_lag_records: { kind: 'gauge', help: 'High watermark minus committed offset, per owned partition' },
  committed_offset: { kind: 'gauge', help: 'Last committed offset, per owned partition' },
  dead_letters_total: { kind: 'counter', help: 'Records sent to dead letters, per step and error code' },
  late_events_total: { kind: 'counter', help: 'Events later than a window grace, per step' },
  duplicates_total: { kind: 'counter', help: 'Duplicates removed, per step' },
  state_limit_total: { kind: 'counter', help: 'Records refused because a state bound was hit' },
  open_windows: { kind: 'gauge', help: 'Windows open in a step' },
  alerts_total: { kind: 'counter', help: 'Fraud alerts, per pattern' },
  sink_records_total: { kind: 'counter', help: 'Records a sink made durable' },
  sink_retries_total: { kind: 'counter', help: 'Sink retries (unprocessed items, throttling, failed uploads)' },
  sink_batches_total: { kind: 'counter', help: 'Batches the runner handed a sink, per step and outcome: written (first try), retried (written after overload retries), failed' },
  sink_batch_latency_ms: { kind: 'histogram', help: 'One batch handed to a sink until it returned, retries inside the sink included (a buffering sink: the time to buffer it)' },
  sink_request_latency_ms: { kind: 'histogram', help: 'One request to the destination: a DynamoDB request, one try of an S3 upload' },
  sink_uploads_total: { kind: 'counter', help: 'S3 uploads per step and outcome: uploaded, revoked (partition lost; its next owner writes it), failed; aborted counts tries a rebalance aborted (sent again if the partition stays)' },
  sink_files_total: { kind: 'counter', help: 'Files a sink uploaded' },
  state_changelog_records_total: { kind: 'counter', help: 'State records written to changelog topics' },
  state_changelog_bytes_total: { kind: 'counter', help: 'State bytes written to changelog topics' },
  state_restored_records_total: { kind: 'counter', help: 'Changelog records read to restore state' },
  state_replayed_skipped_total: { kind: 'counter', help: 'Replayed records a stateful step had already applied, per step' },
  ready: { kind: 'gauge', help: 'Whether the process is ready: started, and every dependency answers (1) or not (0)' },
  dependency_available: { kind: 'gauge', help: 'Whether a dependency (kafka, s3, dynamodb) answers (1) or is in an outage (0)' },
  dependency_failures_total: { kind: 'counter', help: 'Calls to a dependency that failed and were retried, per dependency' },
  inflight_limit_records: { kind: 'gauge', help: 'The in-flight record bound in force: the configured one, lowered under memory pressure' },
  memory_pressure_total: { kind: 'counter', help: 'Changes of the in-flight bound under memory pressure, per action: lowered (RSS still above 85% of the memory limit after a memory-reducing collection: live memory), raised (RSS below 75%)' },
  memory_collections_total: { kind: 'counter', help: 'Memory-reducing collections the memory guard ran (RSS above 85% of TRIBUTARY_MEMORY_LIMIT_MB), per outcome: released, still_above' },
  revoked_records_total: { kind: 'counter', help: 'Records of partitions revoked from this member that a sink let go unwritten (their next owner writes them), per step' },
} as const;

export type MetricName = keyof typeof METRICS;
export type Labels = Readonly<Record<string, string | number>>;

/** Upper bounds (ms) of the histogram buckets: fixed, so bucket counts from many tasks can be summed. */
export const HISTOGRAM_BOUNDS_MS = [1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10_000, 30_000, 60_000] as const;

export interface HistogramSnapshot {
  /** Observations at or below each of `HISTOGRAM_BOUNDS_MS` (cumulative, as Prometheus counts them). */
  buckets: number[];
  count: number;
  sum: number;
  min: number;
  max: number;
  p50: number;
  p95: number;
  p99: number;
}

export interface MetricSample {
  name: MetricName;
  labels: Labels;
  value: number | HistogramSnapshot;
}

const RESERVOIR = 1024;

class Histogram {
  count = 0;
  sum = 0;
  min = Infinity;
  max = -Infinity;
  readonly samples: number[] = [];
  readonly #buckets = new Array<number>(HISTOGRAM_BOUNDS_MS.length).fill(0);

  observe(value: number): void {
    this.count += 1;
    const bucket = HISTOGRAM_BOUNDS_MS.findIndex((bound) => value <= bound);
    if (bucket >= 0) this.#buckets[bucket] = (this.#buckets[bucket] as number) + 1;
    this.sum += value;
    if (value < this.min) this.min = value;
    if (value > this.max) this.max = value;
    // Reservoir sampling keeps the percentiles honest in constant memory.
    if (this.samples.length < RESERVOIR) this.samples.push(value);
    else {
      const slot = Math.floor(Math.random() * this.count);
      if (slot < RESERVOIR) this.samples[slot] = value;
    }
  }

  snapshot(): HistogramSnapshot {
    const sorted = [...this.samples].sort((a, b) => a - b);
    const at = (q: number) => (sorted.length === 0 ? 0 : (sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] as number));
    let cumulative = 0;
    return {
      buckets: this.#buckets.map((n) => (cumulative += n)),
      count: this.count,
      sum: this.sum,
      min: this.count === 0 ? 0 : this.min,
      max: this.count === 0 ? 0 : this.max,
      p50: at(0.5),
      p95: at(0.95),
      p99: at(0.99),
    };
  }
}

/** A counter's series (`Metrics.counter`). */
export interface Counter {
  inc(by?: number): void;
}

interface Series {
  name: MetricName;
  labels: Labels;
  value: number;
  histogram?: Histogram;
}

/** A registry of counters, gauges and histograms; `snapshot()` is what an endpoint would expose. */
export class Metrics {
  readonly #series = new Map<string, Series>();
  /** Hot paths pass the same labels object every time: find its series without building a key. */
  readonly #byLabels = new WeakMap<Labels, Map<MetricName, Series>>();

  #get(name: MetricName, labels: Labels): Series {
    let byName = this.#byLabels.get(labels);
    const cached = byName?.get(name);
    if (cached !== undefined) return cached;
    const key = seriesKey(name, labels);
    let series = this.#series.get(key);
    if (series === undefined) {
      series = { name, labels, value: 0 };
      if (METRICS[name].kind === 'histogram') series.histogram = new Histogram();
      this.#series.set(key, series);
    }
    if (byName === undefined) this.#byLabels.set(labels, (byName = new Map()));
    byName.set(name, series);
    return series;
  }

  /**
   * A counter's series, to add to per record without looking it up each time. For series that live
   * as long as the registry (`remove` leaves a handle counting into a series nobody reads).
   */
  counter(name: MetricName, labels: Labels): Counter {
    const series = this.#get(name, labels);
    return {
      inc(by = 1) {
        series.value += by;
      },
    };
  }

  /** Adds `by` (default 1) to a counter. */
  inc(name: MetricName, labels: Labels = {}, by = 1): void {
    this.#get(name, labels).value += by;
  }

  set(name: MetricName, labels: Labels, value: number): void {
    this.#get(name, labels).value = value;
  }

  observe(name: MetricName, labels: Labels, value: number): void {
    this.#get(name, labels).histogram?.observe(value);
  }

  /** Forgets a series (a partition this member no longer owns). */
  remove(name: MetricName, labels: Labels): void {
    this.#series.delete(seriesKey(name, labels));
  }

  /** The current value of a counter or gauge (0 if never touched). */
  value(name: MetricName, labels: Labels = {}): number {
    return this.#series.get(seriesKey(name, labels))?.value ?? 0;
  }

  /** Sum of a counter or gauge over all label sets. */
  total(name: MetricName): number {
    let sum = 0;
    for (const series of this.#series.values()) if (series.name === name) sum += series.value;
    return sum;
  }

  snapshot(): MetricSample[] {
    return [...this.#series.values()].map((s) => ({
      name: s.name,
      labels: s.labels,
      value: s.histogram ? s.histogram.snapshot() : s.value,
    }));
  }
}

function seriesKey(name: string, labels: Labels): string {
  const keys = Object.keys(labels);
  if (keys.length === 0) return name;
  keys.sort();
  return `${name}{${keys.map((k) => `${k}=${labels[k]}`).join(',')}}`;
}
