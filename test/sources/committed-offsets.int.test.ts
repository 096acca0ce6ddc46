/**
 * `committedOffsets` of both sources reads the group's committed offsets back (the runtime asks it
 * before a revoked partition's late commit, to commit only forward).
 */
import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/runtime/logger.ts';
import { KafkajsSource } from '../../src/sources/kafkajs.ts';
import { PlatformaticSource } from '../../src/sources/platformatic.ts';
import type { KafkaSource, TopicPartition } from '../../src/sources/source.ts';
import { brokers, createTopic, uniqueName } from '../support/stack.ts';
import { eventually, jsonRecords, produce } from '../runtime/support.ts';

describe.each(['platformatic', 'kafkajs'] as const)('committedOffsets (%s)', (client) => {
  it('returns what the group committed, for the partitions asked, and nothing for one it never committed', async () => {
    const topic = await createTopic({ prefix: 'committed', partitions: 3 });
    await produce(brokers, topic, jsonRecords(30));
    const options = { client, brokers, groupId: uniqueName('committed'), topics: [topic], fromBeginning: true };
    const source: KafkaSource = client === 'platformatic' ? new PlatformaticSource(options) : new KafkajsSource(options, silentLogger);
    let assigned: readonly TopicPartition[] = [];
    await source.start({
      onRecord: () => {},
      onAssigned: (partitions) => void (assigned = [...assigned, ...partitions]),
      onRevoking: async () => {},
      onRevoked: () => {},
      onError: () => {},
    });
    try {
      await eventually(() => assigned.length === 3, 60_000, 50);
      await source.commit([
        { topic, partition: 0, offset: 5, leaderEpoch: -1 },
        { topic, partition: 2, offset: 7, leaderEpoch: -1 },
      ]);
      const all = [0, 1, 2].map((partition) => ({ topic, partition }));
      const committed = await source.committedOffsets?.(all);
      expect(committed?.get(`${topic}:0`)).toBe(5);
      expect(committed?.get(`${topic}:2`)).toBe(7);
      expect(committed?.get(`${topic}:1`) ?? -1).toBe(-1);
      expect((await source.committedOffsets?.([{ topic, partition: 2 }]))?.get(`${topic}:0`)).toBeUndefined();
    } finally {
      await source.close();
    }
  });
});
