/**
 * CloudWatch Embedded Metric Format: one JSON line on stdout per period with the consumer lag and
 * the throughput, which the awslogs driver turns into CloudWatch metrics without an agent. ECS
 * target tracking scales on `ConsumerLag` (deploy/ecs/autoscaling-policy.json). Opt-in:
 * `TRIBUTARY_EMF=1`.
 */
import type { Metrics } from '../core/metrics.ts';

export interface EmfOptions {
  readonly namespace: string;
  /** Dimension values: the consumer group (all tasks of a service publish one series) and the topology. */
  readonly group: string;
  readonly topology: string;
}

/** The EMF document for the counts of one period. */
export function emfLine(options: EmfOptions, values: { readonly lag: number; readonly recordsPerSecond: number; readonly deadLetters: number; readonly inflight: number }, timestamp: number): string {
  return JSON.stringify({
    _aws: {
      Timestamp: timestamp,
      CloudWatchMetrics: [
        {
          Namespace: options.namespace,
          Dimensions: [['ConsumerGroup']],
          Metrics: [
            { Name: 'ConsumerLag', Unit: 'Count' },
            { Name: 'RecordsPerSecond', Unit: 'Count/Second' },
            { Name: 'DeadLetters', Unit: 'Count' },
            { Name: 'InflightRecords', Unit: 'Count' },
          ],
        },
      ],
    },
    ConsumerGroup: options.group,
    Topology: options.topology,
    ConsumerLag: values.lag,
    RecordsPerSecond: values.recordsPerSecond,
    DeadLetters: values.deadLetters,
    InflightRecords: values.inflight,
  });
}

/** Writes a line every `intervalMs`; returns a function that stops (writing a last line). */
export function startEmf(metrics: Metrics, options: EmfOptions, write: (line: string) => void, intervalMs: number, now: () => number = Date.now): () => void {
  let last = { time: now(), read: metrics.total('source_records_total'), dead: metrics.total('dead_letters_total') };
  const emit = () => {
    const time = now();
    const read = metrics.total('source_records_total');
    const dead = metrics.total('dead_letters_total');
    const seconds = Math.max(0.001, (time - last.time) / 1000);
    write(`${emfLine(options, { lag: metrics.total('consumer_lag_records'), recordsPerSecond: Math.round((read - last.read) / seconds), deadLetters: dead - last.dead, inflight: metrics.total('inflight_records') }, time)}\n`);
    last = { time, read, dead };
  };
  const timer = setInterval(emit, intervalMs);
  timer.unref();
  return () => {
    clearInterval(timer);
    emit();
  };
}
