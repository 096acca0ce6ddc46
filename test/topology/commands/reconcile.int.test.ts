import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { KafkaProducer } from '../../../src/sinks/kafka-producer.ts';
import { deleteObjects, listHourObjects, readHourObject } from '../../../src/topology/commands/parquet-hour.ts';
import { reconcile } from '../../../src/topology/commands/reconcile.ts';
import { loadTopologyFile } from '../../../src/topology/load.ts';
import { startTopology } from '../../../src/topology/run.ts';
import type { S3ParquetSink } from '../../../src/topology/types.ts';
import { brokers, createBucket, kafkaAdmin, s3Client, topicPrefix } from '../../support/stack.ts';

const HOUR = Date.UTC(2026, 10, 23, 10);

function topologyYaml(prefix: string, bucket: string): string {
  return `
name: reconcile-test
sources:
  - { id: a, topics: ["${prefix}a"], group: ${prefix}group, eventTime: { field: timestamp } }
  - { id: b, topics: ["${prefix}b"], group: ${prefix}group, eventTime: { field: timestamp } }
deadLetters: { topic: "${prefix}dlq" }
steps:
  - { id: parse, kind: parse, from: [a, b] }
  - id: validate
    kind: validate
    from: parse
    common: { event_id: string, event_type: string, timestamp: timestamp }
    events: { purchase: { amount: number } }
    unknownEventTypes: pass
  - { id: dedup, kind: dedup, from: validate, key: event_id, ttl: 1h }
  - { id: no-heartbeats, kind: filter, from: dedup, when: "event_type != 'heartbeat'" }
  - { id: flatten, kind: flatten, from: no-heartbeats }
sinks:
  - id: cold
    kind: s3-parquet
    from: flatten
    bucket: ${bucket}
    prefix: events
    partitionBy: [platform]
    rotation: { rows: 7, interval: 1s }
`;
}

interface In {
  topic: 'a' | 'b';
  key: string;
  value: string;
}

const event = (id: string, atMs: number, extra: Record<string, unknown> = {}) =>
  JSON.stringify({ event_id: id, event_type: 'game_start', timestamp: new Date(atMs).toISOString(), platform: ['ios', 'android', undefined][id.length % 3], ...extra });

/** Hour 10: a has 20 events, 2 duplicates, 1 heartbeat, 1 invalid purchase; b has 10 events and 1 duplicate. Hour 11 and malformed records besides. */
function input(): In[] {
  const out: In[] = [];
  for (let i = 0; i < 20; i++) out.push({ topic: 'a', key: `u${i % 5}`, value: event(`a${i}`, HOUR + i * 60_000) });
  out.push({ topic: 'a', key: 'u3', value: event('a3', HOUR + 3 * 60_000) }, { topic: 'a', key: 'u2', value: event('a7', HOUR + 7 * 60_000) });
  out.push({ topic: 'a', key: 'u1', value: event('hb', HOUR + 1000, { event_type: 'heartbeat' }) });
  out.push({ topic: 'a', key: 'u1', value: event('bad', HOUR + 2000, { event_type: 'purchase', amount: 'x' }) });
  for (let i = 0; i < 10; i++) out.push({ topic: 'b', key: `v${i % 4}`, value: event(`b${i}`, HOUR + 30 * 60_000 + i * 1000) });
  out.push({ topic: 'b', key: 'v1', value: event('b1', HOUR + 30 * 60_000 + 1000) });
  for (let i = 0; i < 5; i++) out.push({ topic: 'a', key: `u${i}`, value: event(`next${i}`, HOUR + 3_600_000 + i * 1000) });
  out.push({ topic: 'a', key: 'u0', value: '{"event_id": ' });
  return out;
}

function io() {
  const out: string[] = [];
  return { out, io: { stdout: (t: string) => void out.push(t), stderr: (t: string) => void out.push(t), env: { ...process.env, TRIBUTARY_LOCAL: '1' } } };
}

describe('tributary reconcile, on the real stack', () => {
  it('balances an hour a topology wrote, and shows the gap once a Parquet object is deleted', async () => {
    const prefix = topicPrefix('rec');
    const bucket = await createBucket('reconcile');
    const admin = kafkaAdmin();
    try {
      await admin.createTopics({ topics: [`${prefix}a`], partitions: 3, replicas: 1 });
      await admin.createTopics({ topics: [`${prefix}b`], partitions: 2, replicas: 1 });
      await admin.createTopics({ topics: [`${prefix}dlq`], partitions: 1, replicas: 1 });
    } finally {
      await admin.close();
    }
    const dir = await mkdtemp(join(tmpdir(), 'reconcile-'));
    const file = join(dir, 'topology.yaml');
    await writeFile(file, topologyYaml(prefix, bucket));
    const topology = await loadTopologyFile(file);
    const sink = topology.sinks.find((s) => s.id === 'cold') as S3ParquetSink;

    const producer = new KafkaProducer({ brokers, clientId: 'reconcile-test' });
    await producer.send(input().map((i) => ({ topic: `${prefix}${i.topic}`, key: Buffer.from(i.key), value: Buffer.from(i.value), headers: {} })));
    await producer.close();

    const s3 = s3Client();
    const rowsIn = async () => (await listHourObjects(s3, sink, `${prefix}a`, HOUR)).length > 0 && (await listHourObjects(s3, sink, `${prefix}b`, HOUR)).length > 0;
    const started = startTopology(topology, { ...process.env, TRIBUTARY_LOCAL: '1', TRIBUTARY_COMMIT_INTERVAL_MS: '500' });
    try {
      const deadline = Date.now() + 60_000;
      while (!(await rowsIn())) {
        if (Date.now() > deadline) throw new Error('no Parquet objects');
        await new Promise((r) => setTimeout(r, 500));
      }
    } finally {
      // Shutdown closes and uploads the open files.
      await started.runtime.shutdown('test done');
      await started.done;
      started.close();
    }

    const first = io();
    const code = await reconcile({ topology: file, hour: '2026-11-23T10' }, first.io);
    const text = first.out.join('');
    console.log(text);
    expect(text).toMatch(new RegExp(`cold\\s+${prefix}a\\s+24\\s+20\\s+1\\s+2\\s+1\\s+20\\s+20\\s+20\\s+\\d+\\s+0\\s+ok`));
    expect(text).toMatch(new RegExp(`cold\\s+${prefix}b\\s+11\\s+10\\s+0\\s+1\\s+0\\s+10\\s+10\\s+10\\s+\\d+\\s+0\\s+ok`));
    expect(code).toBe(0);

    const objects = await listHourObjects(s3, sink, `${prefix}a`, HOUR);
    const victim = objects[0] as (typeof objects)[number];
    const lost = (await readHourObject(s3, bucket, victim.key, undefined)).rows;
    await deleteObjects(s3, bucket, [victim.key]);
    const second = io();
    const after = await reconcile({ topology: file, hour: '2026-11-23T10' }, second.io);
    const gapText = second.out.join('');
    console.log(`deleted ${victim.key}\n${gapText}`);
    expect(after).toBe(1);
    expect(gapText).toMatch(new RegExp(`cold\\s+${prefix}a\\s+24\\s+20\\s+1\\s+2\\s+1\\s+20\\s+${20 - lost}\\s+${20 - lost}\\s+\\d+\\s+${lost}\\s+GAP`));
    expect(gapText).toContain(`GAP cold ${prefix}a: partition ${victim.partition}: `);
  });
});
