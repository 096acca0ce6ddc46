/**
 * Commits are fenced by the generation in which the member owns the partitions: an old member's
 * commit never lands after the partition's new owner committed, whatever the timing. (The bug this
 * guards: @platformatic/kafka rejoined and the runtime committed revoked partitions afterwards under
 * the new generation, moving the new owner's committed offset back.)
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { silentLogger } from '../../src/core/logger.ts';
import { defaultSource } from '../../src/runtime/runtime-options.ts';
import { partitionKey, type TopicPartition } from '../../src/core/partition.ts';
import { type KafkaSource, type SourceOptions } from '../../src/sources/source.ts';
import { committedOffsets, eventually, jsonRecords, produce } from '../runtime/support.ts';
import { brokers, createTopic, uniqueName } from '../support/stack.ts';

const at = (partitions: readonly TopicPartition[], offset: number) => partitions.map((tp) => ({ ...tp, offset, leaderEpoch: -1 }));

/** A started source and the partitions it owns, closed after the test. */
async function member(options: SourceOptions): Promise<{ source: KafkaSource; owned: Map<string, TopicPartition> }> {
  const source = defaultSource(options, silentLogger);
  const owned = new Map<string, TopicPartition>();
  onTestFinished(() => source.close().catch(() => {}));
  await source.start({
    onRecord: () => {},
    onAssigned: (partitions) => partitions.forEach((tp) => owned.set(partitionKey(tp.topic, tp.partition), tp)),
    onRevoking: async () => {},
    onRevoked: (partitions) => partitions.forEach((tp) => owned.delete(partitionKey(tp.topic, tp.partition))),
    onError: () => {},
  });
  return { source, owned };
}

/** Blocks this thread (no timers, no sockets read): the member misses its heartbeats. */
function freeze(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

describe.each(['platformatic', 'kafkajs'] as const)('commit fencing (%s)', (client) => {
  it('never commits a partition now assigned to another member; the new owner keeps its offset', async () => {
    const topic = await createTopic({ prefix: 'fence', partitions: 4 });
    await produce(brokers, topic, jsonRecords(400)); // offsets committed below exist (kafkajs resets an out-of-range one)
    const options = { client, brokers, groupId: uniqueName('fence'), topics: [topic], sessionTimeoutMs: 10_000, heartbeatIntervalMs: 300 };
    const a = await member(options);
    await eventually(() => a.owned.size === 4, 60_000, 50);
    const all = [...a.owned.values()];
    const b = await member(options);
    await eventually(() => a.owned.size === 2 && b.owned.size === 2, 60_000, 50);
    expect(await b.source.commit(at([...b.owned.values()], 10))).toEqual([]);

    // A's late commit of all four, as the runtime made it for revoked partitions before.
    const refused = await a.source.commit(at(all, 5));
    expect(refused.map((o) => o.partition).sort()).toEqual([...b.owned.values()].map((tp) => tp.partition).sort());
    const committed = await committedOffsets(brokers, options.groupId, topic);
    for (const tp of b.owned.values()) expect(committed.get(tp.partition)).toBe(10);
    for (const tp of a.owned.values()) expect(committed.get(tp.partition)).toBe(5);
  });

  it('a commit made while the member owned the partitions, held until the group replaced it and the new owner committed, is refused', async () => {
    const topic = await createTopic({ prefix: 'fence-late', partitions: 4 });
    await produce(brokers, topic, jsonRecords(400));
    const groupId = uniqueName('fence-late');
    const a = await member({ client, brokers, groupId, topics: [topic], sessionTimeoutMs: 6000, rebalanceTimeoutMs: 6000, heartbeatIntervalMs: 500 });
    await eventually(() => a.owned.size === 4, 60_000, 50);

    const child = spawn(join('node_modules', '.bin', 'node'), [join('test', 'sources', 'fixtures', 'new-owner.ts')], {
      env: { ...process.env, CLIENT: client, BROKERS: brokers.join(','), GROUP: groupId, TOPIC: topic, OFFSET: '10' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk));
    onTestFinished(() => void child.kill('SIGTERM'));

    // The commit takes A's generation now; A then stalls past its session timeout, the group moves on
    // without it, and the new owner commits all four partitions before A's request goes out.
    const late = a.source.commit(at([...a.owned.values()], 5));
    freeze(15_000);
    const thawed = Date.now();
    const refused = await late;
    await eventually(() => output.includes('committed'), 30_000, 50);
    const [, when, partitions] = /committed (\d+) (\[[\d,]*\])/.exec(output) ?? [];
    expect(JSON.parse(partitions ?? '[]').length, output).toBe(4);
    expect(Number(when)).toBeLessThan(thawed);

    expect(refused.map((o) => o.partition).sort()).toEqual([0, 1, 2, 3]);
    const committed = await committedOffsets(brokers, groupId, topic);
    expect([...committed.values()], output).toEqual([10, 10, 10, 10]);
  });
});
