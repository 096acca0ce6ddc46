import { Consumer, MessagesStreamModes, Producer, stringDeserializers, stringSerializers } from '@platformatic/kafka';
import { Kafka, logLevel } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { brokers, createTopic, kafkaAdmin, uniqueName } from '../support/stack.ts';

const COUNT = 10_000;
const PARTITIONS = 3;

function records(topic: string) {
  return Array.from({ length: COUNT }, (_, i) => ({ topic, key: `user-${i % 97}`, value: JSON.stringify({ event_id: `e${i}`, n: i }) }));
}

/** Committed offsets of a group, summed over partitions, read with the admin API. */
async function committedTotal(groupId: string, topic: string): Promise<number> {
  const admin = kafkaAdmin();
  try {
    const [group] = await admin.listConsumerGroupOffsets({ groups: [groupId] });
    const partitions = group?.topics.find((t) => t.name === topic)?.partitions ?? [];
    return partitions.reduce((sum, p) => sum + Number(p.committedOffset), 0);
  } finally {
    await admin.close();
  }
}

describe('the local Kafka broker', () => {
  it('carries 10,000 records with @platformatic/kafka, a consumer group and committed offsets', async () => {
    const topic = await createTopic({ prefix: 'stack-platformatic', partitions: PARTITIONS });
    // Idempotent: on a loaded machine a retried send would otherwise write the same record twice.
    const producer = new Producer({ clientId: uniqueName('p'), bootstrapBrokers: brokers, serializers: stringSerializers, idempotent: true, acks: -1 });
    const all = records(topic);
    for (let i = 0; i < all.length; i += 1000) await producer.send({ messages: all.slice(i, i + 1000) });
    await producer.close();

    const groupId = uniqueName('group');
    const consumer = new Consumer({ groupId, clientId: uniqueName('c'), bootstrapBrokers: brokers, deserializers: stringDeserializers });
    const stream = await consumer.consume({ topics: [topic], mode: MessagesStreamModes.EARLIEST, autocommit: false });
    const seen = new Set<string>();
    const next = new Map<number, bigint>(); // per partition: the next offset to read
    for await (const message of stream) {
      seen.add((JSON.parse(message.value) as { event_id: string }).event_id);
      next.set(message.partition, message.offset + 1n);
      if (seen.size === COUNT) break;
    }
    await consumer.commit({
      offsets: [...next].map(([partition, offset]) => ({ topic, partition, offset, leaderEpoch: 0 })),
    });
    await stream.close();
    await consumer.close();

    expect(seen.size).toBe(COUNT);
    // Every partition was read to its end, so the committed offsets add up to the record count.
    expect(await committedTotal(groupId, topic)).toBe(COUNT);
  });

  it('carries 10,000 records with kafkajs, a consumer group and committed offsets', async () => {
    const topic = await createTopic({ prefix: 'stack-kafkajs', partitions: PARTITIONS });
    const kafka = new Kafka({ clientId: uniqueName('kafkajs'), brokers, logLevel: logLevel.NOTHING });
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    const all = records(topic);
    for (let i = 0; i < all.length; i += 1000) {
      await producer.send({ topic, messages: all.slice(i, i + 1000).map(({ key, value }) => ({ key, value })) });
    }
    await producer.disconnect();

    const groupId = uniqueName('group');
    const consumer = kafka.consumer({ groupId });
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    const seen = new Set<string>();
    await new Promise<void>((resolve, reject) => {
      consumer
        .run({
          autoCommit: false,
          eachBatch: async ({ batch, resolveOffset, commitOffsetsIfNecessary }) => {
            for (const message of batch.messages) {
              seen.add((JSON.parse(String(message.value)) as { event_id: string }).event_id);
              resolveOffset(message.offset);
            }
            await consumer.commitOffsets([
              { topic, partition: batch.partition, offset: String(Number(batch.lastOffset()) + 1) },
            ]);
            await commitOffsetsIfNecessary();
            if (seen.size === COUNT) resolve();
          },
        })
        .catch(reject);
    });
    await consumer.disconnect();

    expect(seen.size).toBe(COUNT);
    const admin = kafka.admin();
    await admin.connect();
    const [offsets] = await admin.fetchOffsets({ groupId, topics: [topic] });
    await admin.disconnect();
    const committed = (offsets?.partitions ?? []).reduce((sum, p) => sum + Number(p.offset), 0);
    // Every partition was read to its end, so the committed offsets add up to the record count.
    expect(committed).toBe(COUNT);
    expect(await committedTotal(groupId, topic)).toBe(COUNT);
  });
});
