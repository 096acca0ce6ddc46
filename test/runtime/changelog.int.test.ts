/**
 * Restoring a changelog partition against the real broker, including one whose log no longer starts
 * at 0 (retention deleted its head, as it does for dedup changelogs after their TTL): a restore used
 * to fetch from offset 0 and fail with OFFSET_OUT_OF_RANGE, failing its step (seen in `npm start`
 * on a stack a day old).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/core/logger.ts';
import { Metrics } from '../../src/core/metrics.ts';
import { changelogTopic } from '../../src/core/state.ts';
import { ensureInternalTopics, KafkaChangelogs } from '../../src/runtime/changelog.ts';
import { ConfigError } from '../../src/core/errors.ts';
import { KafkaProducer } from '../../src/sinks/kafka-producer.ts';
import { brokers, kafkaAdmin, uniqueName } from '../support/stack.ts';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

describe('KafkaChangelogs restore', () => {
  it('reads from the log start when retention has moved it past 0, keeping the latest value per key', async () => {
    const groupId = uniqueName('changelog');
    const topic = changelogTopic(groupId, 'dedup');
    const admin = kafkaAdmin();
    cleanups.push(() => admin.close());
    await admin.createTopics({ topics: [topic], partitions: 2, replicas: 1 });
    cleanups.push(() => admin.deleteTopics({ topics: [topic] }));
    const producer = new KafkaProducer({ brokers });
    cleanups.push(() => producer.close());
    const changelogs = new KafkaChangelogs({ connection: { brokers }, groupId, producer, logger: createLogger({}, 'silent'), metrics: new Metrics() });
    cleanups.push(() => changelogs.close());
    const changelog = changelogs.changelog('dedup');
    const entry = (key: string, value: string | null) => ({ partition: 1, key, value: value === null ? null : Buffer.from(value) });
    await changelog.write([entry('a', 'a1'), entry('b', 'b1'), entry('c', 'c1')]);
    await changelog.write([entry('a', 'a2'), entry('d', 'd1'), entry('b', null)]);
    const text = (state: Map<string, Buffer>) => Object.fromEntries([...state].map(([k, v]) => [k, v.toString()]));
    expect(text(await changelog.restore(1))).toEqual({ a: 'a2', c: 'c1', d: 'd1' });
    // Retention takes the first three records (offsets 0-2): c's only version goes with them.
    await admin.deleteRecords({ topics: [{ name: topic, partitions: [{ partition: 1, offset: 3n }] }] });
    expect(text(await changelog.restore(1))).toEqual({ a: 'a2', d: 'd1' });
    expect(text(await changelog.restore(0))).toEqual({});
  });
});

describe('ensureInternalTopics', () => {
  it('refuses to start on an internal topic with fewer partitions than the largest input, naming it and the fix', async () => {
    const admin = kafkaAdmin();
    cleanups.push(() => admin.close());
    const input = uniqueName('input');
    const changelog = changelogTopic(uniqueName('group'), 'dedup');
    await admin.createTopics({ topics: [input], partitions: 4, replicas: 1 });
    await admin.createTopics({ topics: [changelog], partitions: 2, replicas: 1 });
    cleanups.push(() => admin.deleteTopics({ topics: [input, changelog] }));
    const attempt = ensureInternalTopics({ brokers }, [input], [{ name: changelog, kind: 'changelog' }]);
    await expect(attempt).rejects.toThrow(ConfigError);
    await expect(attempt).rejects.toThrow(`internal topic ${changelog} has 2 partitions, fewer than the largest input topic (4)`);
    // With enough partitions it goes on, and reports the inputs' partitions.
    await admin.createPartitions({ topics: [{ name: changelog, count: 4 }] });
    expect(await ensureInternalTopics({ brokers }, [input], [{ name: changelog, kind: 'changelog' }])).toEqual(new Map([[input, 4]]));
  });
});
