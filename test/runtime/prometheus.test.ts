import { describe, expect, it } from 'vitest';
import { Metrics } from '../../src/core/metrics.ts';
import { createPrometheusExposition, prometheusName } from '../../src/runtime/prometheus.ts';

describe('Prometheus exposition', () => {
  it('exposes every registry series with its labels, and the process metrics', async () => {
    const metrics = new Metrics();
    metrics.inc('source_records_total', { topic: 'logins' }, 42);
    metrics.inc('dead_letters_total', { step: 'parse', code: 'TRIB_DECODE' }, 3);
    metrics.inc('sink_records_total', { step: 'ddb', outcome: 'superseded' }, 2);
    metrics.set('consumer_lag_records', {}, 1234);
    const text = await createPrometheusExposition(metrics, { group: 'g1' }).text();
    expect(text).toContain('# TYPE tributary_source_records_total counter');
    expect(text).toContain('tributary_source_records_total{topic="logins",group="g1"} 42');
    expect(text).toContain('tributary_dead_letters_total{step="parse",code="TRIB_DECODE",group="g1"} 3');
    expect(text).toContain('tributary_sink_records_total{step="ddb",outcome="superseded",group="g1"} 2');
    expect(text).toContain('# TYPE tributary_consumer_lag_records gauge');
    expect(text).toContain('tributary_consumer_lag_records{group="g1"} 1234');
    for (const processMetric of ['tributary_nodejs_eventloop_lag_seconds', 'tributary_nodejs_heap_size_used_bytes', 'tributary_process_resident_memory_bytes', 'tributary_nodejs_gc_duration_seconds']) {
      expect(text, processMetric).toContain(`# TYPE ${processMetric}`);
    }
    metrics.inc('source_records_total', { topic: 'logins' }, 8);
    expect(await createPrometheusExposition(metrics).text()).toContain('tributary_source_records_total{topic="logins"} 50');
  });

  it('exposes latencies as cumulative histogram buckets in seconds, so tasks can be summed', async () => {
    const metrics = new Metrics();
    for (const ms of [0.5, 3, 3, 40, 700, 120_000]) metrics.observe('sink_batch_latency_ms', { step: 'ddb' }, ms);
    expect(prometheusName('sink_batch_latency_ms')).toBe('tributary_sink_batch_latency_seconds');
    const text = await createPrometheusExposition(metrics).text();
    expect(text).toContain('# TYPE tributary_sink_batch_latency_seconds histogram');
    const bucket = (le: string) => Number(new RegExp(`tributary_sink_batch_latency_seconds_bucket\\{step="ddb",le="${le.replace('+', '\\+')}"\\} (\\d+)`).exec(text)?.[1]);
    expect(bucket('0.001')).toBe(1);
    expect(bucket('0.005')).toBe(3);
    expect(bucket('0.05')).toBe(4);
    expect(bucket('1')).toBe(5);
    expect(bucket('60')).toBe(5);
    expect(bucket('+Inf')).toBe(6);
    expect(text).toContain('tributary_sink_batch_latency_seconds_count{step="ddb"} 6');
    expect(text).toMatch(/tributary_sink_batch_latency_seconds_sum\{step="ddb"\} 120\.7465/);
  });
});
