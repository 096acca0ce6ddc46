/**
 * Bounded reads of Kafka topics for the operator commands (`redrive`, `reconcile`, `backfill`):
 * offsets by time, and every record between a start offset and the end offset listed when the read
 * began, then stop. Records produced after the start are left alone, so a command sees a fixed range.
 */
import { randomBytes } from 'node:crypto';
import { Admin, Consumer, ListOffsetTimestamps, MessagesStreamModes, stringDeserializer } from '@platformatic/kafka';
import { partitionKey } from '../../core/partition.ts';
import { platformaticConnection, type KafkaConnectionOptions } from '../../sources/connection.ts';

/** One record read, with its headers as strings (as the runtime's sources give them). */
export interface RangeRecord {
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
  /** Kafka timestamp, epoch ms. */
  readonly timestamp: number;
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  readonly headers: Readonly<Record<string, string>>;
}

/** `[start, end)` of one partition. */
export interface PartitionRange {
  readonly topic: string;
  readonly partition: number;
  readonly start: number;
  readonly end: number;
}

type AnyConsumer = Consumer<Buffer, Buffer, string, string>;

function consumerOf(connection: KafkaConnectionOptions, groupId: string): AnyConsumer {
  return new Consumer({
    clientId: groupId,
    groupId,
    ...platformaticConnection(connection),
    autocommit: false,
    maxWaitTime: 200,
    deserializers: { headerKey: stringDeserializer, headerValue: stringDeserializer },
  });
}

/** A consumer group name of its own for a bounded read: `<prefix>-<random hex>`. */
export function readerGroup(prefix: string): string {
  return `${prefix}-${randomBytes(4).toString('hex')}`;
}

/**
 * Offsets per partition of `topics` at `at`: `'earliest'`, `'latest'` (the end offsets), or an epoch
 * ms (the first offset whose timestamp is at or after it, Kafka's ListOffsets by time; the end offset
 * when there is none).
 */
export async function offsetsAt(connection: KafkaConnectionOptions, topics: readonly string[], at: 'earliest' | 'latest' | number): Promise<Map<string, number>> {
  await assertTopicsExist(connection, topics);
  const consumer = consumerOf(connection, readerGroup('tributary-offsets'));
  try {
    const timestamp = at === 'earliest' ? ListOffsetTimestamps.EARLIEST : at === 'latest' ? ListOffsetTimestamps.LATEST : BigInt(at);
    const listed = await consumer.listOffsets({ topics: [...topics], timestamp });
    const ends = at === 'earliest' || at === 'latest' ? undefined : await consumer.listOffsets({ topics: [...topics], timestamp: ListOffsetTimestamps.LATEST });
    const out = new Map<string, number>();
    for (const [topic, offsets] of listed) {
      for (const [partition, offset] of offsets.entries()) {
        // ListOffsets by time answers -1 when no record is that late: read nothing there.
        out.set(partitionKey(topic, partition), offset < 0n ? Number(ends?.get(topic)?.[partition] ?? 0n) : Number(offset));
      }
    }
    return out;
  } finally {
    await consumer.close();
  }
}

/**
 * Throws naming the topics the cluster does not have: the client would retry ListOffsets on an
 * unknown topic for as long as the Kafka outage timeout.
 */
export async function assertTopicsExist(connection: KafkaConnectionOptions, topics: readonly string[]): Promise<void> {
  const admin = new Admin({ clientId: 'tributary-topics', ...platformaticConnection(connection) });
  try {
    const known = new Set(await admin.listTopics({ includeInternals: false }));
    const missing = topics.filter((t) => !known.has(t));
    if (missing.length > 0) throw new Error(`no such topic: ${missing.join(', ')}`);
  } finally {
    await admin.close();
  }
}

/** The ranges from `starts` (default: the earliest offsets) to the end offsets now. */
export async function rangesOf(connection: KafkaConnectionOptions, topics: readonly string[], starts?: ReadonlyMap<string, number>): Promise<PartitionRange[]> {
  const [first, ends] = await Promise.all([starts ?? offsetsAt(connection, topics, 'earliest'), offsetsAt(connection, topics, 'latest')]);
  const ranges: PartitionRange[] = [];
  for (const [key, end] of ends) {
    const at = key.lastIndexOf(':');
    const topic = key.slice(0, at);
    const partition = Number(key.slice(at + 1));
    ranges.push({ topic, partition, start: Math.min(first.get(key) ?? 0, end), end });
  }
  return ranges.sort((a, b) => a.topic.localeCompare(b.topic) || a.partition - b.partition);
}

export interface ReadRangeOptions {
  readonly connection: KafkaConnectionOptions;
  readonly ranges: readonly PartitionRange[];
  /** The consumer group the read joins (nothing is committed); default a fresh `tributary-read-<hex>`. */
  readonly groupId?: string;
  /** Gives up after this long without reaching the ends (default 5 minutes without a record). */
  readonly idleTimeoutMs?: number;
}

/**
 * Every record of `ranges`, in offset order per partition, then returns. Nothing is committed.
 *
 * ```ts
 * for await (const record of readRange({ connection, ranges: await rangesOf(connection, ['dead-letters']) })) ...
 * ```
 */
export async function* readRange(options: ReadRangeOptions): AsyncGenerator<RangeRecord> {
  const todo = options.ranges.filter((r) => r.end > r.start);
  if (todo.length === 0) return;
  const ends = new Map(todo.map((r) => [partitionKey(r.topic, r.partition), r.end]));
  const consumer = consumerOf(options.connection, options.groupId ?? readerGroup('tributary-read'));
  const stream = await consumer.consume({
    topics: [...new Set(todo.map((r) => r.topic))],
    mode: MessagesStreamModes.MANUAL,
    offsets: todo.map((r) => ({ topic: r.topic, partition: r.partition, offset: BigInt(r.start) })),
    autocommit: false,
  });
  const idleMs = options.idleTimeoutMs ?? 300_000;
  let last = Date.now();
  const next = new Map<string, number>();
  const complete = () => [...ends].every(([key, end]) => (next.get(key) ?? 0) >= end);
  // Where the last offsets are not records (transaction markers, compaction), no record reaches the
  // end: a partition is also done once the stream fetches past it and has nothing left to hand over.
  const drained = () =>
    [...ends].every(([key, end]) => Number(stream.offsetsToFetch.get(key) ?? 0n) >= end) && stream.readableLength === 0 && Date.now() - last > 1000;
  let timedOut = false;
  const timer = setInterval(() => {
    if (complete() || drained() || Date.now() - last > idleMs) {
      timedOut = !complete() && !drained();
      void stream.close();
    }
  }, 200);
  try {
    for await (const message of stream) {
      last = Date.now();
      const key = partitionKey(message.topic, message.partition);
      const offset = Number(message.offset);
      const end = ends.get(key);
      if (end !== undefined && offset < end) {
        next.set(key, offset + 1);
        yield {
          topic: message.topic,
          partition: message.partition,
          offset,
          timestamp: Number(message.timestamp),
          key: message.key ?? null,
          value: message.value ?? null,
          headers: Object.fromEntries(message.headerEntries),
        };
      }
      if (complete()) break;
    }
    if (timedOut) throw new Error(`no record for ${Math.round(idleMs / 1000)} s before the end offsets were reached`);
  } finally {
    clearInterval(timer);
    await stream.close().catch(() => {});
    await consumer.close().catch(() => {});
  }
}
