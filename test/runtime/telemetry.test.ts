import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/core/logger.ts';
import { Metrics } from '../../src/core/metrics.ts';
import { partitionKey } from '../../src/core/partition.ts';
import { InflightGate } from '../../src/runtime/inflight.ts';
import { PartitionBook } from '../../src/runtime/partitions.ts';
import { Telemetry } from '../../src/runtime/telemetry.ts';
import type { KafkaSource } from '../../src/sources/source.ts';

const settle = () => new Promise((resolve) => setTimeout(resolve, 10));

describe('telemetry', () => {
  it('publishes lag and committed offset per owned partition, and drops a partition once revoked', async () => {
    const metrics = new Metrics();
    const book = new PartitionBook(() => {});
    const gate = new InflightGate({}, { onClose: () => {}, onOpen: () => {} });
    const high = new Map([
      [partitionKey('t', 0), 100],
      [partitionKey('t', 1), 50],
    ]);
    const source = { highWatermarks: async () => high } as unknown as KafkaSource;
    const telemetry = new Telemetry({ metrics, logger: silentLogger, book, gate, source, topics: ['t'] });
    book.assign([{ topic: 't', partition: 0 }, { topic: 't', partition: 1 }]);
    (book.tracker('t', 0) as { committed: number }).committed = 60;
    (book.tracker('t', 1) as { committed: number }).committed = 50;
    telemetry.pollLag();
    await settle();
    expect(metrics.value('partition_lag_records', { topic: 't', partition: 0 })).toBe(40);
    expect(metrics.value('partition_lag_records', { topic: 't', partition: 1 })).toBe(0);
    expect(metrics.value('committed_offset', { topic: 't', partition: 0 })).toBe(60);
    expect(metrics.value('consumer_lag_records')).toBe(40);

    book.revoke([{ topic: 't', partition: 0 }]);
    telemetry.pollLag();
    await settle();
    const series = metrics.snapshot().filter((s) => s.name === 'partition_lag_records' || s.name === 'committed_offset');
    expect(series.map((s) => [s.name, s.labels.partition])).toEqual([
      ['partition_lag_records', 1],
      ['committed_offset', 1],
    ]);
    expect(metrics.value('consumer_lag_records')).toBe(0);
  });
});
