import { describe, expect, it } from 'vitest';
import { DecodeError, ValidationError } from '../../src/core/errors.ts';
import { DEAD_LETTER_HEADERS, deadLetterRecord, KafkaDeadLetters } from '../../src/runtime/dead-letters.ts';
import { CountingLease, envelopeOf } from '../../src/core/envelope.ts';
import type { OutgoingRecord, RecordSender } from '../../src/sinks/kafka-producer.ts';
import { createLogger, silentLogger, type Logger } from '../../src/core/logger.ts';
import { Metrics } from '../../src/core/metrics.ts';
import { createPrometheusExposition } from '../../src/runtime/prometheus.ts';

const meta = { topic: 'events', partition: 2, offset: 41, key: Buffer.from('k1'), headers: { trace: 'abc' } };

class FakeSender implements RecordSender {
  readonly sent: OutgoingRecord[][] = [];
  outcome: (record: OutgoingRecord, call: number) => Error | undefined | 'throw' = () => undefined;
  calls = 0;
  async send(records: readonly OutgoingRecord[]): Promise<(Error | undefined)[]> {
    this.calls += 1;
    this.sent.push([...records]);
    const outcomes = records.map((r) => this.outcome(r, this.calls));
    if (outcomes.includes('throw')) throw new Error('broker down');
    return outcomes as (Error | undefined)[];
  }
}

function writer(sender: FakeSender, fatal: Error[] = [], more: { logger?: Logger; logRecordContent?: boolean } = {}) {
  return new KafkaDeadLetters({
    topic: 'dlq',
    producer: sender,
    logger: silentLogger,
    metrics: new Metrics(),
    onFatal: (e) => fatal.push(e),
    ...more,
  });
}

/** A real Tributary logger whose JSON lines are kept. */
function capturingLogger(): { logger: Logger; lines: () => Record<string, unknown>[] } {
  const chunks: string[] = [];
  const logger = createLogger({}, 'debug', { write: (chunk: string) => void chunks.push(chunk) });
  return { logger, lines: () => chunks.map((c) => JSON.parse(c) as Record<string, unknown>) };
}

/** `{"a":{"a":…}}`, `levels` deep: past what JSON.stringify can encode. */
function deepValue(levels: number): unknown {
  return JSON.parse(`${'{"a":'.repeat(levels)}1${'}'.repeat(levels)}`);
}

