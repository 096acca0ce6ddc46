import { describe, expect, it } from 'vitest';
import { Metrics } from '../../src/core/metrics.ts';

describe('Metrics', () => {
  it('keeps one series per name and label set, whether or not the labels object is reused', () => {
    const metrics = new Metrics();
    const labels = { step: 'dedup' };
    metrics.inc('duplicates_total', labels);
    metrics.inc('duplicates_total', labels, 2);
    metrics.inc('duplicates_total', { step: 'dedup' });
    metrics.inc('duplicates_total', { step: 'other' });
    metrics.inc('late_events_total', labels);
    expect(metrics.value('duplicates_total', { step: 'dedup' })).toBe(4);
    expect(metrics.value('duplicates_total', labels)).toBe(4);
    expect(metrics.total('duplicates_total')).toBe(5);
    expect(metrics.value('late_events_total', labels)).toBe(1);
  });

  it('counts through a counter handle into the same series as inc', () => {
    const metrics = new Metrics();
    const counter = metrics.counter('records_in_total', { step: 'parse' });
    counter.inc();
    counter.inc(4);
    metrics.inc('records_in_total', { step: 'parse' });
    expect(metrics.value('records_in_total', { step: 'parse' })).toBe(6);
    expect(metrics.total('records_in_total')).toBe(6);
  });

  it('orders labels in the series key, so the same labels in another order are the same series', () => {
    const metrics = new Metrics();
    metrics.set('buffer_records', { step: 's', output: 'o' }, 3);
    metrics.set('buffer_records', { output: 'o', step: 's' }, 7);
    expect(metrics.snapshot().filter((s) => s.name === 'buffer_records')).toHaveLength(1);
    expect(metrics.value('buffer_records', { step: 's', output: 'o' })).toBe(7);
  });

  it('summarizes histograms', () => {
    const metrics = new Metrics();
    for (let i = 1; i <= 100; i++) metrics.observe('sink_batch_latency_ms', { step: 's' }, i);
    const [sample] = metrics.snapshot();
    expect(sample?.value).toMatchObject({ count: 100, sum: 5050, min: 1, max: 100, p50: 51, p99: 100 });
  });
});
