/**
 * SIGTERM during load: the child drains, flushes, commits, leaves the group and exits 0 within its
 * deadline; the committed offsets equal what the sink holds, so a restart reprocesses nothing already
 * durable (and skips nothing).
 */
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { brokers, createTopic, uniqueName } from '../support/stack.ts';
import { readFileSink, startChild } from './children.ts';
import { committedOffsets, eventually, jsonRecords, produce } from './support.ts';

const N = 60_000;
const SHUTDOWN_MS = 15_000;

/** Offsets per partition in the file sink, asserting no offset was written twice. */
function offsetsByPartition(file: string): Map<number, number[]> {
  const { lines } = readFileSink(file);
  const seen = new Set<string>();
  const result = new Map<number, number[]>();
  for (const line of lines) {
    const [partition, offset] = line.split(':').map(Number) as [number, number];
    const key = `${partition}:${offset}`;
    expect(seen.has(key), `offset ${key} written twice`).toBe(false);
    seen.add(key);
    const list = result.get(partition) ?? [];
    list.push(offset);
    result.set(partition, list);
  }
  return result;
}

/** Each partition's committed offset is exactly one past a gap-free run of durable offsets from 0. */
async function expectCommittedEqualsDurable(file: string, groupId: string, topic: string): Promise<number> {
  const durable = offsetsByPartition(file);
  const committed = await committedOffsets(brokers, groupId, topic);
  let total = 0;
  for (const [partition, offsets] of durable) {
    offsets.sort((a, b) => a - b);
    expect(offsets[0]).toBe(0);
    expect(offsets.at(-1)).toBe(offsets.length - 1);
    expect(committed.get(partition), `partition ${partition}`).toBe(offsets.length);
    total += offsets.length;
  }
  return total;
}

describe.each(['platformatic', 'kafkajs'] as const)('SIGTERM on %s', (client) => {
  it('exits 0 within the deadline with committed offsets equal to what the sink holds', async () => {
    const topic = await createTopic({ prefix: 'sigterm', partitions: 3 });
    const dlq = await createTopic({ prefix: 'sigterm-dlq', partitions: 1 });
    await produce(brokers, topic, jsonRecords(N));
    const file = join(tmpdir(), `${uniqueName('sigterm')}.log`);
    const groupId = uniqueName('sigterm');
    const env = { CLIENT: client, TOPIC: topic, DLQ: dlq, GROUP: groupId, FILE: file, SLOW_MS: '10', MAX_INFLIGHT: '5000', COMMIT_MS: '60000', SHUTDOWN_MS: String(SHUTDOWN_MS) };

    const first = startChild('pipeline-child.ts', env);
    await first.ready;
    await eventually(() => readFileSink(file).lines.length >= 10_000, 120_000, 20);
    const signalled = Date.now();
    first.process.kill('SIGTERM');
    const { code } = await first.exit;
    const tookMs = Date.now() - signalled;
    expect(code, first.output()).toBe(0);
    expect(tookMs).toBeLessThan(SHUTDOWN_MS);
    const durableAfterFirst = await expectCommittedEqualsDurable(file, groupId, topic);
    expect(durableAfterFirst).toBeLessThan(N);

    // A restart continues exactly where the first run stopped: no offset is written twice.
    const second = startChild('pipeline-child.ts', env);
    await second.ready;
    await eventually(() => readFileSink(file).lines.length >= Math.min(N, durableAfterFirst + 5000), 120_000, 20);
    second.process.kill('SIGTERM');
    expect((await second.exit).code, second.output()).toBe(0);
    const durableAfterSecond = await expectCommittedEqualsDurable(file, groupId, topic);
    expect(durableAfterSecond).toBeGreaterThan(durableAfterFirst);
    console.log(`sigterm (${client}): first run stopped in ${tookMs} ms with ${durableAfterFirst} durable; second run ${durableAfterSecond}`);
  });
});
