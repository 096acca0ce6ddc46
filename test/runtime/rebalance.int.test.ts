/**
 * A second member joins while the first is busy: partitions move, the first member checkpoints its
 * revoked partitions, and between them the two deliver every record; the group's committed offsets
 * end at the log end (an old member's commit never lands after the new owner's). And a member still
 * draining when another leaves the group keeps its partitions through that rebalance, so its final
 * commit lands.
 */
import { describe, expect, it } from 'vitest';
import type { Envelope } from '../../src/core/envelope.ts';
import { createLogger, type Logger } from '../../src/core/logger.ts';
import { createRuntime, type Runtime, type RuntimeEvent } from '../../src/runtime/runtime.ts';
import type { Sink } from '../../src/core/sink.ts';
import { brokers, createTopic, uniqueName } from '../support/stack.ts';
import { committedOffsets, endOffsets, eventually, jsonRecords, produce } from './support.ts';

const N = 30_000;

// KIP-848 moves partitions at the broker's heartbeat interval (5 s): a slower sink keeps the first member busy until then.
const cases = [
  { name: 'platformatic', client: 'platformatic', groupProtocol: 'classic', writeMs: 5 },
  { name: 'platformatic, KIP-848 consumer protocol', client: 'platformatic', groupProtocol: 'consumer', writeMs: 50 },
  { name: 'kafkajs', client: 'kafkajs', groupProtocol: 'classic', writeMs: 5 },
] as const;

/** One member of `groupId` running `sink` over `topic`; its runtime events go to `events`. */
function startMember(o: {
  readonly client: (typeof cases)[number]['client'];
  readonly groupProtocol: (typeof cases)[number]['groupProtocol'];
  readonly groupId: string;
  readonly topic: string;
  readonly dlq: string;
  readonly logger: Logger;
  readonly commitIntervalMs: number;
  readonly sink: Sink<Buffer | null>;
  readonly events: RuntimeEvent[];
}) {
  const runtime = createRuntime({
    source: { client: o.client, groupProtocol: o.groupProtocol, brokers, groupId: o.groupId, topics: [o.topic], fromBeginning: true, sessionTimeoutMs: 10_000, heartbeatIntervalMs: 500 },
    deadLetterTopic: o.dlq,
    logger: o.logger,
    commitIntervalMs: o.commitIntervalMs,
  });
  runtime.events.subscribe((e) => o.events.push(e));
  const done = runtime.run((input$, ctx) => input$.pipe(ctx.toSink(o.sink, { maxBatchRecords: 200, lingerMs: 5 })));
  return { runtime, done };
}

describe.each(cases)('rebalance on $name', ({ name, client, groupProtocol, writeMs }) => {
  it('moves partitions to a new member without losing a record or a commit', async () => {
    const topic = await createTopic({ prefix: 'rebalance', partitions: 4 });
    const dlq = await createTopic({ prefix: 'rebalance-dlq', partitions: 1 });
    await produce(brokers, topic, jsonRecords(N));
    const groupId = uniqueName('rebalance');
    const seen = new Set<string>();
    let writes = 0;
    const sink = (id: string): Sink<Buffer | null> => ({
      id,
      async write(batch: readonly Envelope<Buffer | null>[]) {
        await new Promise((r) => setTimeout(r, writeMs));
        for (const e of batch) {
          seen.add(`${e.meta.partition}:${e.meta.offset}`);
          writes += 1;
          e.lease.release();
        }
      },
      async flush() {},
      async close() {},
    });
    // Each member's log at info (joins, revocations, commit trouble), printed only when the test fails.
    const logs = new Map<string, string[]>();
    const member = (name: string, events: RuntimeEvent[]) => {
      const lines: string[] = [];
      logs.set(name, lines);
      const logger = createLogger({ member: name }, 'info', { write: (line: string) => void lines.push(line.trim()) });
      return startMember({ client, groupProtocol, groupId, topic, dlq, logger, commitIntervalMs: 1000, sink: sink(name), events });
    };
    const eventsA: RuntimeEvent[] = [];
    const eventsB: RuntimeEvent[] = [];
    const a = member('a', eventsA);
    await eventually(() => seen.size >= 3000, 60_000, 20);
    const b = member('b', eventsB);
    await eventually(() => eventsA.some((e) => e.type === 'revoked') && eventsB.some((e) => e.type === 'assigned'), 60_000, 50);
    await eventually(() => seen.size >= N, 120_000, 50);
    await Promise.all([a.runtime.shutdown(), b.runtime.shutdown()]);
    await Promise.all([a.done, b.done]);

    console.log(`rebalance (${name}): ${writes} writes for ${N} records (${writes - N} duplicates)`);
    expect(seen.size).toBe(N);
    const committed = await committedOffsets(brokers, groupId, topic);
    const ends = await endOffsets(brokers, topic);
    if (JSON.stringify([...committed].sort()) !== JSON.stringify([...ends].sort())) {
      // Seen once in CI (2026-12-05, classic protocol): partitions 0 and 2 had no commit at all. The
      // member that owned them was still draining when the other left, rejoined unsubscribed (the
      // source closed its stream at the drain's start) and dropped its final commit; see the test below.
      for (const [who, runtime, events] of [['a', a.runtime, eventsA], ['b', b.runtime, eventsB]] as const) {
        const commits = runtime.metrics.snapshot().filter((m) => m.name === 'commits_total' || m.name === 'committed_offset');
        console.log(`member ${who}: events ${JSON.stringify(events.slice(-60))}\ncommits ${JSON.stringify(commits)}\nlog:\n${(logs.get(who) ?? []).slice(-150).join('\n')}`);
      }
    }
    expect(committed).toEqual(ends);
    const revoked = eventsA.filter((e) => e.type === 'revoked').flatMap((e) => ('partitions' in e ? e.partitions : []));
    expect(revoked.length).toBeGreaterThan(0);
  });
});

