import { defaultPartitioner } from '@platformatic/kafka';
import { describe, expect, it } from 'vitest';
import { CountingLease, envelopeOf, type Envelope } from '../../src/core/envelope.ts';
import type { TributaryError } from '../../src/core/errors.ts';
import { silentLogger } from '../../src/core/logger.ts';
import { Metrics } from '../../src/core/metrics.ts';
import { FakeProducer } from '../support/fake-producer.ts';
import { PACK_HEADER, PACK_SLOTS, partitionOf, RepartitionSink, unpack } from '../../src/sinks/repartition-pack.ts';

const MARKER = 'marker';

function sink(producer = new FakeProducer()) {
  const dead: { envelope: Envelope<unknown>; error: TributaryError }[] = [];
  const s = new RepartitionSink(
    {
      id: 'w.repartition',
      brokers: ['127.0.0.1:1'],
      topic: 'rep',
      partitions: 4,
      keyOf: (value) => String((value as { k: unknown }).k),
      unpacked: (envelope) => ((envelope.value as { m?: number }).m === undefined ? undefined : { partition: (envelope.value as { m: number }).m, headers: { [MARKER]: 'x' } }),
    },
    { deadLetter: (envelope, error) => dead.push({ envelope, error }), logger: silentLogger, metrics: new Metrics() },
    producer,
  );
  return { s, dead, producer };
}

/** A read-back record's origin as `topic:partition:offset`, checking its partition key on the way. */
const origins = ({ origin }: { origin: { topic: string; partition: number; key: string; offset: number } }): string => {
  expect(origin.key).toBe(`${origin.topic}:${origin.partition}`);
  return `${origin.key}:${origin.offset}`;
};

const record = (k: string, offset: number, partition = 0, eventTimeMs?: number) =>
  envelopeOf<unknown>({ k, n: offset }, { topic: 'in', partition, offset }, new CountingLease(), eventTimeMs);

describe('RepartitionSink', () => {
  it('hashes keys as the client does, so packs land where per-record writes did', () => {
    for (const key of ['g1', 'game-17', '', 'ü', 'a'.repeat(100)]) {
      expect(partitionOf(key, 6)).toBe(defaultPartitioner(undefined as never, Buffer.from(key)) % 6);
    }
  });

  it('packs records per target and upstream partition and reads them back in order', async () => {
    const { s, producer } = sink();
    const batch = [record('a', 10, 0, 1000), record('b', 11, 0), record('a', 12, 0, 1002), record('a', 5, 1, 999)];
    await s.write(batch);
    expect(producer.sent.every((r) => r.headers[PACK_HEADER] === '1' && r.key === null)).toBe(true);
    const read = producer.sent.flatMap((r) => unpack(r.value as Buffer).map((u) => ({ partition: r.partition, ...u, origin: origins(u) })));
    expect(read).toHaveLength(4);
    const fromA = read.filter((r) => (r.value as { k: string }).k === 'a');
    expect(new Set(fromA.map((r) => r.partition))).toEqual(new Set([partitionOf('a', 4)]));
    expect(read.filter((r) => r.origin.startsWith('in:0:')).map((r) => r.origin)).toEqual(expect.arrayContaining(['in:0:10', 'in:0:11', 'in:0:12']));
    expect(fromA.filter((r) => r.origin.startsWith('in:0:')).map((r) => [r.origin, r.eventTimeMs])).toEqual([
      ['in:0:10', 1000],
      ['in:0:12', 1002],
    ]);
    expect(batch.every((e) => (e.lease as CountingLease).done)).toBe(true);
  });

  it('never lets a marker overtake a record written before it to the same partition', async () => {
    const { s, producer } = sink();
    const target = partitionOf('a', 4);
    await s.write([record('a', 1), envelopeOf<unknown>({ m: target }), record('a', 2)]);
    const toTarget = producer.sent.filter((r) => r.partition === target);
    expect(toTarget.map((r) => (r.headers[MARKER] === undefined ? unpack(r.value as Buffer).map(origins) : 'marker'))).toEqual([['in:0:1'], 'marker', ['in:0:2']]);
  });

  it(`closes a pack at ${PACK_SLOTS} records`, async () => {
    const { s, producer } = sink();
    await s.write(Array.from({ length: PACK_SLOTS + 1 }, (_, i) => record('a', i)));
    expect(producer.sent.map((r) => unpack(r.value as Buffer).length)).toEqual([PACK_SLOTS, 1]);
  });

  it('sends a record it cannot encode to dead letters and the rest of the batch on', async () => {
    const { s, dead, producer } = sink();
    const cyclic: Record<string, unknown> = { k: 'a' };
    cyclic.self = cyclic;
    const bad = envelopeOf<unknown>(cyclic, { topic: 'in', partition: 0, offset: 3 }, new CountingLease());
    await s.write([record('a', 2), bad, record('a', 4)]);
    expect(dead.map((d) => d.envelope)).toEqual([bad]);
    expect(producer.sent.flatMap((r) => unpack(r.value as Buffer).map(origins))).toEqual(['in:0:2', 'in:0:4']);
  });

  it('sends every record of a pack the broker refuses to dead letters', async () => {
    const producer = new FakeProducer();
    producer.answer = (records) => records.map(() => new Error('MESSAGE_TOO_LARGE'));
    const { s, dead } = sink(producer);
    await s.write([record('a', 1), record('a', 2)]);
    expect(dead).toHaveLength(2);
  });

  it('refuses a value that is not a pack', () => {
    expect(() => unpack(Buffer.from('{"k":"a"}'))).toThrow(TypeError);
    expect(() => unpack(Buffer.from('{"o":"in:0","r":[[1,2]]}'))).toThrow(TypeError);
    expect(() => unpack(Buffer.from('{"o":"in","r":[[1,2,{}]]}'))).toThrow(TypeError);
    expect(() => unpack(Buffer.from('not json'))).toThrow(SyntaxError);
  });
});
