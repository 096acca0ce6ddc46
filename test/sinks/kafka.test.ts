import { NetworkError } from '@platformatic/kafka';
import { describe, expect, it } from 'vitest';
import { UnavailableError, type TributaryError } from '../../src/core/errors.ts';
import { CountingLease, envelopeOf, type Envelope } from '../../src/core/envelope.ts';
import { FakeProducer } from '../support/fake-producer.ts';
import { silentLogger } from '../../src/core/logger.ts';
import { Metrics } from '../../src/core/metrics.ts';
import { encodeValue, KafkaSink } from '../../src/sinks/kafka.ts';

function sink(producer: FakeProducer, options: Partial<ConstructorParameters<typeof KafkaSink>[0]> = {}) {
  const dead: { envelope: Envelope<unknown>; error: TributaryError; step: string }[] = [];
  const metrics = new Metrics();
  const s = new KafkaSink(
    { id: 'out', brokers: ['127.0.0.1:1'], topic: 'target', ...options },
    { deadLetter: (envelope, error, step) => dead.push({ envelope, error, step }), logger: silentLogger, metrics },
    producer,
  );
  return { s, dead, metrics };
}

describe('KafkaSink', () => {
  it('encodes Buffers as is, strings as UTF-8, null as a tombstone and objects as JSON', () => {
    expect(encodeValue(Buffer.from([1, 2]))).toEqual(Buffer.from([1, 2]));
    expect(encodeValue('é')?.toString()).toBe('é');
    expect(encodeValue(null)).toBeNull();
    expect(JSON.parse(String(encodeValue({ a: 1 })))).toEqual({ a: 1 });
  });

  it('keeps the source key by default and releases each lease after the acknowledgement', async () => {
    const producer = new FakeProducer();
    const { s, metrics } = sink(producer);
    const lease = new CountingLease();
    await s.write([envelopeOf({ n: 1 }, { key: Buffer.from('k') }, lease)]);
    expect(producer.sent[0]).toMatchObject({ topic: 'target', key: Buffer.from('k'), headers: {} });
    expect(lease.done).toBe(true);
    expect(metrics.value('sink_records_total', { step: 'out' })).toBe(1);
  });

  it('sends a record refused for good to dead letters and releases the others', async () => {
    const producer = new FakeProducer();
    producer.answer = (records) => records.map((r) => (r.value && r.value.length > 5 ? new Error('MESSAGE_TOO_LARGE') : undefined));
    const { s, dead } = sink(producer);
    const ok = new CountingLease();
    const big = new CountingLease();
    await s.write([envelopeOf('small', {}, ok), envelopeOf('much too large', {}, big)]);
    expect(ok.done).toBe(true);
    expect(big.done).toBe(false);
    expect(dead).toHaveLength(1);
    expect(dead[0]?.error.code).toBe('TRIB_SINK_PERMANENT');
    expect(dead[0]?.step).toBe('out');
  });

  it('encodes a value nested 10,000 levels deep, and dead-letters one JSON cannot encode while the batch goes on', async () => {
    const producer = new FakeProducer();
    const { s, dead } = sink(producer);
    const deep = JSON.parse(`${'{"a":'.repeat(10_000)}1${'}'.repeat(10_000)}`) as unknown;
    const cycle: Record<string, unknown> = {};
    cycle.self = cycle;
    const leases = [new CountingLease(), new CountingLease(), new CountingLease()];
    await s.write([envelopeOf(deep, {}, leases[0]), envelopeOf(cycle, {}, leases[1]), envelopeOf({ ok: 1 }, {}, leases[2])]);
    expect(producer.sent.map((r) => r.value?.length)).toEqual([10_000 * 6 + 1, 8]);
    expect(dead.map((d) => [d.envelope.lease, d.error.code])).toEqual([[leases[1], 'TRIB_SINK_PERMANENT']]);
    expect(dead[0]?.error.message).toMatch(/cannot encode the record: .*circular/);
    expect([leases[0]?.done, leases[2]?.done]).toEqual([true, true]);
  });

  it('fails with UnavailableError when the producer gave up retrying a network error (past the outage timeout)', async () => {
    const producer = new FakeProducer();
    producer.send = async () => {
      throw new NetworkError('connection refused');
    };
    const { s } = sink(producer, { unavailableTimeoutMs: 60_000 });
    const lease = new CountingLease();
    const error = await s.write([envelopeOf('x', {}, lease)]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UnavailableError);
    expect((error as UnavailableError).message).toBe('kafka unavailable for 60 s, longer than its outage timeout; giving up: connection refused');
    expect(lease.done).toBe(false);
  });

  it('fails at once, with the error itself, when it is not retriable', async () => {
    const producer = new FakeProducer();
    producer.send = async () => {
      throw new Error('TOPIC_AUTHORIZATION_FAILED');
    };
    const { s } = sink(producer);
    await expect(s.write([envelopeOf('x')])).rejects.toThrow('TOPIC_AUTHORIZATION_FAILED');
  });
});