describe('dead letters', () => {
  it('builds a record with the original key, headers and bytes plus tributary headers', () => {
    const error = new DecodeError('Unexpected token } in JSON', { stepId: 'parse' });
    const record = deadLetterRecord('dlq', envelopeOf(Buffer.from('{bad'), meta), error, 'parse');
    expect(record.topic).toBe('dlq');
    expect(record.key?.toString()).toBe('k1');
    expect(record.value?.toString()).toBe('{bad');
    expect(record.headers).toMatchObject({
      trace: 'abc',
      [DEAD_LETTER_HEADERS.topic]: 'events',
      [DEAD_LETTER_HEADERS.partition]: '2',
      [DEAD_LETTER_HEADERS.offset]: '41',
      [DEAD_LETTER_HEADERS.step]: 'parse',
      [DEAD_LETTER_HEADERS.code]: 'TRIB_DECODE',
      [DEAD_LETTER_HEADERS.message]: 'Unexpected token } in JSON',
    });
    expect(JSON.parse(record.headers[DEAD_LETTER_HEADERS.error] as string)).toMatchObject({ name: 'DecodeError', code: 'TRIB_DECODE', stepId: 'parse' });
  });

  it('writes a decoded value as its JSON', () => {
    const record = deadLetterRecord('dlq', envelopeOf({ id: 1, points: 'x' }, meta), new ValidationError('points must be a number'), 'validate');
    expect(JSON.parse(record.value?.toString() ?? '')).toEqual({ id: 1, points: 'x' });
  });

  it('releases the lease only after the broker acknowledged', async () => {
    const sender = new FakeSender();
    let ack!: () => void;
    const acked = new Promise<void>((resolve) => (ack = resolve));
    const original = sender.send.bind(sender);
    sender.send = async (records) => {
      await acked;
      return original(records);
    };
    const dl = writer(sender);
    const lease = new CountingLease();
    dl.deadLetter(envelopeOf(Buffer.from('x'), meta, lease), new DecodeError('bad'), 'parse');
    await new Promise((r) => setTimeout(r, 10));
    expect(lease.done).toBe(false);
    expect(dl.pending).toBe(1);
    ack();
    await dl.flush();
    expect(lease.done).toBe(true);
    expect(dl.pending).toBe(0);
  });

  it('writes a dead letter the broker refuses for size again without its value', async () => {
    const sender = new FakeSender();
    sender.outcome = (record) => (record.value !== null && record.value.length > 10 ? new Error('MESSAGE_TOO_LARGE') : undefined);
    const dl = writer(sender);
    const big = new CountingLease();
    const small = new CountingLease();
    dl.deadLetter(envelopeOf(Buffer.alloc(100), meta, big), new DecodeError('too large'), 'parse');
    dl.deadLetter(envelopeOf(Buffer.from('x'), meta, small), new DecodeError('bad'), 'parse');
    await dl.flush();
    expect(big.done && small.done).toBe(true);
    const retried = sender.sent[1]?.[0];
    expect(retried?.value).toBeNull();
    expect(retried?.headers[DEAD_LETTER_HEADERS.dropped]).toMatch(/^100 bytes refused/);
  });

  it('counts acknowledged dead letters by step and error code, and exports both labels on /metrics', async () => {
    const metrics = new Metrics();
    const dl = new KafkaDeadLetters({ topic: 'dlq', producer: new FakeSender(), logger: silentLogger, metrics, onFatal: () => {} });
    dl.deadLetter(envelopeOf(Buffer.from('x'), meta), new DecodeError('bad'), 'parse');
    dl.deadLetter(envelopeOf(Buffer.from('y'), meta), new DecodeError('bad'), 'parse');
    dl.deadLetter(envelopeOf({ points: 'x' }, meta), new ValidationError('points must be a number'), 'parse');
    await dl.flush();
    expect(metrics.value('dead_letters_total', { step: 'parse', code: 'TRIB_DECODE' })).toBe(2);
    expect(metrics.value('dead_letters_total', { step: 'parse', code: 'TRIB_VALIDATION' })).toBe(1);
    expect(metrics.total('dead_letters_total')).toBe(3);
    const text = await createPrometheusExposition(metrics).text();
    expect(text).toContain('tributary_dead_letters_total{step="parse",code="TRIB_DECODE"} 2');
    expect(text).toContain('tributary_dead_letters_total{step="parse",code="TRIB_VALIDATION"} 1');
  });

  it('reports a failed send (the producer retried it already) as fatal at once and keeps the lease', async () => {
    const sender = new FakeSender();
    sender.outcome = () => 'throw';
    const fatal: Error[] = [];
    const dl = writer(sender, fatal);
    const lease = new CountingLease();
    dl.deadLetter(envelopeOf(Buffer.from('x'), meta, lease), new DecodeError('bad'), 'parse');
    await expect(dl.flush()).rejects.toThrow('broker down');
    expect(sender.calls).toBe(1);
    expect(fatal).toHaveLength(1);
    expect(lease.done).toBe(false);
  });

  it('encodes a value nested 10,000 levels deep instead of throwing out of the step (regression: the crash loop)', () => {
    const value = deepValue(10_000);
    const record = deadLetterRecord('dlq', envelopeOf(value, meta), new ValidationError('deep'), 'flatten');
    expect(record.value?.toString()).toBe(`${'{"a":'.repeat(10_000)}1${'}'.repeat(10_000)}`);
    expect(record.headers[DEAD_LETTER_HEADERS.dropped]).toBeUndefined();
  });

  it('leaves out a value JSON cannot encode and says why, rather than throwing', () => {
    const cycle: Record<string, unknown> = { id: 1 };
    cycle.self = cycle;
    const record = deadLetterRecord('dlq', envelopeOf(cycle, meta), new ValidationError('x'), 'validate');
    expect(record.value).toBeNull();
    expect(record.headers[DEAD_LETTER_HEADERS.dropped]).toMatch(/cannot be encoded as JSON: .*circular/);
    expect(record.headers[DEAD_LETTER_HEADERS.offset]).toBe('41');
  });

  it('logs where a dead letter came from, its step, code and summary, never the record by default', async () => {
    const { logger, lines } = capturingLogger();
    const dl = writer(new FakeSender(), [], { logger, logRecordContent: false });
    const secret = 'credit-card-4111111111111111';
    const error = new ValidationError(`card: expected number, got string "${secret}"`, { stepId: 'validate', summary: 'card: expected number, got string' });
    dl.deadLetter(envelopeOf(Buffer.from(secret), meta), error, 'validate');
    dl.deadLetter(envelopeOf(Buffer.from(secret), meta), new DecodeError(`malformed JSON; starts "${secret}"`, { stepId: 'parse' }), 'parse');
    await dl.flush();
    const logged = lines().filter((l) => l.msg === 'dead letter');
    expect(logged).toHaveLength(2);
    expect(logged[0]).toMatchObject({ step: 'validate', topic: 'events', partition: 2, offset: 41, code: 'TRIB_VALIDATION', reason: 'card: expected number, got string' });
    expect(logged[1]).toMatchObject({ step: 'parse', code: 'TRIB_DECODE' });
    expect(JSON.stringify(lines())).not.toContain(secret);
  });

  it('logs the error message too with TRIBUTARY_LOG_RECORD_CONTENT=1', async () => {
    const { logger, lines } = capturingLogger();
    const dl = writer(new FakeSender(), [], { logger, logRecordContent: true });
    dl.deadLetter(envelopeOf(Buffer.from('x'), meta), new DecodeError('malformed JSON; starts "x"', { stepId: 'parse', summary: 'malformed JSON' }), 'parse');
    await dl.flush();
    expect(lines().find((l) => l.msg === 'dead letter')).toMatchObject({ code: 'TRIB_DECODE', reason: 'malformed JSON', err: 'malformed JSON; starts "x"' });
  });
});
