/**
 * The Kafka source on @platformatic/kafka 2.x (the default client).
 *
 * What the client allows, precisely (2.12):
 * - Pause: only a whole `MessagesStream` pauses (`stream.pause()`); there is no per-partition pause in
 *   the stream API. Pausing any partition here pauses the stream, so every assigned partition stops.
 * - Revocation: with the classic protocol (used here, eager `roundrobin` assignor), a rebalance is
 *   noticed by a heartbeat that gets REBALANCE_IN_PROGRESS; the client emits
 *   `consumer:group:rebalance` and rejoins at once, with no hook that can delay it. `onRevoking` is
 *   therefore called without being awaited: the runtime's checkpoint races the rejoin. After
 *   `consumer:group:join` the runtime learns which partitions went (`onRevoked`) and commits their
 *   done offsets once more; the classic coordinator accepts commits from a current member for any
 *   partition, so that late commit lands. To keep it from moving the new owner's commit backwards,
 *   the runtime first reads the group's committed offsets (`committedOffsets`) and commits only
 *   forward of them; what remains is the short window between that read and the commit.
 * - After a rejoin the stream restarts kept partitions from their committed offsets, so records
 *   already read are delivered again; the runtime drops those by offset.
 */
import { Consumer, stringDeserializer, type Message, type MessagesStream } from '@platformatic/kafka';
import type { RecordMeta } from '../runtime/envelope.ts';
import { platformaticConnection } from './connection.ts';
import {
  NO_HEADERS,
  partitionKey,
  type CommitOffset,
  type KafkaSource,
  type SourceHandlers,
  type SourceOptions,
  type TopicPartition,
} from './source.ts';

type PlatformaticMessage = Message<Buffer | undefined, Buffer | undefined, string, string>;

/** Tuned fetch defaults (measured in bench/sources.bench.ts). */
export const PLATFORMATIC_FETCH_DEFAULTS = {
  highWaterMark: 8192,
  maxBytesPerPartition: 1024 * 1024,
  maxBytes: 16 * 1024 * 1024,
  maxWaitTimeMs: 500,
} as const;

export class PlatformaticSource implements KafkaSource {
  readonly client = 'platformatic' as const;
  readonly pauseGranularity = 'stream' as const;
  readonly #options: SourceOptions;
  readonly #consumer: Consumer<Buffer | undefined, Buffer | undefined, string, string>;
  #stream: MessagesStream<Buffer | undefined, Buffer | undefined, string, string> | undefined;
  #handlers: SourceHandlers | undefined;
  #assigned = new Map<string, TopicPartition>();
  readonly #paused = new Set<string>();
  #stopped = false;

