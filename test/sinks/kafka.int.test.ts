import { randomBytes } from 'node:crypto';
import { map } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { DEAD_LETTER_HEADERS } from '../../src/runtime/dead-letters.ts';
import { CountingLease, envelopeOf } from '../../src/core/envelope.ts';
import { silentLogger } from '../../src/core/logger.ts';
import { Metrics } from '../../src/core/metrics.ts';
import { createRuntime } from '../../src/runtime/runtime.ts';
import { createKafkaSink } from '../../src/sinks/kafka.ts';
import type { SinkContext } from '../../src/core/sink.ts';
import { brokers, createTopic, uniqueName } from '../support/stack.ts';
import { committedOffsets, endOffsets, produce, readTopic } from '../runtime/support.ts';

/** A topic refusing records over `maxMessageBytes`, deleted after the test. */
const createSmallTopic = (maxMessageBytes: number): Promise<string> =>
  createTopic({ prefix: 'kafka-sink-small', partitions: 1, configs: { 'max.message.bytes': String(maxMessageBytes) } });

describe('Kafka sink', () => {
  it('produces values, keys and headers, to a fixed topic or one chosen per record, with an idempotent acks=all producer', async () => {
    const scores = await createTopic({ prefix: 'sink-scores', partitions: 2 });
    const purchases = await createTopic({ prefix: 'sink-purchases', partitions: 1 });
    const metrics = new Metrics();
    const deadLetters: unknown[] = [];
    const context: SinkContext = { deadLetter: (e) => deadLetters.push(e), logger: silentLogger, metrics };
    const sink = createKafkaSink<{ type: string; player: string } | Buffer>(
      {
        id: 'out',
        brokers,
        topic: (e) => (Buffer.isBuffer(e.value) || e.value.type === 'score' ? scores : purchases),
        key: (e) => (Buffer.isBuffer(e.value) ? null : e.value.player),
        headers: (e) => ({ 'source-offset': String(e.meta.offset) }),
        compression: 'zstd',
      },
      context,
    );
    expect(sink.producerSettings).toEqual({ idempotent: true, acks: -1, compression: 'zstd' });
    const leases = [new CountingLease(), new CountingLease(), new CountingLease()];
    await sink.write([
      envelopeOf({ type: 'score', player: 'p1' }, { offset: 1 }, leases[0]),
      envelopeOf({ type: 'purchase', player: 'p2' }, { offset: 2 }, leases[1]),
      envelopeOf(Buffer.from([0xde, 0xad]), { offset: 3 }, leases[2]),
    ]);
    expect(leases.every((l) => l.done)).toBe(true);
    await sink.close();

    const scoreRecords = await readTopic(brokers, scores, 2);
    const purchaseRecords = await readTopic(brokers, purchases, 1);
    const score = scoreRecords.find((r) => r.key?.toString() === 'p1');
    expect(JSON.parse(String(score?.value))).toEqual({ type: 'score', player: 'p1' });
    expect(score?.headers).toEqual({ 'source-offset': '1' });
    const raw = scoreRecords.find((r) => r.key === null);
    expect(raw?.value).toEqual(Buffer.from([0xde, 0xad]));
    expect(purchaseRecords[0]?.key?.toString()).toBe('p2');
    expect(metrics.value('sink_records_total', { step: 'out' })).toBe(3);
    expect(deadLetters).toEqual([]);
  });

  it('sends a record the broker refuses as too large to dead letters, writes the rest, and commits past both', async () => {
    const source = await createTopic({ prefix: 'sink-src', partitions: 1 });
    const dlq = await createTopic({ prefix: 'sink-dlq', partitions: 1 });
    const target = await createSmallTopic(10_000);
    // Random hex: still over 10 kB once the sink's lz4 has compressed it.
    const big = randomBytes(25_000).toString('hex');
    await produce(brokers, source, [
      { key: 'a', value: 'small-1' },
      { key: 'b', value: big, headers: { origin: 'test' } },
      { key: 'c', value: 'small-2' },
    ]);
    const groupId = uniqueName('sink-dl');
    const runtime = createRuntime({
      source: { brokers, groupId, topics: [source], fromBeginning: true },
      deadLetterTopic: dlq,
      logger: silentLogger,
    });
    const done = runtime.run((input$, ctx) =>
      input$.pipe(
        map((e) => e),
        ctx.toSink(createKafkaSink({ id: 'to-small', brokers, topic: target }, ctx.sinkContext), { lingerMs: 20 }),
      ),
    );
    const written = await readTopic(brokers, target, 2);
    const dead = await readTopic(brokers, dlq, 1);
    await runtime.shutdown();
    await done;

    expect(written.map((r) => String(r.value)).sort()).toEqual(['small-1', 'small-2']);
    expect(dead).toHaveLength(1);
    const letter = dead[0];
    expect(letter?.key?.toString()).toBe('b');
    expect(String(letter?.value)).toBe(big);
    expect(letter?.headers).toMatchObject({
      origin: 'test',
      [DEAD_LETTER_HEADERS.topic]: source,
      [DEAD_LETTER_HEADERS.partition]: '0',
      [DEAD_LETTER_HEADERS.offset]: '1',
      [DEAD_LETTER_HEADERS.step]: 'to-small',
      [DEAD_LETTER_HEADERS.code]: 'TRIB_SINK_PERMANENT',
    });
    expect(JSON.parse(letter?.headers[DEAD_LETTER_HEADERS.error] ?? '{}')).toMatchObject({ code: 'TRIB_SINK_PERMANENT', stepId: 'to-small' });
    expect(await committedOffsets(brokers, groupId, source)).toEqual(await endOffsets(brokers, source));
    expect(runtime.metrics.value('dead_letters_total', { step: 'to-small', code: 'TRIB_SINK_PERMANENT' })).toBe(1);
  });
});
