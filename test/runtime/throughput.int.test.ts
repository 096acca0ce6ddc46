import { map } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/core/logger.ts';
import { createRuntime } from '../../src/runtime/runtime.ts';
import { brokers, createTopic, uniqueName } from '../support/stack.ts';
import { committedOffsets, CountingSink, endOffsets, eventually, jsonRecords, produce } from './support.ts';

const COUNT = 200_000;

describe.each(['platformatic', 'kafkajs'] as const)('runtime on %s', (client) => {
  it(`delivers every one of ${COUNT} records through identity to an idempotent sink, and commits them all`, async () => {
    const topic = await createTopic({ prefix: 'throughput', partitions: 3 });
    const dlq = await createTopic({ prefix: 'throughput-dlq', partitions: 1 });
    expect(await produce(brokers, topic, jsonRecords(COUNT))).toBe(COUNT);
    const groupId = uniqueName('throughput');
    const sink = new CountingSink<Buffer | null>();
    const runtime = createRuntime({
      source: { client, brokers, groupId, topics: [topic], fromBeginning: true },
      deadLetterTopic: dlq,
      logger: silentLogger,
      commitIntervalMs: 1000,
    });
    const done = runtime.run((input$, ctx) => input$.pipe(map((envelope) => envelope), ctx.toSink(sink)));
    await eventually(() => sink.seen.size >= COUNT, 170_000);
    expect((await runtime.shutdown()).clean).toBe(true);
    await done;

    expect(sink.seen.size).toBe(COUNT);
    const ids = new Set([...sink.seen.values()].map((value) => (JSON.parse(String(value)) as { id: string }).id));
    expect(ids.size).toBe(COUNT);
    expect(await committedOffsets(brokers, groupId, topic)).toEqual(await endOffsets(brokers, topic));
    expect(runtime.metrics.total('source_records_total')).toBe(COUNT);
    expect(runtime.metrics.value('inflight_records')).toBe(0);
  });
});
