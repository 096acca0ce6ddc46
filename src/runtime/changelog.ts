/**
 * Changelog topics on Kafka: the durable side of stateful steps (see `core/state.ts`).
 *
 * Writes go through the runtime's idempotent, acks=all producer, to the changelog partition that
 * matches the input partition. Restores read one changelog partition from its start to its end
 * offset with plain fetches (no consumer group), keeping the latest value per key.
 */
import { Admin, Consumer, ListOffsetTimestamps } from '@platformatic/kafka';
import { changelogTopic, type Changelog, type ChangelogEntry, type StateBackend, type StatefulStep } from '../core/state.ts';
import { platformaticConnection, type KafkaConnectionOptions } from '../sources/connection.ts';
import type { RecordSender } from '../sinks/kafka-producer.ts';
import { ConfigError } from '../core/errors.ts';
import type { Logger } from '../core/logger.ts';
import type { Metrics } from '../core/metrics.ts';

const FETCH_BYTES = 8 * 1024 * 1024;

export interface KafkaChangelogsOptions {
  readonly connection: KafkaConnectionOptions;
  readonly groupId: string;
  readonly producer: RecordSender;
  readonly logger: Logger;
  readonly metrics: Metrics;
}

export class KafkaChangelogs implements StateBackend {
  readonly #o: KafkaChangelogsOptions;
  readonly #steps = new Set<StatefulStep & { readonly topic: string }>();
  readonly #changelogs = new Map<string, Changelog>();
  readonly #readers = new Set<Consumer>();

  constructor(options: KafkaChangelogsOptions) {
    this.#o = options;
  }

