import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { deadLetterRecord } from '../../../src/runtime/dead-letters.ts';
import { KafkaProducer } from '../../../src/sinks/kafka-producer.ts';
import { ValidationError } from '../../../src/core/errors.ts';
import { envelopeOf } from '../../../src/core/envelope.ts';
import { redrive, REDRIVEN_FROM_HEADER } from '../../../src/topology/commands/redrive.ts';
import { offsetsAt, rangesOf, readRange, type RangeRecord } from '../../../src/topology/commands/read-range.ts';
import { loadTopologyFile } from '../../../src/topology/load.ts';
import { startTopology } from '../../../src/topology/run.ts';
import { brokers, createTopic, uniqueName } from '../../support/stack.ts';

const connection = { brokers };

/** source -> parse -> validate -> a Kafka sink: its dead letters are the real ones. */
function topologyYaml(source: string, out: string, deadLetters: string, group: string): string {
  return `
name: redrive-test
sources:
  - { id: events, topics: ["${source}"], group: ${group}, eventTime: { field: timestamp } }
deadLetters: { topic: "${deadLetters}" }
steps:
  - { id: parse, kind: parse, from: events }
  - id: validate
    kind: validate
    from: parse
    common: { event_id: string, timestamp: timestamp }
    events: { purchase: { amount: number } }
    unknownEventTypes: reject
sinks:
  - { id: out, kind: kafka, from: validate, topic: "${out}" }
`;
}

async function readAll(topic: string): Promise<RangeRecord[]> {
  const out: RangeRecord[] = [];
  for await (const r of readRange({ connection, ranges: await rangesOf(connection, [topic]), idleTimeoutMs: 30_000 })) out.push(r);
  return out;
}

async function total(topic: string): Promise<number> {
  return [...(await offsetsAt(connection, [topic], 'latest')).values()].reduce((a, b) => a + b, 0);
}

function io() {
  const out: string[] = [];
  const err: string[] = [];
  return { out, err, io: { stdout: (t: string) => void out.push(t), stderr: (t: string) => void err.push(t), env: { ...process.env, TRIBUTARY_LOCAL: '1' } } };
}

describe('tributary redrive, on the real broker', () => {
  it('sends exactly the filtered dead letters back to their source partitions with their key, bytes and headers', async () => {
    const source = await createTopic({ prefix: 'redrive-src', partitions: 3 });
    const out = await createTopic({ prefix: 'redrive-out', partitions: 1 });
    const deadLetters = await createTopic({ prefix: 'redrive-dlq', partitions: 2 });
    const dir = await mkdtemp(join(tmpdir(), 'redrive-'));
    const file = join(dir, 'topology.yaml');
    await writeFile(file, topologyYaml(source, out, deadLetters, uniqueName('redrive-group')));
    const topology = await loadTopologyFile(file);

    const at = new Date().toISOString();
    const good = (id: string) => JSON.stringify({ event_id: id, event_type: 'purchase', amount: 5, timestamp: at });
    const inputs = [
      { key: 'u1', value: good('ok1') },
      { key: 'u2', value: JSON.stringify({ event_id: 'bad-amount', event_type: 'purchase', amount: 'five', timestamp: at }), headers: { 'trace-id': 't-42' } },
      { key: 'u3', value: '{"event_id": "broken"' },
      { key: 'u4', value: JSON.stringify({ event_id: 'teleport', event_type: 'teleport', timestamp: at }) },
      { key: 'u5', value: good('ok2') },
    ];
    const producer = new KafkaProducer({ ...connection, clientId: 'redrive-test' });
    await producer.send(inputs.map((i) => ({ topic: source, key: Buffer.from(i.key), value: Buffer.from(i.value), headers: i.headers ?? {} })));

    const started = startTopology(topology, { ...process.env, TRIBUTARY_LOCAL: '1', TRIBUTARY_COMMIT_INTERVAL_MS: '500' });
    try {
      const deadline = Date.now() + 60_000;
      while ((await total(deadLetters)) < 3 || (await total(out)) < 2) {
        if (Date.now() > deadline) throw new Error('the topology did not dead-letter the three bad records');
        await new Promise((r) => setTimeout(r, 500));
      }
    } finally {
      await started.runtime.shutdown('test done');
      await started.done;
      started.close();
    }
    // A dead letter whose value the broker refused, as the writer records it.
    const dropped = deadLetterRecord(deadLetters, envelopeOf('x', { topic: source, partition: 0, offset: 999, key: Buffer.from('u9') }), new ValidationError('too big'), 'validate');
    await producer.send([{ ...dropped, value: null, headers: { ...dropped.headers, 'tributary.value.dropped': '2000000 bytes refused by the broker' } }]);
    const before = await readAll(source);

    // Dry run: counts, nothing sent.
    const dry = io();
    expect(await redrive({ topology: file, steps: ['validate'], dryRun: true }, dry.io)).toBe(0);
    const dryText = dry.out.join('');
    expect(dryText).toMatch(/4 dead letters read .*dry run/);
    expect(dryText).toMatch(/validate\s+TRIB_VALIDATION\s+3\s+2\s+1/);
    expect(dryText).not.toMatch(/^parse/m);
    expect(dry.err.join('')).toMatch(/value dropped \(2000000 bytes refused by the broker\); the original is at .*:0:999/);
    expect(await total(source)).toBe(before.length);

    // The real thing, filtered to validation errors.
    const run = io();
    expect(await redrive({ topology: file, steps: ['validate'], codes: ['TRIB_VALIDATION'] }, run.io)).toBe(0);
    console.log(run.out.join('') + run.err.join(''));
    const after = await readAll(source);
    const redriven = after.filter((r) => !before.some((b) => b.partition === r.partition && b.offset === r.offset));
    expect(redriven.map((r) => r.key?.toString()).sort()).toEqual(['u2', 'u4']);
    const letters = await readAll(deadLetters);
    for (const r of redriven) {
      const original = before.find((b) => b.key?.toString() === r.key?.toString()) as RangeRecord;
      expect(r.value?.toString()).toBe(original.value?.toString());
      expect(r.partition).toBe(original.partition);
      const from = r.headers[REDRIVEN_FROM_HEADER] as string;
      const letter = letters.find((l) => `${l.topic}:${l.partition}:${l.offset}` === from);
      expect(letter?.headers['tributary.source.offset']).toBe(String(original.offset));
      expect(Object.keys(r.headers).filter((h) => h.startsWith('tributary.'))).toEqual([REDRIVEN_FROM_HEADER]);
    }
    expect(redriven.find((r) => r.key?.toString() === 'u2')?.headers['trace-id']).toBe('t-42');
    await producer.close();
  });

  it('fails at once, naming it, when the dead-letter topic does not exist', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'redrive-'));
    const file = join(dir, 'topology.yaml');
    await writeFile(file, topologyYaml('redrive-none-src', 'redrive-none-out', uniqueName('redrive-none-dlq'), uniqueName('redrive-group')));
    const run = io();
    const started = Date.now();
    expect(await redrive({ topology: file, dryRun: true }, run.io)).toBe(1);
    expect(run.err.join('')).toMatch(/^redrive failed: no such topic: redrive-none-dlq-/);
    expect(Date.now() - started).toBeLessThan(10_000);
  });
});
