/**
 * The Kafka source on @platformatic/kafka 2.x (the default client).
 *
 * What the client allows, precisely (2.12):
 * - Pause: only a whole `MessagesStream` pauses (`stream.pause()`); there is no per-partition pause in
 *   the stream API. Pausing any partition here pauses the stream, so every assigned partition stops.
 * - Revocation: with the classic protocol (eager `roundrobin` assignor), a rebalance is noticed by a
 *   heartbeat that gets REBALANCE_IN_PROGRESS; the client emits `consumer:group:rebalance` and
 *   rejoins at once, with no hook that can delay it. With the consumer protocol (KIP-848) it
 *   acknowledges a revocation in its next heartbeat, equally without waiting. `onRevoking` is
 *   therefore not awaited: the runtime's checkpoint races the rejoin, and its commit lands only if
 *   the member still owns the partitions under the generation it was sent with.
 * - Commits go through `platformatic-commit.ts` under the generation of the last join (classic) or
 *   the member epoch the coordinator reports (consumer protocol), never `Consumer.commit`: that one
 *   rejoins and resends a refused commit under the new generation, for partitions maybe gone.
 * - Closing a `MessagesStream` unsubscribes its topics (the member's next join asks for none), so
 *   `stop()` only pauses it and `close()` closes it, right before leaving.
 * - `close()` leaves the group by member id, static member or not (LeaveGroup, or a heartbeat with
 *   epoch -1), so a graceful stop hands the partitions over at once. A killed member with a
 *   `groupInstanceId` is replaced, without a rebalance, by the next process with that id (classic
 *   only: KIP-848 refuses the id with UNRELEASED_INSTANCE_ID until the old member's session expires).
 * - After a rejoin the stream restarts kept partitions from their committed offsets, so records
 *   already read are delivered again; the runtime drops those by offset. A partition new to this
 *   member is read from its committed offset whatever the client's own position (see
 *   `partition-starts.ts`).
 * - Outages: every request (metadata, fetch, join, heartbeat, commit offsets listing) is retried by
 *   the client with backoff for the connection's `unavailableTimeoutMs` (see `connection.ts`), so a
 *   broker restarting or not there yet at start is waited for, not fatal; its heartbeats and joins
 *   tell the runtime when Kafka answers again.
 */
