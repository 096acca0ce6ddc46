/**
 * The Kafka source contract the runtime drives, with two implementations: @platformatic/kafka
 * (`platformatic.ts`, the default) and kafkajs (`kafkajs.ts`).
 *
 * A source joins a consumer group, reads records of several topics in offset order per partition,
 * and hands each one to `onRecord`. It never commits by itself: the runtime commits, through
 * `commit`, only offsets whose records are done. Group membership changes arrive as `onAssigned`,
 * `onRevoking` (where the client lets us act before partitions go) and `onRevoked`. A commit is
 * fenced by the generation in which the member owns the partition (see `ownership.ts`), so it can
 * never land after the partition's next owner has committed.
 */
import type { RecordMeta } from '../core/envelope.ts';
import type { KafkaConnectionOptions } from './connection.ts';
export { NO_HEADERS, partitionKey, type CommitOffset, type TopicPartition } from '../core/partition.ts';
import type { CommitOffset, TopicPartition } from '../core/partition.ts';

export type KafkaClientName = 'platformatic' | 'kafkajs';

/** `classic` (JoinGroup/SyncGroup, the default) or `consumer` (KIP-848, Kafka 4.0+, @platformatic/kafka only). */
export type GroupProtocol = 'classic' | 'consumer';

/** Fetch tuning of @platformatic/kafka (its defaults are slow: see README-notes). */
export interface PlatformaticFetchOptions {
  /** Messages buffered in the client's stream. Default 8192 (the client's own: 1024). */
  readonly highWaterMark?: number;
  /** Default 1 MiB (the client's own: `maxBytes`, 50 MiB). */
  readonly maxBytesPerPartition?: number;
  /** Default 16 MiB (the client's own: 50 MiB); bounds one fetch response. */
  readonly maxBytes?: number;
  /** Default 500 ms (the client's own: 5000 ms). */
  readonly maxWaitTimeMs?: number;
}

export interface SourceOptions extends KafkaConnectionOptions {
  /** Default `platformatic`. */
  readonly client?: KafkaClientName;
  readonly groupId: string;
  readonly topics: readonly string[];
  /** Where to start a partition with no committed offset: earliest (true) or latest (false, default). */
  readonly fromBeginning?: boolean;
  /** Default `classic`. */
  readonly groupProtocol?: GroupProtocol;
  /**
   * Static membership (`group.instance.id`, classic protocol, @platformatic/kafka only): a member
   * restarted with the same id within the session timeout takes its partitions back without a
   * rebalance. At most one running process per id: two fence each other in turn.
   */
  readonly groupInstanceId?: string;
  /**
   * Group session timeout (classic protocol; the broker sets it for `consumer`). Default 30000 ms: a
   * crashed member's partitions wait this long, unless it comes back with the same `groupInstanceId`.
   */
  readonly sessionTimeoutMs?: number;
  readonly heartbeatIntervalMs?: number;
  readonly rebalanceTimeoutMs?: number;
  /** @platformatic/kafka only. */
  readonly fetch?: PlatformaticFetchOptions;
}

/** What a source calls; the runtime implements it. */
export interface SourceHandlers {
  /** One record, in offset order within its partition. Must not throw. */
  onRecord(meta: RecordMeta, value: Buffer | null, leaderEpoch: number): void;
  /** Partitions newly assigned to this member. */
  onAssigned(partitions: readonly TopicPartition[]): void;
  /**
   * The member joined the group (after `onAssigned`/`onRevoked` of that join), with these
   * partitions, possibly none: a member with no partitions is waiting for them, not joining.
   */
  onJoined?(partitions: readonly TopicPartition[]): void;
  /**
   * A rebalance has begun and these partitions may go. With kafkajs the client waits for the
   * returned promise (when the rebalance is seen inside a batch); @platformatic/kafka does not wait.
   */
  onRevoking(partitions: readonly TopicPartition[]): Promise<void>;
  /** Partitions no longer assigned to this member. */
  onRevoked(partitions: readonly TopicPartition[]): void;
  /** The consumer failed for good (connection, authentication, group). */
  onError(error: Error): void;
}

export interface KafkaSource {
  readonly client: KafkaClientName;
  /**
   * The finest pause granularity the client offers: `partition` (kafkajs) or `stream` (@platformatic/kafka
   * 2.12: pausing any partition pauses fetching for all of them).
   */
  readonly pauseGranularity: 'partition' | 'stream';
  /** Connects, joins the group and starts delivering records to `handlers`. */
  start(handlers: SourceHandlers): Promise<void>;
  /** Stops fetching these partitions until resumed (records already fetched may still arrive). */
  pause(partitions: readonly TopicPartition[]): void;
  resume(partitions: readonly TopicPartition[]): void;
  /** The partitions currently assigned to this member. */
  assigned(): readonly TopicPartition[];
  /**
   * Commits the offsets of partitions this member owns, under the generation (or member epoch) it
   * owns them in. Resolves with the offsets not committed because the partition is no longer this
   * member's (revoked, or the group refused the generation as fenced): not an error. Rejects on
   * anything else (coordinator unreachable, ...).
   */
  commit(offsets: readonly CommitOffset[]): Promise<readonly CommitOffset[]>;
  /** Latest offset (high watermark) per partition of `topics`, keyed `topic:partition`. */
  highWatermarks(topics: readonly string[]): Promise<Map<string, number>>;
  /** Stops delivering records (no `onRecord` after it resolves); stays in the group so commits work. */
  stop(): Promise<void>;
  /** Leaves the group and closes the connections. */
  close(): Promise<void>;
}