  changelog(stepId: string): Changelog {
    const existing = this.#changelogs.get(stepId);
    if (existing) return existing;
    const topic = changelogTopic(this.#o.groupId, stepId);
    const changelog: Changelog = {
      topic,
      restore: (partition, choose) => this.#restore(topic, partition, choose),
      write: (entries) => this.#write(topic, entries),
      register: (step) => {
        const entry = { topic, snapshot: () => step.snapshot() };
        this.#steps.add(entry);
        return () => this.#steps.delete(entry);
      },
    };
    this.#changelogs.set(stepId, changelog);
    return changelog;
  }

  /** Takes every registered step's snapshot at one instant, writes them all, then tells each step. */
  async checkpoint(): Promise<void> {
    if (this.#steps.size === 0) return;
    const taken = [...this.#steps].map((step) => ({ topic: step.topic, snapshot: step.snapshot() }));
    const records = taken.flatMap(({ topic, snapshot }) => snapshot.entries.map((entry) => ({ topic, entry })));
    if (records.length > 0) {
      const bytes = records.reduce((sum, { entry }) => sum + (entry.value?.length ?? 0), 0);
      await this.#send(records);
      this.#o.metrics.inc('state_changelog_records_total', {}, records.length);
      this.#o.metrics.inc('state_changelog_bytes_total', {}, bytes);
    }
    for (const { snapshot } of taken) snapshot.durable();
  }

  async close(): Promise<void> {
    await Promise.all([...this.#readers].map((reader) => reader.close().catch(() => {})));
  }

  #write(topic: string, entries: readonly ChangelogEntry[]): Promise<void> {
    return this.#send(entries.map((entry) => ({ topic, entry })));
  }

  async #send(records: readonly { topic: string; entry: ChangelogEntry }[]): Promise<void> {
    const outcomes = await this.#o.producer.send(
      records.map(({ topic, entry }) => ({ topic, partition: entry.partition, key: Buffer.from(entry.key), value: entry.value, headers: {} })),
    );
    const refused = outcomes.find((outcome) => outcome !== undefined);
    if (refused) throw new Error(`changelog write refused: ${refused.message}`, { cause: refused });
  }

  async #restore(topic: string, partition: number, choose?: (previous: Buffer, next: Buffer) => Buffer): Promise<Map<string, Buffer>> {
    // One reader per restore: a consumer's fetch sessions do not take concurrent fetches.
    const reader = new Consumer({
      clientId: `tributary-${this.#o.groupId}-restore`,
      groupId: `${this.#o.groupId}-restore`,
      ...platformaticConnection(this.#o.connection),
    });
    this.#readers.add(reader);
    try {
      return await this.#read(reader, topic, partition, choose);
    } finally {
      this.#readers.delete(reader);
      await reader.close().catch(() => {});
    }
  }

  async #read(reader: Consumer, topic: string, partition: number, choose?: (previous: Buffer, next: Buffer) => Buffer): Promise<Map<string, Buffer>> {
    const started = Date.now();
    const metadata = await reader.metadata({ topics: [topic], forceUpdate: true });
    const topicMeta = metadata.topics.get(topic);
    const leader = topicMeta?.partitions[partition]?.leader;
    if (topicMeta === undefined || leader === undefined) throw new Error(`changelog ${topic} has no partition ${partition}`);
    const offsets = await reader.listOffsets({ topics: [topic] });
    const end = offsets.get(topic)?.[partition] ?? 0n;
    // Retention (dedup changelogs delete after the TTL) moves the log start past 0.
    const logStart = async () => (await reader.listOffsets({ topics: [topic], timestamp: ListOffsetTimestamps.EARLIEST })).get(topic)?.[partition] ?? 0n;
    const state = new Map<string, Buffer>();
    let offset = await logStart();
    let records = 0;
    while (offset < end) {
      let response;
      try {
        response = await reader.fetch({
          node: leader,
          maxWaitTime: 100,
          topics: [{ topicId: topicMeta.id, partitions: [{ partition, fetchOffset: offset, currentLeaderEpoch: -1, lastFetchedEpoch: -1, partitionMaxBytes: FETCH_BYTES }] }],
        });
      } catch (error) {
        // Retention deleted the segment being read: what it held has expired; go on from the new start.
        if (!isOffsetOutOfRange(error)) throw error;
        const start = await logStart();
        if (start <= offset) throw error;
        offset = start;
        continue;
      }
      const answer = response.responses[0]?.partitions[0];
      if (answer === undefined) continue;
      if (answer.errorCode !== 0) throw new Error(`restoring ${topic}-${partition}: fetch error ${answer.errorCode}`);
      // A compacted log starts past 0 and has gaps: move on by whole batches.
      if ((answer.records ?? []).length === 0 && offset < answer.logStartOffset) offset = answer.logStartOffset;
      for (const batch of answer.records ?? []) {
        for (const record of batch.records) {
          if (batch.firstOffset + BigInt(record.offsetDelta) < offset || record.key === null) continue;
          records++;
          const key = record.key.toString();
          if (record.value === null || record.value.length === 0) state.delete(key);
          else {
            const previous = choose === undefined ? undefined : state.get(key);
            state.set(key, previous === undefined || choose === undefined ? record.value : choose(previous, record.value));
          }
        }
        const next = batch.firstOffset + BigInt(batch.lastOffsetDelta) + 1n;
        if (next > offset) offset = next;
      }
    }
    const ms = Date.now() - started;
    this.#o.metrics.inc('state_restored_records_total', {}, records);
    this.#o.logger.info({ topic, partition, records, keys: state.size, ms }, 'state restored');
    return state;
  }
}

/**
 * Creates missing internal topics (changelogs compacted, repartition topics by time) with as many
 * partitions as the largest input; returns the partitions of each input topic.
 */
export async function ensureInternalTopics(
  connection: KafkaConnectionOptions,
  inputs: readonly string[],
  topics: readonly { readonly name: string; readonly kind: 'changelog' | 'repartition'; readonly retentionMs?: number }[],
): Promise<Map<string, number>> {
  if (topics.length === 0) return new Map();
  const admin = new Admin({ clientId: 'tributary-internal-topics', ...platformaticConnection(connection) });
  try {
    const metadata = await admin.metadata({ topics: [...inputs] });
    const counts = new Map([...metadata.topics].map(([name, t]) => [name, t.partitionsCount]));
    const partitions = Math.max(1, ...counts.values());
    const existing = new Set(await admin.listTopics());
    // A topic someone else just created may not be listed yet: its creation then fails as already
    // there, and it is checked like one that was listed.
    const present = topics.filter((topic) => existing.has(topic.name)).map((topic) => topic.name);
    for (const topic of topics) {
      if (existing.has(topic.name)) continue;
      const configs =
        topic.kind === 'changelog'
          ? [
              { name: 'cleanup.policy', value: topic.retentionMs === undefined ? 'compact' : 'compact,delete' },
              { name: 'max.message.bytes', value: String(16 * 1024 * 1024) },
              { name: 'segment.ms', value: String(10 * 60_000) },
              ...(topic.retentionMs === undefined ? [] : [{ name: 'retention.ms', value: String(topic.retentionMs) }]),
            ]
          : [
              { name: 'retention.ms', value: String(topic.retentionMs ?? 7 * 24 * 3_600_000) },
              // Packs go uncompressed: a send of a full batch to one partition may pass the broker's 1 MiB default.
              { name: 'max.message.bytes', value: String(16 * 1024 * 1024) },
            ];
      try {
        await admin.createTopics({ topics: [topic.name], partitions, replicas: -1, configs });
      } catch (error) {
        // Another instance may have created it first (several start together); the listing can
        // take a moment to show it.
        if (!(await listed(admin, topic.name))) throw error;
        present.push(topic.name);
      }
    }
    if (present.length > 0) {
      const found = await partitionCounts(admin, present);
      const short = present.flatMap((name) => {
        const count = found.get(name) ?? 0;
        return count < partitions ? [{ name, count }] : [];
      });
      if (short.length > 0) throw new ConfigError(short.map(({ name, count }) => tooFewPartitions(name, count, partitions)));
    }
    return counts;
  } finally {
    await admin.close();
  }
}

/**
 * Why an internal topic with fewer partitions than the largest input cannot be used: state and
 * repartitioned keys are placed by input partition (or by the key's hash modulo that count).
 */
function tooFewPartitions(name: string, count: number, partitions: number): string {
  return (
    `internal topic ${name} has ${count} partitions, fewer than the largest input topic (${partitions}): state and ` +
    `repartitioned keys are placed by input partition or by key hash modulo ${partitions}. With every instance stopped, ` +
    `a dedup or fraud changelog can take more partitions (kafka-topics.sh --alter --topic ${name} --partitions ${partitions}); ` +
    `a repartition topic or a repartitioned window's changelog must be deleted once the group's input is drained, and is created anew`
  );
}

/** Partition counts of topics known to exist; a broker that does not know one yet is asked again. */
async function partitionCounts(admin: Admin, topics: readonly string[]): Promise<Map<string, number>> {
  return poll(
    async () => {
      const metadata = await admin.metadata({ topics: [...topics] }).catch(() => undefined);
      return new Map([...(metadata?.topics ?? [])].map(([name, t]) => [name, t.partitionsCount]));
    },
    (counts) => topics.every((topic) => (counts.get(topic) ?? 0) > 0),
  );
}

async function listed(admin: Admin, topic: string): Promise<boolean> {
  return poll(async () => (await admin.listTopics()).includes(topic), (found) => found);
}

/** Asks up to 10 times, 500 ms apart, until `done` holds (a broker's view catching up); the last answer. */
async function poll<T>(ask: () => Promise<T>, done: (answer: T) => boolean): Promise<T> {
  let answer = await ask();
  for (let attempt = 1; attempt < 10 && !done(answer); attempt++) {
    await new Promise((resolve) => setTimeout(resolve, 500));
    answer = await ask();
  }
  return answer;
}

/** Whether a client error is OFFSET_OUT_OF_RANGE (@platformatic/kafka: `apiId`, possibly nested in `errors`). */
function isOffsetOutOfRange(error: unknown): boolean {
  const { apiId, errors } = (error ?? {}) as { apiId?: string; errors?: unknown[] };
  return apiId === 'OFFSET_OUT_OF_RANGE' || (errors ?? []).some(isOffsetOutOfRange);
}