import { Consumer, ListOffsetTimestamps, stringDeserializer, type Message, type MessagesStream } from '@platformatic/kafka';
import type { RecordMeta } from '../core/envelope.ts';
import { isUnreachable, platformaticConnection } from './connection.ts';
import { commitOwned, isFencing, Ownership } from './ownership.ts';
import { commitAs, describeMember } from './platformatic-commit.ts';
import { byTopic, PartitionStarts } from './partition-starts.ts';
import {
  NO_HEADERS,
  partitionKey,
  type CommitOffset,
  type GroupProtocol,
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

/** A refused commit waits this long for the member's rejoin, then gives up on the partitions it kept. */
const AFTER_REJOIN = { afterRejoinMs: 10_000 } as const;

export class PlatformaticSource implements KafkaSource {
  readonly client = 'platformatic' as const;
  readonly pauseGranularity = 'stream' as const;
  readonly #options: SourceOptions;
  readonly #protocol: GroupProtocol;
  readonly #consumer: Consumer<Buffer | undefined, Buffer | undefined, string, string>;
  #stream: MessagesStream<Buffer | undefined, Buffer | undefined, string, string> | undefined;
  #handlers: SourceHandlers | undefined;
  readonly #ownership = new Ownership();
  /** Member id and generation of the last classic join, taken together with its assignment. */
  #member: { readonly id: string; readonly generation: number } | undefined;
  readonly #paused = new Set<string>();
  /** Partitions new to this member, until their first record at the committed offset. */
  readonly #starts = new PartitionStarts();
  #stopped = false;

  constructor(options: SourceOptions) {
    this.#options = options;
    this.#protocol = options.groupProtocol ?? 'classic';
    const fetch = { ...PLATFORMATIC_FETCH_DEFAULTS, ...options.fetch };
    const rebalanceTimeout = options.rebalanceTimeoutMs ?? 60_000;
    // KIP-848: the broker sets the session timeout and the heartbeat interval.
    const group =
      this.#protocol === 'consumer'
        ? { groupProtocol: 'consumer' as const, rebalanceTimeout }
        : { sessionTimeout: options.sessionTimeoutMs ?? 30_000, heartbeatInterval: options.heartbeatIntervalMs ?? 3_000, rebalanceTimeout };
    this.#consumer = new Consumer({
      clientId: options.clientId ?? `tributary-${options.groupId}`,
      groupId: options.groupId,
      ...platformaticConnection(options),
      autocommit: false,
      ...group,
      ...(options.groupInstanceId === undefined ? {} : { groupInstanceId: options.groupInstanceId }),
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
    // Also while stopping: the sinks still finishing must hold what a rebalance may hand to another member.
    consumer.on('consumer:group:rebalance', () => {
      handlers.onRevoking(this.#ownership.assigned()).catch((error: unknown) => handlers.onError(error as Error));
    });
    // The client reports what it gave up on (a join that failed for good) as an 'error' event: fatal
    // while running; while stopping (the connections closing under a retried join) it is the stop itself.
    consumer.on('error', (error: Error) => {
      if (!this.#stopped) handlers.onError(error);
    });
    consumer.on('consumer:group:join', () => this.#onJoin());
    if (this.#protocol === 'consumer') {
      // KIP-848 assignments change in heartbeat responses, with no join event; a fenced member loses them all.
      consumer.on('consumer:heartbeat:end', () => this.#onJoin());
      consumer.on('consumer:heartbeat:error', ({ error }: { error: unknown }) => {
        if (isFencing(error)) this.#onAssignment([]);
      });
    }
    consumer.on('consumer:group:leave', () => this.#onAssignment([]));
    const dependency = this.#options.dependency;
    if (dependency !== undefined) {
      consumer.on('consumer:heartbeat:end', () => dependency.succeeded());
      consumer.on('consumer:heartbeat:error', ({ error }: { error: unknown }) => {
        if (isUnreachable(error)) dependency.failed(error);
      });
    }
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
    this.#onJoin(); // which keeps the stream paused if it must be
  }

  #onJoin(): void {
    this.#options.dependency?.succeeded();
    const now: TopicPartition[] = [];
    for (const { topic, partitions } of this.#consumer.assignments ?? []) {
      for (const partition of partitions) now.push({ topic, partition });
    }
    const { memberId, generationId } = this.#consumer;
    const previous = this.#member;
    const member = memberId === null ? undefined : { id: memberId, generation: generationId };
    this.#member = member;
    // Classic: kept partitions were owned without a break only by the same member, from one generation to the next.
    const continuous =
      this.#protocol === 'consumer' ||
      previous === undefined ||
      (member?.id === previous.id && (member.generation === previous.generation || member.generation === previous.generation + 1));
    this.#onAssignment(now, continuous);
    if (member !== undefined) this.#handlers?.onJoined?.(this.#ownership.assigned());
    // The client pauses and resumes its streams around some rebalances.
    this.#keepPaused();
  }

  /** Keeps the stream paused while a partition is paused or the source is stopped. */
  #keepPaused(): void {
    if (this.#paused.size > 0 || this.#stopped) this.#stream?.pause();
  }

  #onAssignment(now: readonly TopicPartition[], continuous = true): void {
    const { revoked, added } = this.#ownership.update(now, continuous);
    for (const tp of revoked) {
      const key = partitionKey(tp.topic, tp.partition);
      this.#paused.delete(key);
      this.#starts.end(key);
    }
    for (const tp of added) this.#starts.begin(partitionKey(tp.topic, tp.partition));
    if (revoked.length > 0) this.#handlers?.onRevoked(revoked);
    if (added.length > 0) {
      this.#handlers?.onAssigned(added);
      void this.#findStarts(added);
    }
  }

  /** Asks the group where `added` start (retrying while they are still waiting) and rewinds the client there. */
  async #findStarts(added: readonly TopicPartition[]): Promise<void> {
    for (let attempt = 0; !this.#stopped; attempt++) {
      const waiting = added.filter((tp) => this.#starts.unresolved(partitionKey(tp.topic, tp.partition)));
      if (waiting.length === 0) return;
      try {
        const committed = await this.#consumer.listCommittedOffsets({ topics: byTopic(waiting) });
        const none = waiting.filter((tp) => (committed.get(tp.topic)?.[tp.partition] ?? -1n) < 0n);
        const earliest =
          this.#options.fromBeginning && none.length > 0
            ? await this.#consumer.listOffsets({ topics: [...new Set(none.map((tp) => tp.topic))], timestamp: ListOffsetTimestamps.EARLIEST })
            : undefined;
        for (const { topic, partition } of waiting) {
          const key = partitionKey(topic, partition);
          const log = earliest?.get(topic)?.[partition];
          const target = this.#starts.resolve(key, Number(committed.get(topic)?.[partition] ?? -1n), log === undefined ? undefined : Number(log));
          if (target !== undefined) this.#rewind(key, target);
        }
      } catch {
        // The coordinator is moving or unreachable: the partitions' records wait; ask again.
        await new Promise((resolve) => setTimeout(resolve, Math.min(5000, 250 * 2 ** attempt)));
      }
    }
  }

  #rewind(key: string, offset: number): void {
    this.#stream?.offsetsToFetch.set(key, BigInt(offset));
  }

  #onMessage(message: PlatformaticMessage): void {
    if (this.#stopped) return;
    if (this.#starts.size > 0) {
      const key = partitionKey(message.topic, message.partition);
      const decision = this.#starts.decide(key, Number(message.offset));
      if (decision === 'rewind') this.#rewind(key, this.#starts.target(key) as number);
      if (decision !== 'take') return;
    }
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
    return this.#ownership.assigned();
  }

  async commit(offsets: readonly CommitOffset[]): Promise<readonly CommitOffset[]> {
    if (offsets.length === 0) return [];
    const send = (owned: readonly CommitOffset[], kept: (o: CommitOffset) => boolean) =>
      this.#protocol === 'classic' ? this.#sendUnderGeneration(owned) : this.#sendUnderEpoch(owned, kept);
    return commitOwned(this.#ownership, offsets, send, this.#protocol === 'classic' ? AFTER_REJOIN : 'at once');
  }

  /** Synchronous up to the request: the generation is the one `owned` was checked against. */
  #sendUnderGeneration(owned: readonly CommitOffset[]): Promise<readonly CommitOffset[]> {
    const member = this.#member;
    if (member === undefined) return Promise.resolve(owned);
    const { groupId, groupInstanceId } = this.#options;
    return commitAs(this.#consumer, { groupId, memberId: member.id, groupInstanceId: groupInstanceId ?? null, generationOrEpoch: member.generation, protocol: 'classic' }, owned);
  }

  /** The member epoch is private to the client: ask the coordinator, and commit what it still lists as this member's. */
  async #sendUnderEpoch(owned: readonly CommitOffset[], kept: (o: CommitOffset) => boolean): Promise<readonly CommitOffset[]> {
    const { groupId, groupInstanceId } = this.#options;
    const memberId = this.#consumer.memberId;
    const member = memberId === null ? undefined : await describeMember(this.#consumer, groupId, memberId);
    if (memberId === null || member === undefined) return owned;
    const mine = owned.filter((o) => member.partitions.has(partitionKey(o.topic, o.partition)) && kept(o));
    const others = owned.filter((o) => !mine.includes(o));
    if (mine.length === 0) return others;
    const identity = { groupId, memberId, groupInstanceId: groupInstanceId ?? null, generationOrEpoch: member.epoch, protocol: 'consumer' as const };
    return [...others, ...(await commitAs(this.#consumer, identity, mine))];
  }

  async highWatermarks(topics: readonly string[]): Promise<Map<string, number>> {
    const offsets = await this.#consumer.listOffsets({ topics: [...topics] });
    const result = new Map<string, number>();
    for (const [topic, partitions] of offsets) {
      partitions.forEach((offset, partition) => result.set(partitionKey(topic, partition), Number(offset)));
    }
    return result;
  }

  /**
   * Stops delivering records; the member stays in the group, subscribed, until `close`. The stream
   * is paused, not closed: closing it unsubscribes its topics, so a rebalance during the drain (another
   * member leaving) would give this member no partitions while its sinks still finish their records,
   * and its final commit would be dropped as no longer owned.
   */
  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#stream?.pause();
  }

  async close(): Promise<void> {
    await this.stop();
    await this.#stream?.close();
    await this.#consumer.close(true);
  }
}