/** A sink that holds every write until `open()`; `entered` resolves at its first write. */
function heldSink(id: string) {
  const gate = Promise.withResolvers<void>();
  const entered = Promise.withResolvers<void>();
  const written: Envelope<Buffer | null>[] = [];
  const sink: Sink<Buffer | null> = {
    id,
    async write(batch: readonly Envelope<Buffer | null>[]) {
      entered.resolve();
      await gate.promise;
      for (const e of batch) {
        written.push(e);
        e.lease.release();
      }
    },
    async flush() {},
    async close() {},
  };
  return { sink, written, entered: entered.promise, open: () => gate.resolve() };
}

describe.each(cases)('shutdown overlapping another member leaving, on $name', ({ client, groupProtocol }) => {
  // ECS stops several tasks of a deploy together: one member still draining (its sinks finishing
  // the records it read) when another leaves. The draining member rejoins the rebalance that leave
  // starts; it must rejoin still subscribed, keep its partitions and commit them at its end. (With
  // @platformatic/kafka, closing the message stream at the start of the drain unsubscribed the
  // topics: the member rejoined with none, its partitions were revoked under its sinks, and its
  // final commit was dropped; their next owner would read them again from the last commit.)
  it('the draining member keeps its partitions and its final commit lands', async () => {
    const topic = await createTopic({ prefix: 'drain-leave', partitions: 4 });
    const dlq = await createTopic({ prefix: 'drain-leave-dlq', partitions: 1 });
    const groupId = uniqueName('drain-leave');
    // Only the final commits (and revocation checkpoints) commit: no periodic commit hides a lost one.
    const member = (name: string, sink: Sink<Buffer | null>, events: RuntimeEvent[]) =>
      startMember({ client, groupProtocol, groupId, topic, dlq, logger: createLogger({ member: name }, 'silent'), commitIntervalMs: 600_000, sink, events });
    const eventsA: RuntimeEvent[] = [];
    const eventsB: RuntimeEvent[] = [];
    const a = member('a', { id: 'a', async write(batch) { for (const e of batch) e.lease.release(); }, async flush() {}, async close() {} }, eventsA);
    await eventually(() => eventsA.some((e) => e.type === 'joined'), 60_000, 50);
    const held = heldSink('b');
    const b = member('b', held.sink, eventsB);
    await eventually(() => eventsA.some((e) => e.type === 'revoked') && eventsB.some((e) => e.type === 'assigned'), 60_000, 50);
    const ownedByB = new Set(eventsB.flatMap((e) => (e.type === 'assigned' ? e.partitions.map((p) => p.partition) : [])));

    // Records only now, so that every record of B's partitions is B's to read and commit.
    await produce(brokers, topic, jsonRecords(4000));
    const ends = await endOffsets(brokers, topic);
    const inflight = (runtime: Runtime) => {
      const value = runtime.metrics.snapshot().find((m) => m.name === 'inflight_records')?.value;
      return typeof value === 'number' ? value : 0;
    };
    const expectedByB = [...ownedByB].reduce((sum, p) => sum + (ends.get(p) ?? 0), 0);
    await held.entered;
    await eventually(() => inflight(b.runtime) >= expectedByB, 60_000, 50);

    // B starts draining (its sink holds the records), then A leaves the group; B takes part in the
    // rebalance that starts before its sink is done.
    const bStopped = b.runtime.shutdown();
    await eventually(() => eventsB.some((e) => e.type === 'stopping'), 10_000, 10);
    await a.runtime.shutdown();
    await a.done;
    const sinceLeave = eventsB.length;
    await eventually(() => eventsB.slice(sinceLeave).some((e) => e.type === 'assigned' || e.type === 'revoked'), 60_000, 50);
    held.open();
    await bStopped;
    await b.done;

    // B's final commit, after A left, covers every partition B read (its own leave revokes them after it).
    const committedAfterLeave = eventsB.slice(sinceLeave).flatMap((e) => (e.type === 'committed' ? e.offsets.map((o) => o.partition) : []));
    expect(new Set(committedAfterLeave)).toEqual(ownedByB);
    expect(held.written.length).toBe(expectedByB);
    expect(await committedOffsets(brokers, groupId, topic)).toEqual(ends);
  });
});
