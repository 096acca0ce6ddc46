/**
 * Backpressure: a sink stalls for 10 s while 150,000 records (~220 B each) wait in the topic.
 *
 * The bound on RSS: with `maxInflightRecords` 20,000 the runtime holds at most 20,000 records plus
 * what the client fetched before the pause took effect (@platformatic/kafka: its stream buffer, up to
 * `highWaterMark` 8192 messages from fetches of at most 1 MiB per partition; kafkajs: the source
 * stops handing a batch over at the pause). At ~1 kB per record in memory (value, envelope, meta,
 * lease, client message) that is ~30 MB, plus fetch buffers and V8's heap slack: RSS during the
 * stall must stay within 96 MiB of the process's baseline. Unbounded, the same run buffers the whole
 * topic: measured +160 MB (@platformatic/kafka) and +190 MB (kafkajs) over baseline, so the
 * assertion fails if the bound stops working. Measured bounded: +15 to +25 MB with either client.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { brokers, createTopic, uniqueName } from '../support/stack.ts';
import { jsonRecords, produce } from './support.ts';

const N = 150_000;
const MAX_INFLIGHT = 20_000;
const STALL_MS = 10_000;
const RSS_BOUND_MB = 96;

interface Summary {
  distinct: number;
  baselineRss: number;
  peakRssDuringStall: number;
  maxInflightRecords: number;
  pausedGaugeDuringStall: number[];
  pausesTotal: number;
  events: { type: string; reason?: string; atMs: number }[];
}

function runChild(env: Record<string, string>): Promise<Summary> {
  return new Promise((resolve, reject) => {
    const root = join(import.meta.dirname, '..', '..');
    const child = spawn(join(root, 'node_modules', '.bin', 'node'), [join(import.meta.dirname, 'fixtures', 'backpressure-child.ts')], {
      cwd: root,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d));
    child.stderr.on('data', (d: Buffer) => (out += d));
    child.on('exit', (code) => {
      const line = out.trim().split('\n').pop() ?? '';
      if (code === 0 && line.startsWith('{')) resolve(JSON.parse(line) as Summary);
      else reject(new Error(`backpressure child exited ${code}:\n${out.slice(-3000)}`));
    });
  });
}

describe('backpressure', () => {
  it('pauses the partitions while a sink stalls, keeps RSS bounded, then delivers everything', async () => {
    const topic = await createTopic({ prefix: 'backpressure', partitions: 3 });
    const dlq = await createTopic({ prefix: 'backpressure-dlq', partitions: 1 });
    const padded = function* () {
      for (const r of jsonRecords(N)) yield { ...r, value: String(r.value).padEnd(220, ' ') };
    };
    await produce(brokers, topic, padded(), { batchSize: 5000 });

    for (const client of ['platformatic', 'kafkajs']) {
      const summary = await runChild({
        CLIENT: client,
        TOPIC: topic,
        DLQ: dlq,
        GROUP: uniqueName(`backpressure-${client}`),
        COUNT: String(N),
        STALL_MS: String(STALL_MS),
        MAX_INFLIGHT: String(MAX_INFLIGHT),
        MAX_INFLIGHT_BYTES: String(64 * 1024 * 1024),
      });
      const growthMb = (summary.peakRssDuringStall - summary.baselineRss) / 1024 / 1024;
      console.log(
        `backpressure (${client}): RSS baseline ${Math.round(summary.baselineRss / 1048576)} MB, +${growthMb.toFixed(0)} MB during the stall; ` +
          `max in flight ${summary.maxInflightRecords}; pauses ${summary.pausesTotal}`,
      );
      const stallEnd = summary.events.find((e) => e.type === 'stall-end')?.atMs ?? 0;
      const paused = summary.events.find((e) => e.type === 'paused');
      expect(paused, client).toMatchObject({ reason: 'records' });
      expect((paused?.atMs ?? Infinity) < stallEnd).toBe(true);
      expect(summary.events.some((e) => e.type === 'resumed' && e.atMs >= stallEnd)).toBe(true);
      // Every partition was paused for most of the stall (gauge sampled every 100 ms).
      const pausedSamples = summary.pausedGaugeDuringStall.filter((v) => v === 3).length;
      expect(pausedSamples).toBeGreaterThan(summary.pausedGaugeDuringStall.length / 2);
      expect(summary.maxInflightRecords).toBeLessThanOrEqual(MAX_INFLIGHT + 10_000);
      expect(growthMb).toBeLessThan(RSS_BOUND_MB);
      expect(summary.distinct).toBe(N);
    }
  });
});
