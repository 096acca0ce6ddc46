/**
 * Helpers for the runtime's integration tests and fixtures: fast producing, reading committed and
 * end offsets back, and in-memory sinks.
 */
import { Admin, Consumer, ListOffsetTimestamps, Producer, stringDeserializer, stringSerializer, type CompressionAlgorithmValue } from '@platformatic/kafka';
import type { Envelope } from '../../src/core/envelope.ts';
import type { Sink } from '../../src/core/sink.ts';

export interface TestRecord {
  readonly key?: Buffer | string;
  readonly value: Buffer | string | null;
  readonly headers?: Record<string, string>;
  readonly partition?: number;
}

export function testProducer(brokers: readonly string[], compression: CompressionAlgorithmValue = 'none') {
  return new Producer<Buffer, Buffer, string, string>({
    clientId: 'tributary-test-producer',
    idempotent: true,
    bootstrapBrokers: [...brokers],
    compression,
    serializers: { headerKey: stringSerializer, headerValue: stringSerializer },
  });
}

const toBuffer = (v: Buffer | string) => (typeof v === 'string' ? Buffer.from(v) : v);

/** Produces records in sends of `batchSize`. */
export async function produce(
  brokers: readonly string[],
  topic: string,
  records: Iterable<TestRecord>,
  options: { compression?: CompressionAlgorithmValue; batchSize?: number } = {},
): Promise<number> {
  const producer = testProducer(brokers, options.compression);
  const batchSize = options.batchSize ?? 2000;
  let batch: TestRecord[] = [];
  let count = 0;
  const flush = async () => {
    if (batch.length === 0) return;
    await producer.send({
      messages: batch.map((r) => ({
        topic,
        ...(r.key === undefined ? {} : { key: toBuffer(r.key) }),
        ...(r.value === null ? {} : { value: toBuffer(r.value) }),
        ...(r.headers === undefined ? {} : { headers: r.headers }),
        ...(r.partition === undefined ? {} : { partition: r.partition }),
      })),
    });
    count += batch.length;
    batch = [];
  };
  try {
    for (const record of records) {
      batch.push(record);
      if (batch.length >= batchSize) await flush();
    }
    await flush();
  } finally {
    await producer.close();
  }
  return count;
}

/** `count` JSON records `{ id, n, ... }` spread over partitions by key. */
export function* jsonRecords(count: number, start = 0): Generator<TestRecord> {
  for (let i = start; i < start + count; i++) {
    yield { key: `k${i % 997}`, value: JSON.stringify({ id: `e${i}`, n: i, type: 'score', player: `p${i % 5000}`, points: i % 100 }) };
  }
}

/** Committed offset per partition for a group and topic (-1 when none). */
export async function committedOffsets(brokers: readonly string[], groupId: string, topic: string): Promise<Map<number, number>> {
  const admin = new Admin({ clientId: 'tributary-test-admin', bootstrapBrokers: [...brokers] });
  try {
    const groups = await admin.listConsumerGroupOffsets({ groups: [groupId] });
    const result = new Map<number, number>();
    for (const group of groups) {
      for (const t of group.topics) {
        if (t.name !== topic) continue;
        for (const p of t.partitions) result.set(p.partitionIndex, Number(p.committedOffset));
      }
    }
    return result;
  } finally {
    await admin.close();
  }
}

/** End offset (high watermark) per partition. */
export async function endOffsets(brokers: readonly string[], topic: string): Promise<Map<number, number>> {
  const admin = new Admin({ clientId: 'tributary-test-admin', bootstrapBrokers: [...brokers] });
  try {
    const metadata = await admin.metadata({ topics: [topic] });
    const count = metadata.topics.get(topic)?.partitionsCount ?? 0;
    const partitions = Array.from({ length: count }, (_, partitionIndex) => ({ partitionIndex, timestamp: ListOffsetTimestamps.LATEST }));
    const topics = await admin.listOffsets({ topics: [{ name: topic, partitions }] });
    const result = new Map<number, number>();
    for (const t of topics) for (const p of t.partitions) result.set(p.partitionIndex, Number(p.offset));
    return result;
  } finally {
    await admin.close();
  }
}

/** An idempotent in-memory sink: keeps one entry per `topic:partition:offset`, releases at once. */
export class CountingSink<T = unknown> implements Sink<T> {
  readonly id: string;
  readonly seen = new Map<string, T>();
  writes = 0;
  duplicates = 0;
  constructor(id = 'counting') {
    this.id = id;
  }
  async write(batch: readonly Envelope<T>[]): Promise<void> {
    this.writes += 1;
    for (const envelope of batch) {
      const key = `${envelope.meta.topic}:${envelope.meta.partition}:${envelope.meta.offset}`;
      if (this.seen.has(key)) this.duplicates += 1;
      this.seen.set(key, envelope.value);
      envelope.lease.release();
    }
  }
  async flush(): Promise<void> {}
  async close(): Promise<void> {}
}

/** Resolves when `predicate()` holds, polling every `everyMs`; rejects after `timeoutMs`. */
export async function eventually(
  predicate: () => boolean | Promise<boolean>,
  timeoutMs = 60_000,
  everyMs = 100,
  context?: () => string | Promise<string>,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms${context ? `: ${await context()}` : ''}`);
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}

export interface ReadRecord {
  readonly partition: number;
  readonly offset: number;
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  readonly headers: Record<string, string>;
}

/** Reads a topic from the beginning until `count` records arrived (or `timeoutMs` passed). */
export async function readTopic(brokers: readonly string[], topic: string, count: number, timeoutMs = 60_000): Promise<ReadRecord[]> {
  const consumer = new Consumer<Buffer | undefined, Buffer | undefined, string, string>({
    clientId: 'tributary-test-reader',
    groupId: `reader-${topic}-${Date.now()}`,
    bootstrapBrokers: [...brokers],
    autocommit: false,
    maxWaitTime: 200,
    deserializers: { headerKey: stringDeserializer, headerValue: stringDeserializer },
  });
  const records: ReadRecord[] = [];
  try {
    const stream = await consumer.consume({ topics: [topic], mode: 'earliest', autocommit: false });
    stream.on('data', (m) => {
      records.push({
        partition: m.partition,
        offset: Number(m.offset),
        key: m.key ?? null,
        value: m.value ?? null,
        headers: Object.fromEntries(m.headerEntries),
      });
    });
    await eventually(() => records.length >= count, timeoutMs, 50);
  } finally {
    await consumer.close(true);
  }
  return records;
}
