/**
 * `/metrics` in the Prometheus text format: every series of the runtime's `Metrics` registry (named
 * `tributary_<name>`, labels as recorded) plus the process metrics of `prom-client` (event-loop lag,
 * GC, heap, CPU, RSS). Latencies are bucketed histograms in seconds, so the series of many tasks sum.
 *
 * @example
 * ```ts
 * const exposition = createPrometheusExposition(runtime.metrics);
 * response.setHeader('content-type', exposition.contentType);
 * response.end(await exposition.text());
 * ```
 */
import { collectDefaultMetrics, Registry, type Metric } from 'prom-client';
import { HISTOGRAM_BOUNDS_MS, METRICS, type HistogramSnapshot, type MetricName, type Metrics } from '../core/metrics.ts';

export const PROMETHEUS_PREFIX = 'tributary_';

interface Value {
  readonly value: number;
  readonly labels: Record<string, string | number>;
  readonly metricName?: string;
}

/** The Prometheus name of a registry series: `sink_batch_latency_ms` becomes `tributary_sink_batch_latency_seconds`. */
export function prometheusName(name: MetricName): string {
  return PROMETHEUS_PREFIX + (METRICS[name].kind === 'histogram' ? name.replace(/_ms$/, '_seconds') : name);
}

function histogramValues(base: string, labels: Record<string, string | number>, h: HistogramSnapshot): Value[] {
  const values: Value[] = HISTOGRAM_BOUNDS_MS.map((bound, i) => ({ metricName: `${base}_bucket`, labels: { ...labels, le: bound / 1000 }, value: h.buckets[i] ?? 0 }));
  values.push({ metricName: `${base}_bucket`, labels: { ...labels, le: '+Inf' }, value: h.count });
  values.push({ metricName: `${base}_sum`, labels, value: h.sum / 1000 }, { metricName: `${base}_count`, labels, value: h.count });
  return values;
}

/**
 * One registry metric read at scrape time. The registry's label sets are open (a sink adds
 * `outcome`, a step its id), which prom-client's own metric classes cannot declare up front, so this
 * implements the small `get()` contract its registry formats.
 */
function bridged(metrics: Metrics, name: MetricName): Metric {
  const { kind, help } = METRICS[name];
  const promName = prometheusName(name);
  return {
    name: promName,
    help,
    type: kind,
    aggregator: 'sum',
    get: async () => ({
      name: promName,
      help,
      type: kind,
      aggregator: 'sum',
      values: metrics
        .snapshot()
        .filter((s) => s.name === name)
        .flatMap((s): Value[] => (typeof s.value === 'number' ? [{ labels: { ...s.labels }, value: s.value }] : histogramValues(promName, { ...s.labels }, s.value))),
    }),
  } as unknown as Metric;
}

export interface PrometheusExposition {
  readonly registry: Registry;
  readonly contentType: string;
  text(): Promise<string>;
}

/** A prom-client registry over `metrics` with the process metrics; `labels` go on every series (e.g. the group). */
export function createPrometheusExposition(metrics: Metrics, labels: Record<string, string> = {}): PrometheusExposition {
  const registry = new Registry();
  registry.setDefaultLabels(labels);
  collectDefaultMetrics({ register: registry, prefix: PROMETHEUS_PREFIX });
  for (const name of Object.keys(METRICS) as MetricName[]) registry.registerMetric(bridged(metrics, name));
  return { registry, contentType: registry.contentType, text: () => registry.metrics() };
}
