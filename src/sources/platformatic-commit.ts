/**
 * Offset commits for @platformatic/kafka under a generation (or member epoch) the caller chooses.
 *
 * `Consumer.commit` reads the generation when the request goes out and, when the group refuses it,
 * rejoins and sends it again under the new generation: a partition revoked meanwhile is then
 * committed by its old member after its new owner. These requests use the client's public protocol
 * API (`offsetCommitV8`/`V9`, `consumerGroupDescribeV0`) on its connection to the group coordinator.
 */
import { consumerGroupDescribeV0, offsetCommitV8, offsetCommitV9, type Connection, type Consumer } from '@platformatic/kafka';
import { FENCING_ERRORS } from './ownership.ts';
import { partitionKey, type CommitOffset } from './source.ts';

type AnyConsumer = Consumer<Buffer | undefined, Buffer | undefined, string, string>;

export interface CommitIdentity {
  readonly groupId: string;
  readonly memberId: string;
  readonly groupInstanceId: string | null;
  /** Generation (classic protocol) or member epoch (consumer protocol, sent with OffsetCommit v9). */
  readonly generationOrEpoch: number;
  readonly protocol: 'classic' | 'consumer';
}

async function coordinator(consumer: AnyConsumer): Promise<Connection> {
  const id = consumer.coordinatorId;
  if (id === null) throw new Error('no group coordinator known yet');
  const connection = (await consumer.connectToBrokers([id])).get(id);
  if (connection === undefined) throw new Error(`group coordinator ${id} is not reachable`);
  return connection;
}

/** The per-partition error codes of a refused OffsetCommit, or undefined when the error is not a response. */
function partitionErrors(error: unknown): Map<string, number> | undefined {
  const response = (error as { response?: { topics?: { name: string; partitions: { partitionIndex: number; errorCode: number }[] }[] } }).response;
  if (response?.topics === undefined) return undefined;
  const codes = new Map<string, number>();
  for (const topic of response.topics) {
    for (const p of topic.partitions) if (p.errorCode !== 0) codes.set(partitionKey(topic.name, p.partitionIndex), p.errorCode);
  }
  return codes;
}

/** Commits under `identity`; resolves with the offsets refused as fenced, throws on any other error. */
export async function commitAs(consumer: AnyConsumer, identity: CommitIdentity, offsets: readonly CommitOffset[]): Promise<CommitOffset[]> {
  const topics = new Map<string, offsetCommitV8.OffsetCommitRequestTopic>();
  for (const o of offsets) {
    let topic = topics.get(o.topic);
    if (topic === undefined) topics.set(o.topic, (topic = { name: o.topic, partitions: [] }));
    topic.partitions.push({ partitionIndex: o.partition, committedOffset: BigInt(o.offset), committedLeaderEpoch: o.leaderEpoch, committedMetadata: null });
  }
  const api = identity.protocol === 'consumer' ? offsetCommitV9.api : offsetCommitV8.api;
  const connection = await coordinator(consumer);
  try {
    await api.async(connection, identity.groupId, identity.generationOrEpoch, identity.memberId, identity.groupInstanceId, [...topics.values()]);
    return [];
  } catch (error) {
    const codes = partitionErrors(error);
    if (codes === undefined || codes.size === 0 || [...codes.values()].some((code) => !FENCING_ERRORS.has(code))) throw error;
    return offsets.filter((o) => codes.has(partitionKey(o.topic, o.partition)));
  }
}

/** The member epoch and assigned partitions (`topic:partition`) the coordinator holds for a consumer-protocol member. */
export async function describeMember(consumer: AnyConsumer, groupId: string, memberId: string): Promise<{ epoch: number; partitions: Set<string> } | undefined> {
  const response = await consumerGroupDescribeV0.api.async(await coordinator(consumer), [groupId], false);
  const member = response.groups[0]?.members.find((m) => m.memberId === memberId);
  if (member === undefined) return undefined;
  const partitions = new Set<string>();
  for (const tp of member.assignment.topicPartitions) for (const p of tp.partitions) partitions.add(partitionKey(tp.topicName, p));
  return { epoch: member.memberEpoch, partitions };
}
