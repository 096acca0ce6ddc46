/**
 * Poison records (malformed JSON, wrong types, a 2 MiB value) mixed into valid traffic all land in
 * the dead-letter topic with the right headers, and every valid record reaches the sink. The
 * decode+check stage is written here: runtime code does not depend on src/operators.
 */
import { mergeMap, EMPTY, of, type OperatorFunction } from 'rxjs';
import { batched } from '../../src/operators/batched.ts';
import { describe, expect, it } from 'vitest';
import { DecodeError, ValidationError } from '../../src/core/errors.ts';
import { DEAD_LETTER_HEADERS } from '../../src/runtime/dead-letters.ts';
import { withValue, type Envelope } from '../../src/core/envelope.ts';
import { silentLogger } from '../../src/core/logger.ts';
import { createRuntime } from '../../src/runtime/runtime.ts';
import type { DeadLetter } from '../../src/core/sink.ts';
import { brokers, createTopic, uniqueName } from '../support/stack.ts';
import { committedOffsets, CountingSink, endOffsets, eventually, produce, readTopic, type TestRecord } from './support.ts';

const MAX_VALUE_BYTES = 1024 * 1024;

interface Event {
  id: string;
  points: number;
}

/** Decodes JSON (values up to 1 MiB) and checks `{ id: string, points: number }`. */
function decodeAndCheck(deadLetter: DeadLetter): OperatorFunction<Envelope<Buffer | null>, Envelope<Event>> {
  return mergeMap((envelope) => {
    const bytes = envelope.value;
    if (bytes === null || bytes.length > MAX_VALUE_BYTES) {
      deadLetter(envelope, new DecodeError(`value of ${bytes?.length ?? 0} bytes exceeds ${MAX_VALUE_BYTES}`, { stepId: 'parse' }), 'parse');
      return EMPTY;
    }
    let decoded: unknown;
    try {
      decoded = JSON.parse(bytes.toString('utf8'));
    } catch (error) {
      deadLetter(envelope, new DecodeError((error as Error).message, { stepId: 'parse', cause: error }), 'parse');
      return EMPTY;
    }
    const event = decoded as Partial<Event>;
    if (typeof event.id !== 'string' || typeof event.points !== 'number') {
      deadLetter(withValue(envelope, decoded), new ValidationError('id must be a string and points a number', { stepId: 'validate' }), 'validate');
      return EMPTY;
    }
    return of(withValue(envelope, event as Event));
  });
}

describe.each(['platformatic', 'kafkajs'] as const)('poison records on %s', (client) => {
  it('go to the dead-letter topic with their headers; every valid record arrives', async () => {
    const topic = await createTopic({ prefix: 'poison', partitions: 3 });
    const dlq = await createTopic({ prefix: 'poison-dlq', partitions: 1 });
    const records: TestRecord[] = [];
    const poison = new Map<string, { kind: string; value: string }>();
    const huge = `{"id":"huge","points":1,"pad":"${'y'.repeat(2 * 1024 * 1024)}"}`;
    for (let i = 0; i < 3000; i++) {
      records.push({ key: `ok-${i}`, value: JSON.stringify({ id: `e${i}`, points: i }) });
      if (i % 150 === 7) {
        const value = `{"id":"bad-${i}", "points": ${i}`;
        poison.set(`bad-${i}`, { kind: 'malformed', value });
        records.push({ key: `bad-${i}`, value, headers: { origin: 'fuzz' } });
      }
      if (i % 150 === 70) {
        const value = JSON.stringify({ id: i, points: 'many' });
        poison.set(`type-${i}`, { kind: 'types', value });
        records.push({ key: `type-${i}`, value, headers: { origin: 'fuzz' } });
      }
      if (i === 1500) {
        poison.set('huge', { kind: 'huge', value: huge });
        records.push({ key: 'huge', value: huge });
      }
    }
    await produce(brokers, topic, records, { batchSize: 500 });
    const groupId = uniqueName('poison');
    const sink = new CountingSink<Event>('events');
    const runtime = createRuntime({ source: { client, brokers, groupId, topics: [topic], fromBeginning: true }, deadLetterTopic: dlq, logger: silentLogger });
    const done = runtime.run((input$, ctx) => input$.pipe(batched(decodeAndCheck(ctx.deadLetter)), ctx.toSink(sink)));
    await eventually(() => sink.seen.size >= 3000, 120_000);
    const dead = await readTopic(brokers, dlq, poison.size, 120_000);
    await runtime.shutdown();
    await done;

    expect(sink.seen.size).toBe(3000);
    expect(new Set([...sink.seen.values()].map((e) => e.id)).size).toBe(3000);
    expect(dead).toHaveLength(poison.size);
    for (const letter of dead) {
      const key = String(letter.key);
      const expected = poison.get(key);
      expect(expected, key).toBeDefined();
      const h = letter.headers;
      expect(h[DEAD_LETTER_HEADERS.topic]).toBe(topic);
      expect(Number(h[DEAD_LETTER_HEADERS.partition])).toBeGreaterThanOrEqual(0);
      expect(Number(h[DEAD_LETTER_HEADERS.offset])).toBeGreaterThanOrEqual(0);
      expect(JSON.parse(h[DEAD_LETTER_HEADERS.error] ?? '{}')).toMatchObject({ code: h[DEAD_LETTER_HEADERS.code], message: h[DEAD_LETTER_HEADERS.message] });
      if (expected?.kind === 'types') {
        expect(h).toMatchObject({ [DEAD_LETTER_HEADERS.step]: 'validate', [DEAD_LETTER_HEADERS.code]: 'TRIB_VALIDATION', origin: 'fuzz' });
        expect(JSON.parse(String(letter.value))).toEqual(JSON.parse(expected.value));
      } else {
        expect(h).toMatchObject({ [DEAD_LETTER_HEADERS.step]: 'parse', [DEAD_LETTER_HEADERS.code]: 'TRIB_DECODE' });
        expect(String(letter.value)).toBe(expected?.value);
      }
    }
    // The dead letters name the exact source record.
    const source = await readTopic(brokers, topic, records.length);
    const byPosition = new Map(source.map((r) => [`${r.partition}:${r.offset}`, String(r.key)]));
    for (const letter of dead) {
      expect(byPosition.get(`${letter.headers[DEAD_LETTER_HEADERS.partition]}:${letter.headers[DEAD_LETTER_HEADERS.offset]}`)).toBe(String(letter.key));
    }
    expect(await committedOffsets(brokers, groupId, topic)).toEqual(await endOffsets(brokers, topic));
    expect(runtime.metrics.total('dead_letters_total')).toBe(poison.size);
  });
});
