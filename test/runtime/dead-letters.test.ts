import { describe, expect, it } from 'vitest';
import { DecodeError, ValidationError } from '../../src/core/errors.ts';
import { DEAD_LETTER_HEADERS, deadLetterRecord, KafkaDeadLetters } from '../../src/runtime/dead-letters.ts';
import { CountingLease, envelopeOf } from '../../src/core/envelope.ts';
import type { OutgoingRecord, RecordSender } from '../../src/runtime/kafka-producer.ts';
import { silentLogger } from '../../src/core/logger.ts';
import { Metrics } from '../../src/core/metrics.ts';

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

function writer(sender: FakeSender, fatal: Error[] = []) {
  return new KafkaDeadLetters({
    topic: 'dlq',
    producer: sender,
    logger: silentLogger,
    metrics: new Metrics(),
    onFatal: (e) => fatal.push(e),
    retryDelayMs: 1,
    maxAttempts: 3,
  });
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

  it('retries a failed send, then reports a fatal error and keeps the lease', async () => {
    const sender = new FakeSender();
    sender.outcome = () => 'throw';
    const fatal: Error[] = [];
    const dl = writer(sender, fatal);
    const lease = new CountingLease();
    dl.deadLetter(envelopeOf(Buffer.from('x'), meta, lease), new DecodeError('bad'), 'parse');
    await expect(dl.flush()).rejects.toThrow('broker down');
    expect(sender.calls).toBe(3);
    expect(fatal).toHaveLength(1);
    expect(lease.done).toBe(false);
  });
});
