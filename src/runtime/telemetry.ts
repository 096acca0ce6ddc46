/**
 * Publishes the runtime's counters and gauges to `Metrics`: records and bytes read per topic, records
 * in flight, commit lag (read minus committed) and consumer lag (high watermark minus committed,
 * from a periodic list-offsets call). The hot path only bumps plain counters on the trackers; this
 * turns them into metric series once a second.
 */
import type { KafkaSource } from '../sources/source.ts';
import { partitionKey } from '../core/partition.ts';
import type { InflightGate } from './inflight.ts';
import type { Logger } from '../core/logger.ts';
import type { Metrics } from '../core/metrics.ts';
import type { PartitionBook } from './partitions.ts';

export interface TelemetryDeps {
  readonly metrics: Metrics;
  readonly logger: Logger;
  readonly book: PartitionBook;
  readonly gate: InflightGate;
  readonly source: KafkaSource;
  readonly topics: readonly string[];
}

export class Telemetry {
  readonly #deps: TelemetryDeps;
  #polling = false;
  /** Partitions with per-partition series, so that revoked ones can be removed. */
  #perPartition = new Map<string, { topic: string; partition: number }>();

  constructor(deps: TelemetryDeps) {
    this.#deps = deps;
  }

  /** Moves the counters gathered since the last call into the metrics. */
  publish(): void {
    const { metrics, book, gate } = this.#deps;
    let records = 0;
    for (const [topic, counts] of book.takeCounts()) {
      metrics.inc('source_records_total', { topic }, counts.records);
      metrics.inc('source_bytes_total', { topic }, counts.bytes);
      records += counts.records;
    }
    if (records > 0) metrics.inc('records_out_total', { step: 'source' }, records);
    metrics.set('inflight_records', {}, gate.records);
    metrics.set('inflight_bytes', {}, gate.bytes);
    metrics.set('inflight_limit_records', {}, gate.limitRecords);
    metrics.set('commit_lag_records', {}, book.commitLag());
  }

  /** Polls the high watermarks and sets the consumer lag (skipped while a poll is running). */
  pollLag(): void {
    if (this.#polling) return;
    this.#polling = true;
    const { metrics, logger, book, source, topics } = this.#deps;
    source
      .highWatermarks(topics)
      .then((watermarks) => {
        let lag = 0;
        const owned = new Map<string, { topic: string; partition: number }>();
        for (const tracker of book.live()) {
          const key = partitionKey(tracker.topic, tracker.partition);
          const high = watermarks.get(key);
          const base = tracker.committed >= 0 ? tracker.committed : tracker.firstRead;
          const labels = { topic: tracker.topic, partition: tracker.partition };
          owned.set(key, labels);
          if (high !== undefined && base >= 0) {
            lag += Math.max(0, high - base);
            metrics.set('partition_lag_records', labels, Math.max(0, high - base));
          }
          if (tracker.committed >= 0) metrics.set('committed_offset', labels, tracker.committed);
        }
        for (const [key, labels] of this.#perPartition) {
          if (owned.has(key)) continue;
          metrics.remove('partition_lag_records', labels);
          metrics.remove('committed_offset', labels);
        }
        this.#perPartition = owned;
        metrics.set('consumer_lag_records', {}, lag);
      })
      .catch((error: unknown) => logger.debug({ err: error }, 'high watermark poll failed'))
      .finally(() => {
        this.#polling = false;
      });
  }
}
