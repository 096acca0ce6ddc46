import { gunzipSync } from 'node:zlib';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { Producer, stringSerializers } from '@platformatic/kafka';
import { describe, expect, it, onTestFinished } from 'vitest';
import { connectionsFromEnv } from '../../src/config.ts';
import { provisionTopology, topicsOf } from '../../src/topology/provision.ts';
import { startTopology } from '../../src/topology/run.ts';
import type { ValidTopology } from '../../src/topology/types.ts';
import { validateTopology } from '../../src/topology/validate.ts';
import { listKeys } from '../sinks/s3-parquet-s3.ts';
import { brokers, createBucket, kafkaAdmin, s3Client, uniqueName } from '../support/stack.ts';

interface Line {
  topic: string;
  partition: number;
  offset: number;
  headers: Record<string, string>;
  value: string | null;
}

async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs = 150_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

/** The topology: a raw tier of the source, and the dead letters archived from their topic. */
function topology(tag: string, bucket: string, group: string): ValidTopology {
  return validateTopology(
    {
      name: 'raw',
      sources: [
        { id: 'events', topics: [`${tag}-events`], group, startFrom: 'earliest' },
        { id: 'dead-letters', topics: [`${tag}-dead-letters`], group, startFrom: 'earliest' },
      ],
      deadLetters: { topic: `${tag}-dead-letters` },
      steps: [{ id: 'parse', kind: 'parse', from: 'events' }],
      sinks: [
        { id: 'raw-tier', kind: 's3-raw', from: 'events', bucket, prefix: 'raw', rotation: { rows: 7, interval: '2s' } },
        { id: 'error-archive', kind: 's3-raw', from: 'dead-letters', bucket, layout: 'dead-letters', compression: 'zstd', rotation: { interval: '2s' } },
      ],
    },
    { env: {} },
  );
}

describe('s3-raw sinks in a topology on the real stack', () => {
  it('keep every source record and every dead letter once, a full replay by a fresh group included', async () => {
    const tag = uniqueName('raw');
    const bucket = await createBucket('raw');
    const env = { ...process.env, TRIBUTARY_COMMIT_INTERVAL_MS: '1000' };
    const first = topology(tag, bucket, `${tag}-a`);
    await provisionTopology(first, connectionsFromEnv(env), { partitions: 2 });
    onTestFinished(async () => {
      const admin = kafkaAdmin();
      try {
        await admin.deleteTopics({ topics: topicsOf(first) });
      } finally {
        await admin.close();
      }
    });

    const values = Array.from({ length: 40 }, (_, i) => (i % 8 === 3 ? `{"n": ${i}, broken` : JSON.stringify({ n: i, text: 'é ✓' })));
    const broken = values.filter((v) => v.includes('broken')).length;
    const producer = new Producer({ clientId: tag, bootstrapBrokers: brokers, serializers: stringSerializers, idempotent: true, acks: -1 });
    await producer.send({ messages: values.map((value, i) => ({ topic: `${tag}-events`, key: `k${i % 5}`, value })) });
    await producer.close();

    const s3 = s3Client();
    const read = async (prefix: string): Promise<{ key: string; lines: Line[] }[]> => {
      const out: { key: string; lines: Line[] }[] = [];
      for (const key of (await listKeys(s3, bucket)).filter((k) => k.startsWith(prefix))) {
        const object = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
        const bytes = Buffer.from(await (object.Body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray());
        const text = (key.endsWith('.zst') ? (await import('node:zlib')).zstdDecompressSync(bytes) : gunzipSync(bytes)).toString('utf8');
        out.push({ key, lines: text.split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as Line) });
      }
      return out;
    };
    const lines = async (prefix: string) => (await read(prefix)).flatMap((o) => o.lines);

    const run = async (spec: ValidTopology, done: () => Promise<boolean>) => {
      const started = startTopology(spec, env);
      try {
        await waitFor('the objects', done);
      } finally {
        await started.runtime.shutdown('test done');
        await started.done;
        started.close();
      }
    };
    await run(first, async () => (await lines('raw/')).length >= values.length && (await lines('errors/')).length >= broken);
    // A fresh group reads both topics again from offset 0: the raw tier is replayed over its own
    // objects; parse dead-letters the broken records a second time, new records the archive adds.
    await run(topology(tag, bucket, `${tag}-b`), async () => (await lines('errors/')).length >= 2 * broken);

    const raw = await lines('raw/');
    const seen = raw.map((l) => `${l.partition}:${l.offset}`);
    expect(new Set(seen).size).toBe(seen.length);
    expect(raw.map((l) => l.value).sort()).toEqual([...values].sort());
    for (const { key, lines: held } of await read('raw/')) {
      const [, partition, first, last] = /\+(\d+)\+(\d{20})\+(\d{20})\.jsonl\.gz$/.exec(key) ?? [];
      expect(held.every((l) => l.partition === Number(partition) && l.offset >= Number(first) && l.offset <= Number(last)), key).toBe(true);
      expect(key.startsWith(`raw/${tag}-events/year=`)).toBe(true);
    }

    const errors = await read('errors/');
    const dead = errors.flatMap((o) => o.lines);
    expect(dead).toHaveLength(2 * broken);
    expect(new Set(dead.map((l) => `${l.partition}:${l.offset}`)).size).toBe(dead.length);
    expect(errors.every((o) => o.key.startsWith('errors/parse/TRIB_DECODE/year=') && o.key.endsWith('.jsonl.zst'))).toBe(true);
    expect(dead.every((l) => l.headers['tributary.step'] === 'parse' && l.value?.includes('broken'))).toBe(true);
    expect(new Set(dead.map((l) => l.headers['tributary.source.offset'] + '@' + l.headers['tributary.source.partition'])).size).toBe(broken);
    s3.destroy();
  }, 300_000);
});
