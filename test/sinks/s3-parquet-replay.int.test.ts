/**
 * Crash simulation for the S3 Parquet sink: rounds of a fresh sink that replays from the committed
 * offsets, cuts files at random points (age, flush, rows) and is killed mid-way, then a last round
 * that finishes. Every input record must end up in exactly one object. `TRIBUTARY_REPLAY_SEED`
 * replays a failing run.
 */
import { randomInt } from 'node:crypto';
import { join } from 'node:path';
import { VirtualTimeScheduler } from 'rxjs';
import { describe, expect, it } from 'vitest';
import type { Envelope, Lease } from '../../src/core/envelope.ts';
import { s3ParquetSink } from '../../src/sinks/s3-parquet.ts';
import { createBucket, s3Client } from '../support/stack.ts';
import { testContext } from '../support/sink-context.ts';
import { query } from './parquet/duckdb.ts';
import { download } from './s3-parquet-s3.ts';

const MINUTE = 60_000;
const H10 = Date.UTC(2025, 5, 1, 10);
const PARTITIONS = 3;
const RECORDS = 400; // per partition, over about three hours of event time
const CRASHES = 5;
const AGE_MS = 5 * MINUTE;

/** mulberry32: a small seeded generator, so that a failing run can be replayed. */
function generator(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

/** Event times per partition and offset: mostly forward, one record in ten up to 70 minutes late. */
function eventTimes(random: () => number): number[][] {
  return Array.from({ length: PARTITIONS }, () => {
    let at = H10 + random() * 10 * MINUTE;
    return Array.from({ length: RECORDS }, () => {
      at += random() * 54_000;
      return random() < 0.1 ? at - random() * 70 * MINUTE : at;
    });
  });
}

/** One process's life: the sink, its kill switch, and which offsets' leases it released. */
function processLife(bucket: string, random: () => number) {
  const client = s3Client();
  let killed = false;
  // kill -9: nothing more leaves the process; requests already on their way complete.
  client.middlewareStack.add(
    (next) => async (args) => {
      if (killed) throw new Error('process killed');
      return next(args);
    },
    { step: 'initialize', name: 'tributaryKillSwitch' },
  );
  const scheduler = new VirtualTimeScheduler();
  const { context, metrics } = testContext();
  const sink = s3ParquetSink(
    { id: 'to-s3', client, bucket, prefix: 'raw', scheduler, maxFileAgeMs: AGE_MS, maxFileRows: 10 + Math.floor(random() * 60), unavailableTimeoutMs: 0, encodeInWorker: false },
    context,
  );
  const released = Array.from({ length: PARTITIONS }, () => new Set<number>());
  const errors: string[] = [];
  const lease = (partition: number, offset: number): Lease => {
    let refs = 1;
    return {
      retain: (count = 1) => void (refs += count),
      release: () => {
        refs -= 1;
        if (refs === 0) released[partition]?.add(offset);
        if (refs < 0) errors.push(`lease of ${partition}/${offset} released twice`);
      },
    };
  };
  let now = 0;
  /** Processing time passes: files older than AGE_MS close. */
  const advance = (ms: number) => {
    now += ms;
    scheduler.maxFrames = now;
    scheduler.flush();
    scheduler.frame = now;
  };
  return { sink, metrics, released, errors, lease, advance, kill: () => (killed = true) };
}

describe('s3ParquetSink replay after crashes, on versitygw', () => {
  it('holds every record exactly once after five kills at random points and a replay from the committed offsets each time', async () => {
    const seed = Number(process.env.TRIBUTARY_REPLAY_SEED ?? randomInt(2 ** 31));
    const random = generator(seed);
    const bucket = await createBucket('replay');
    const times = eventTimes(random);
    const envelope = (life: ReturnType<typeof processLife>, partition: number, offset: number): Envelope<unknown> => {
      const at = times[partition]?.[offset] as number;
      const value = { event_id: `p${partition}-${offset}`, kafka_partition: partition, kafka_offset: offset, ts: new Date(at).toISOString() };
      return { value, meta: { topic: 'games', partition, offset, timestamp: at, key: null, headers: {} }, lease: life.lease(partition, offset), eventTimeMs: at };
    };
    const committed = Array<number>(PARTITIONS).fill(0);
    let delivered = 0;
    let skipped = 0;

    for (let round = 0; round <= CRASHES; round++) {
      const crash = round < CRASHES;
      const life = processLife(bucket, random);
      const next = [...committed];
      const batches = crash ? 3 + Math.floor(random() * 40) : Infinity;
      for (let b = 0; b < batches && next.some((n) => n < RECORDS); b++) {
        // A batch: a few runs of consecutive offsets from random partitions, each partition in order.
        const batch: Envelope<unknown>[] = [];
        for (let runs = 1 + Math.floor(random() * 3); runs > 0; runs--) {
          const open = next.flatMap((n, p) => (n < RECORDS ? [p] : []));
          const p = open[Math.floor(random() * open.length)] as number;
          const end = Math.min(RECORDS, (next[p] as number) + 1 + Math.floor(random() * 15));
          for (; (next[p] as number) < end; next[p] = (next[p] as number) + 1) batch.push(envelope(life, p, next[p] as number));
        }
        delivered += batch.length;
        await life.sink.write(batch);
        const action = random();
        if (action < 0.3) life.advance(random() * AGE_MS);
        else if (action < 0.38) await life.sink.flush();
        else if (action < 0.6) await new Promise((resolve) => setImmediate(resolve)); // uploads move on
      }
      skipped += life.metrics.value('duplicates_total', { step: 'to-s3' });
      expect(life.errors).toEqual([]);
      if (!crash) {
        await life.sink.close();
        for (let p = 0; p < PARTITIONS; p++) expect(life.released[p]?.size, `seed ${seed}: partition ${p} released`).toBe(RECORDS - (committed[p] as number));
        break;
      }
      // The commit point: below the lowest offset whose lease is still held, lagging by a random amount.
      life.kill();
      for (let p = 0; p < PARTITIONS; p++) {
        let lowest = committed[p] as number;
        while (lowest < (next[p] as number) && life.released[p]?.has(lowest)) lowest += 1;
        committed[p] = (committed[p] as number) + Math.floor(random() * (lowest - (committed[p] as number) + 1));
      }
      // Let requests already sent land (or not); what the process still held is lost.
      await life.sink.close().catch(() => {});
    }

    const root = await download(s3Client(), bucket);
    const rows = await query(
      `SELECT kafka_partition AS p, kafka_offset AS o, count(*)::INTEGER AS n FROM read_parquet('${join(root, '**', '*.parquet')}', union_by_name = true) GROUP BY ALL`,
    );
    const seen = new Map(rows.map((r) => [`p${r.p}-${r.o}`, r.n as number]));
    const ids = Array.from({ length: PARTITIONS }, (_, p) => Array.from({ length: RECORDS }, (_, o) => `p${p}-${o}`)).flat();
    const missing = ids.filter((id) => !seen.has(id));
    const duplicated = ids.filter((id) => (seen.get(id) ?? 0) > 1);
    const summary = { missing: missing.length, duplicated: duplicated.length, unknown: seen.size - (ids.length - missing.length) };
    expect(summary, `seed ${seed}: missing ${missing.slice(0, 10)}, duplicated ${duplicated.slice(0, 10)}`).toEqual({ missing: 0, duplicated: 0, unknown: 0 });
    // The test replayed something, and each object's name gives its first and last row's offsets.
    expect(delivered, `seed ${seed}`).toBeGreaterThan(ids.length);
    expect(skipped, `seed ${seed}`).toBeGreaterThan(0);
    const files = await query(
      `SELECT filename AS f, min(kafka_offset) AS first, max(kafka_offset) AS last, count(DISTINCT kafka_partition)::INTEGER AS parts FROM read_parquet('${join(root, '**', '*.parquet')}', union_by_name = true, filename = true) GROUP BY ALL`,
    );
    for (const file of files) {
      const [, p, first, last] = /games\+(\d+)\+(\d{20})\+(\d{20})\.parquet$/.exec(file.f as string) ?? [];
      expect([file.parts, Number(file.first), Number(file.last)], `seed ${seed}: ${file.f}`).toEqual([1, Number(first), Number(last)]);
      expect(p).toBeDefined();
    }
  });
});
