/**
 * The Kafka source on kafkajs 2.2 (`client: 'kafkajs'`), with the LZ4/zstd/Snappy codecs registered.
 *
 * What the client allows, precisely (2.2.4):
 * - Pause: per partition (`consumer.pause([{ topic, partitions }])`); a fetch response for a
 *   partition paused meanwhile is dropped by the client and fetched again after resume. A batch
 *   being handed over stops at the pause: the source resolves only the offsets it delivered, so
 *   the rest of the batch is fetched again after resume.
 * - Revocation: kafkajs rejoins (eager protocol) when a heartbeat or fetch reports a rebalance. When
 *   that heartbeat is the one this source sends after handing a batch over, the source awaits
 *   `onRevoking` (the runtime flushes sinks and commits) before letting kafkajs rejoin: a real
 *   commit-before-revoke. When the rebalance is noticed elsewhere (the client's own heartbeat while
 *   every partition is paused, or between fetches), kafkajs emits `consumer.events.REBALANCING` and
 *   rejoins at once; `onRevoking` then races the rejoin.
 * - Commits: `consumer.commitOffsets` reads the generation synchronously, so a commit of partitions
 *   owned at the call is fenced by their generation (see `ownership.ts`). From a JoinGroup response
 *   to `GROUP_JOIN` kafkajs may already hold the next generation while the old assignment is all we
 *   know: commits wait for `GROUP_JOIN` then. One gap is kafkajs's own: it retries a commit that met
 *   a retriable error (coordinator moved, connection lost) and the retry reads the generation anew.
 * - Offsets: autoCommit is off; the source resolves the offset of the last record it handed over so
 *   the fetch position advances, and only the runtime commits. After a rejoin kafkajs restarts kept
 *   partitions at their committed offsets; the runtime drops records it already has.
 * - No static membership (`groupInstanceId` is ignored, with a warning) and no KIP-848 protocol.
 */
import kafkajs from 'kafkajs';
import type { Admin, Consumer, EachBatchPayload } from 'kafkajs';
import type { RecordMeta } from '../core/envelope.ts';
import type { Logger } from '../core/logger.ts';
import { kafkajsConnection } from './connection.ts';
import { registerKafkajsCodecs } from './kafkajs-codecs.ts';
import { byTopic, headersOf, kafkajsLogCreator } from './kafkajs-mapping.ts';
import { commitOwned, FENCING_ERRORS, Ownership } from './ownership.ts';
import {
  partitionKey,
  type CommitOffset,
  type KafkaSource,
  type SourceHandlers,
  type SourceOptions,
  type TopicPartition,
} from './source.ts';

const { Kafka, logLevel } = kafkajs;

const FENCING_TYPES = new Set(FENCING_ERRORS.values());
/** A refused commit waits this long for the member's rejoin, then gives up on the partitions it kept. */
const AFTER_REJOIN = { afterRejoinMs: 10_000 } as const;

export class KafkajsSource implements KafkaSource {
  readonly client = 'kafkajs' as const;
  readonly pauseGranularity = 'partition' as const;
  readonly #options: SourceOptions;
  readonly #kafka: InstanceType<typeof Kafka>;
  readonly #consumer: Consumer;
  #admin: Admin | undefined;
  #adminReady: Promise<Admin> | undefined;
  #handlers: SourceHandlers | undefined;
  readonly #ownership = new Ownership();
  /** A JoinGroup answered and no `GROUP_JOIN` yet: kafkajs may commit under the next generation. */
  #rejoining = false;
  /** JoinGroup responses since the last `GROUP_JOIN`, and that join's member id: one, same id = the next generation. */
  #joinResponses = 0;
  #memberId: string | undefined;
  #stopped = false;
  #revokingInBatch = false;
  readonly #paused = new Set<string>();

