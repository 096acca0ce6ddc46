import { describe, expect, it } from 'vitest';
import { Metrics } from '../../src/core/metrics.ts';
import { emfLine, startEmf } from '../../src/runtime/emf.ts';
import { progressLine, showProgress } from '../../src/runtime/progress.ts';
import { readStatus } from '../../src/runtime/status.ts';

function statusAt(metrics: Metrics, time: number) {
  return readStatus({ metrics, inflight: { records: 1500, bytes: 2048 }, limits: { maxRecords: 100_000, maxBytes: 1 << 26 }, readiness: () => ({ ready: true, partitions: 3 }), startedAt: 0, now: () => time });
}

describe('status, progress line and EMF', () => {
  it('reads per-step and per-sink counters from the registry', () => {
    const metrics = new Metrics();
    metrics.inc('records_in_total', { step: 'parse' }, 10);
    metrics.inc('records_out_total', { step: 'parse' }, 9);
    metrics.inc('dead_letters_total', { step: 'parse' }, 1);
    metrics.inc('sink_records_total', { step: 'ddb' }, 5);
    metrics.inc('sink_records_total', { step: 'ddb', outcome: 'superseded' }, 2);
    metrics.inc('sink_retries_total', { step: 'ddb' }, 4);
    metrics.observe('sink_batch_latency_ms', { step: 'ddb' }, 40);
    metrics.observe('sink_request_latency_ms', { step: 'ddb' }, 12);
    const status = statusAt(metrics, 1000);
    expect(status.steps.parse).toMatchObject({ in: 10, out: 9, deadLetters: 1 });
    expect(status.steps.ddb).toMatchObject({ written: 7, retries: 4, batchP99Ms: 40, requestP99Ms: 12 });
    expect(status.deadLetters).toBe(1);
  });

  it('draws one line with the rate, lag, in flight, paused, sinks and dead letters', () => {
    const metrics = new Metrics();
    metrics.inc('source_records_total', { topic: 't' }, 1000);
    const before = statusAt(metrics, 1000);
    metrics.inc('source_records_total', { topic: 't' }, 24_000);
    metrics.set('consumer_lag_records', {}, 5000);
    metrics.set('paused_partitions', {}, 2);
    metrics.inc('sink_records_total', { step: 'parquet' }, 20_000);
    metrics.inc('dead_letters_total', { step: 'parse' }, 7);
    const line = progressLine(statusAt(metrics, 3000), before, 200);
    expect(line).toBe('ready | 12.0k rec/s | read 25.0k | lag 5000 | in flight 1500/100.0k | paused 2 | dead letters 7 | wrote: parquet 20.0k');
    expect(progressLine(statusAt(metrics, 3000), before, 40)).toHaveLength(40);
  });

  it('redraws the line in place on the terminal and ends it with a newline', () => {
    const metrics = new Metrics();
    const written: string[] = [];
    const stop = showProgress(() => statusAt(metrics, 0), { write: (t: string) => written.push(t), columns: 80 }, 10_000);
    stop();
    expect(written[0]).toMatch(/^\r\x1b\[2Kready \| 0 rec\/s/);
    expect(written.at(-1)).toBe('\n');
  });

  it('writes CloudWatch EMF lines with lag and throughput for the consumer group', () => {
    const doc = JSON.parse(emfLine({ namespace: 'Tributary', group: 'g', topology: 'game-events' }, { lag: 10, recordsPerSecond: 5, deadLetters: 1, inflight: 3 }, 1234));
    expect(doc._aws.CloudWatchMetrics[0]).toMatchObject({ Namespace: 'Tributary', Dimensions: [['ConsumerGroup']] });
    expect(doc._aws.CloudWatchMetrics[0].Metrics.map((m: { Name: string }) => m.Name)).toEqual(['ConsumerLag', 'RecordsPerSecond', 'DeadLetters', 'InflightRecords']);
    expect(doc).toMatchObject({ ConsumerGroup: 'g', ConsumerLag: 10, RecordsPerSecond: 5, _aws: { Timestamp: 1234 } });
    const metrics = new Metrics();
    const clock = { now: 0 };
    const lines: string[] = [];
    const stop = startEmf(metrics, { namespace: 'N', group: 'g', topology: 't' }, (l) => lines.push(l), 60_000, () => clock.now);
    metrics.inc('source_records_total', { topic: 't' }, 600);
    metrics.set('consumer_lag_records', {}, 77);
    clock.now = 60_000;
    stop();
    expect(JSON.parse(lines[0] as string)).toMatchObject({ ConsumerLag: 77, RecordsPerSecond: 10 });
  });
});