  constructor(options: SourceOptions) {
    this.#options = options;
    const fetch = { ...PLATFORMATIC_FETCH_DEFAULTS, ...options.fetch };
    this.#consumer = new Consumer({
      clientId: options.clientId ?? `tributary-${options.groupId}`,
      groupId: options.groupId,
      ...platformaticConnection(options),
      autocommit: false,
      sessionTimeout: options.sessionTimeoutMs ?? 30_000,
      heartbeatInterval: options.heartbeatIntervalMs ?? 3_000,
      rebalanceTimeout: options.rebalanceTimeoutMs ?? 60_000,
      highWaterMark: fetch.highWaterMark,
      maxBytesPerPartition: fetch.maxBytesPerPartition,
      maxBytes: fetch.maxBytes,
      maxWaitTime: fetch.maxWaitTimeMs,
      deserializers: { headerKey: stringDeserializer, headerValue: stringDeserializer },
    });
  }

  async start(handlers: SourceHandlers): Promise<void> {
    this.#handlers = handlers;
    const consumer = this.#consumer;
    consumer.on('consumer:group:rebalance', () => {
      if (this.#stopped) return;
      handlers.onRevoking([...this.#assigned.values()]).catch((error: unknown) => handlers.onError(error as Error));
    });
    consumer.on('consumer:group:join', () => this.#onJoin());
    consumer.on('consumer:group:leave', () => this.#onAssignment([]));
    const stream = await consumer.consume({
      topics: [...this.#options.topics],
      mode: 'committed',
      fallbackMode: this.#options.fromBeginning ? 'earliest' : 'latest',
      autocommit: false,
    });
    this.#stream = stream;
    stream.on('error', (error: Error) => {
      if (!this.#stopped) handlers.onError(error);
    });
    stream.on('data', (message: PlatformaticMessage) => this.#onMessage(message));
    if (this.#paused.size > 0) stream.pause();
    this.#onJoin();
  }

  #onJoin(): void {
    const now: TopicPartition[] = [];
    for (const { topic, partitions } of this.#consumer.assignments ?? []) {
      for (const partition of partitions) now.push({ topic, partition });
    }
    this.#onAssignment(now);
    // The client pauses and resumes its streams around some rebalances: keep our pause in force.
    if (this.#paused.size > 0) this.#stream?.pause();
  }

  #onAssignment(now: readonly TopicPartition[]): void {
    const next = new Map(now.map((tp) => [partitionKey(tp.topic, tp.partition), tp]));
    const revoked = [...this.#assigned].filter(([key]) => !next.has(key)).map(([, tp]) => tp);
    const added = [...next].filter(([key]) => !this.#assigned.has(key)).map(([, tp]) => tp);
    this.#assigned = next;
    for (const tp of revoked) this.#paused.delete(partitionKey(tp.topic, tp.partition));
    if (revoked.length > 0) this.#handlers?.onRevoked(revoked);
    if (added.length > 0) this.#handlers?.onAssigned(added);
  }

  #onMessage(message: PlatformaticMessage): void {
    if (this.#stopped) return;
    const entries = message.headerEntries;
    const meta: RecordMeta = {
      topic: message.topic,
      partition: message.partition,
      offset: Number(message.offset),
      timestamp: Number(message.timestamp),
      key: message.key ?? null,
      headers: entries.length === 0 ? NO_HEADERS : Object.fromEntries(entries),
    };
    this.#handlers?.onRecord(meta, message.value ?? null, message.leaderEpoch);
  }

  pause(partitions: readonly TopicPartition[]): void {
    for (const tp of partitions) this.#paused.add(partitionKey(tp.topic, tp.partition));
    if (this.#paused.size > 0 && this.#stream && !this.#stream.isPaused()) this.#stream.pause();
  }

  resume(partitions: readonly TopicPartition[]): void {
    for (const tp of partitions) this.#paused.delete(partitionKey(tp.topic, tp.partition));
    if (this.#paused.size === 0 && !this.#stopped && this.#stream?.isPaused()) this.#stream.resume();
  }

  assigned(): readonly TopicPartition[] {
    return [...this.#assigned.values()];
  }

  async commit(offsets: readonly CommitOffset[]): Promise<void> {
    if (offsets.length === 0) return;
    await this.#consumer.commit({
      offsets: offsets.map((o) => ({ topic: o.topic, partition: o.partition, offset: BigInt(o.offset), leaderEpoch: o.leaderEpoch })),
    });
  }

  async committedOffsets(partitions: readonly TopicPartition[]): Promise<Map<string, number>> {
    const byTopic = new Map<string, number[]>();
    for (const { topic, partition } of partitions) byTopic.set(topic, [...(byTopic.get(topic) ?? []), partition]);
    const offsets = await this.#consumer.listCommittedOffsets({ topics: [...byTopic].map(([topic, list]) => ({ topic, partitions: list })) });
    const result = new Map<string, number>();
    for (const [topic, list] of offsets) {
      list.forEach((offset, partition) => result.set(partitionKey(topic, partition), Number(offset)));
    }
    return result;
  }

  async highWatermarks(topics: readonly string[]): Promise<Map<string, number>> {
    const offsets = await this.#consumer.listOffsets({ topics: [...topics] });
    const result = new Map<string, number>();
    for (const [topic, partitions] of offsets) {
      partitions.forEach((offset, partition) => result.set(partitionKey(topic, partition), Number(offset)));
    }
    return result;
  }

  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    const stream = this.#stream;
    if (stream === undefined) return;
    stream.pause();
    await stream.close();
  }

  async close(): Promise<void> {
    await this.stop();
    await this.#consumer.close(true);
  }
}
