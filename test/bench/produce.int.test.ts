import { Consumer } from '@platformatic/kafka';
import { describe, expect, it } from 'vitest';
import { generateAll } from '../../bench/generator/generate.ts';
import type { GeneratorInput } from '../../bench/generator/options.ts';
import { PRODUCED_AT_HEADER, produce } from '../../bench/generator/produce.ts';
import { brokers, topicPrefix, uniqueName } from '../support/stack.ts';

const INPUT: GeneratorInput = {
  events: 3_000,
  seed: 99,
  users: 300,
  rates: { purchaseBurst: 0, amountSpike: 0, manyDevices: 0, refundAfterPurchase: 0 },
};

interface Read {
  topic: string;
  partition: number;
  key: string | null;
  value: string;
  producedAt: number;
}

async function readAll(topics: string[], expected: number): Promise<Read[]> {
  const consumer = new Consumer({ groupId: uniqueName('gen-read'), clientId: uniqueName('gen-read'), bootstrapBrokers: brokers, autocommit: false });
  const out: Read[] = [];
  try {
    const stream = await consumer.consume({ topics, mode: 'earliest' });
    await new Promise<void>((resolve, reject) => {
      stream.on('error', reject);
      stream.on('data', (m: { topic: string; partition: number; key: Buffer | undefined; value: Buffer; headers: Map<Buffer, Buffer> }) => {
        const header = [...m.headers].find(([k]) => k.toString() === PRODUCED_AT_HEADER)?.[1];
        out.push({
          topic: m.topic,
          partition: m.partition,
          key: m.key === undefined || m.key.length === 0 ? null : m.key.toString(),
          value: m.value.toString(),
          producedAt: Number(header?.toString()),
        });
        if (out.length === expected) resolve();
      });
    });
    await stream.close();
  } finally {
    await consumer.close(true);
  }
  return out;
}

describe('produce', () => {
  it('sends every generated record, keyed by user in per-user order, stamped with its produce time', async () => {
    const prefix = topicPrefix('gen');
    const before = Date.now();
    const report = await produce({ ...INPUT, topicPrefix: prefix, partitions: 2, batchSize: 500 });
    expect(report.records).toBe(3_000);
    expect(report.truth.topics?.['game-events']).toBe(`${prefix}game-events`);

    const read = await readAll(Object.values(report.topics), 3_000);
    const { records } = generateAll(INPUT);
    for (const [logical, real] of Object.entries(report.topics)) {
      expect(read.filter((r) => r.topic === real).length).toBe(report.truth.totals.perTopic[logical as keyof typeof report.topics].records);
    }
    expect(read.map((r) => r.value).sort()).toEqual(records.map((r) => r.value).sort());
    for (const r of read) {
      expect(r.producedAt).toBeGreaterThanOrEqual(before);
      expect(r.producedAt).toBeLessThanOrEqual(Date.now());
    }
    // One user's records on one topic come back in the order they were generated.
    const user = records.find((r) => r.kind === 'normal')?.key as string;
    const topic = `${prefix}game-events`;
    const sent = records.filter((r) => r.key === user && `${prefix}${r.topic}` === topic).map((r) => r.value);
    const got = read.filter((r) => r.key === user && r.topic === topic);
    expect(new Set(got.map((r) => r.partition)).size).toBe(1);
    expect(got.map((r) => r.value)).toEqual(sent);
  });
});