  constructor(options: SourceOptions, logger?: Logger) {
    registerKafkajsCodecs();
    this.#options = options;
    if (options.groupInstanceId !== undefined) logger?.warn({ groupInstanceId: options.groupInstanceId }, 'kafkajs has no static membership: groupInstanceId is ignored');
    this.#kafka = new Kafka({
      ...kafkajsConnection({ ...options, clientId: options.clientId ?? `tributary-${options.groupId}` }),
      logLevel: logLevel.WARN,
      logCreator: kafkajsLogCreator(logger, options.dependency),
    });
    this.#consumer = this.#kafka.consumer({
      groupId: options.groupId,
      sessionTimeout: options.sessionTimeoutMs ?? 30_000,
      heartbeatInterval: options.heartbeatIntervalMs ?? 3_000,
      rebalanceTimeout: options.rebalanceTimeoutMs ?? 60_000,
      maxWaitTimeInMs: options.fetch?.maxWaitTimeMs ?? 500,
      ...(options.fetch?.maxBytesPerPartition === undefined ? {} : { maxBytesPerPartition: options.fetch.maxBytesPerPartition }),
      ...(options.fetch?.maxBytes === undefined ? {} : { maxBytes: options.fetch.maxBytes }),
    });
  }

  async start(handlers: SourceHandlers): Promise<void> {
    this.#handlers = handlers;
    const consumer = this.#consumer;
    consumer.on(consumer.events.GROUP_JOIN, (event) => {
      const now: TopicPartition[] = [];
      for (const [topic, partitions] of Object.entries(event.payload.memberAssignment)) {
        for (const partition of partitions) now.push({ topic, partition });
      }
      const continuous = this.#joinResponses === 1 && event.payload.memberId === this.#memberId;
      this.#memberId = event.payload.memberId;
      this.#joinResponses = 0;
      this.#rejoining = false;
      this.#options.dependency?.succeeded();
      this.#onAssignment(now, continuous);
      this.#handlers?.onJoined?.(this.#ownership.assigned());
    });
    consumer.on(consumer.events.REQUEST, (event) => {
      if (event.payload.apiName !== 'JoinGroup') return;
      this.#rejoining = true;
      this.#joinResponses += 1;
    });
    consumer.on(consumer.events.REBALANCING, () => {
      // Also while stopping: the sinks still finishing must hold what a rebalance may hand to another member.
      if (this.#revokingInBatch) return;
      handlers.onRevoking(this.assigned()).catch((error: unknown) => handlers.onError(error as Error));
    });
    consumer.on(consumer.events.CRASH, (event) => {
      if (!event.payload.restart && !this.#stopped) handlers.onError(event.payload.error);
      else this.#options.dependency?.failed(event.payload.error);
    });
    consumer.on(consumer.events.HEARTBEAT, () => this.#options.dependency?.succeeded());
    await consumer.connect();
    await consumer.subscribe({ topics: [...this.#options.topics], fromBeginning: this.#options.fromBeginning ?? false });
    await consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      eachBatch: (payload) => this.#onBatch(payload),
    });
  }

  #onAssignment(now: readonly TopicPartition[], continuous: boolean): void {
    const { revoked, added } = this.#ownership.update(now, continuous);
    if (revoked.length > 0) {
      // kafkajs keeps a partition's pause across assignments: clear it, the runtime pauses anew.
      for (const tp of revoked) this.#paused.delete(partitionKey(tp.topic, tp.partition));
      this.#consumer.resume(byTopic(revoked));
      this.#handlers?.onRevoked(revoked);
    }
    if (added.length > 0) this.#handlers?.onAssigned(added);
  }

  async #onBatch({ batch, resolveOffset, heartbeat }: EachBatchPayload): Promise<void> {
    const handlers = this.#handlers as SourceHandlers;
    const { topic, partition } = batch;
    const key = partitionKey(topic, partition);
    let last: string | undefined;
    for (const message of batch.messages) {
      // Stop at a pause: the rest of the batch is fetched again after resume (its offsets are not
      // resolved), so the in-flight bound holds even against a large fetch.
      if (this.#stopped || (this.#paused.size > 0 && this.#paused.has(key))) break;
      const meta: RecordMeta = {
        topic,
        partition,
        offset: Number(message.offset),
        timestamp: Number(message.timestamp),
        key: message.key ?? null,
        headers: headersOf(message.headers),
      };
      handlers.onRecord(meta, message.value ?? null, -1);
      last = message.offset;
    }
    if (last !== undefined) resolveOffset(last);
    try {
      await heartbeat();
    } catch (error) {
      const type = (error as { type?: string }).type;
      if ((type === 'REBALANCE_IN_PROGRESS' || type === 'ILLEGAL_GENERATION') && !this.#stopped) {
        // The last moment this member still owns its partitions: let the runtime checkpoint first.
        this.#revokingInBatch = true;
        try {
          await handlers.onRevoking(this.assigned());
        } finally {
          this.#revokingInBatch = false;
        }
      }
      throw error;
    }
  }

  pause(partitions: readonly TopicPartition[]): void {
    for (const tp of partitions) this.#paused.add(partitionKey(tp.topic, tp.partition));
    if (partitions.length > 0) this.#consumer.pause(byTopic(partitions));
  }

  resume(partitions: readonly TopicPartition[]): void {
    if (this.#stopped) return;
    for (const tp of partitions) this.#paused.delete(partitionKey(tp.topic, tp.partition));
    if (partitions.length > 0) this.#consumer.resume(byTopic(partitions));
  }

  assigned(): readonly TopicPartition[] {
    return this.#ownership.assigned();
  }

  async commit(offsets: readonly CommitOffset[]): Promise<readonly CommitOffset[]> {
    if (offsets.length === 0) return [];
    // Inside a batch kafkajs rejoins only after `onRevoking`: waiting for that rejoin would stall it.
    return commitOwned(this.#ownership, offsets, (owned) => this.#send(owned), this.#revokingInBatch ? 'never' : AFTER_REJOIN);
  }

  /** Calls `commitOffsets` synchronously, so kafkajs takes the generation `owned` was checked against. */
  async #send(owned: readonly CommitOffset[]): Promise<readonly CommitOffset[]> {
    if (this.#rejoining) return owned;
    try {
      await this.#consumer.commitOffsets(owned.map((o) => ({ topic: o.topic, partition: o.partition, offset: String(o.offset) })));
      return [];
    } catch (error) {
      const { type, cause } = error as { type?: string; cause?: { type?: string } };
      if (FENCING_TYPES.has(type ?? cause?.type ?? '')) return owned;
      throw error;
    }
  }

  async highWatermarks(topics: readonly string[]): Promise<Map<string, number>> {
    const admin = await this.#adminClient();
    const result = new Map<string, number>();
    for (const topic of topics) {
      for (const { partition, high } of await admin.fetchTopicOffsets(topic)) {
        result.set(partitionKey(topic, partition), Number(high));
      }
    }
    return result;
  }

  /** One admin client, connected once even when two callers ask at the same time. */
  #adminClient(): Promise<Admin> {
    this.#adminReady ??= (async () => {
      const admin = this.#kafka.admin();
      this.#admin = admin;
      await admin.connect();
      return admin;
    })();
    return this.#adminReady;
  }

  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    // consumer.stop() would leave the group, and the runtime still has offsets to commit.
    this.#consumer.pause(this.#options.topics.map((topic) => ({ topic })));
  }

  async close(): Promise<void> {
    await this.stop();
    await this.#consumer.disconnect();
    await this.#admin?.disconnect();
  }
}
