import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { VirtualTimeScheduler } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { SinkPermanentError } from '../../src/core/errors.ts';
import { CountingLease, envelopeOf, type Envelope } from '../../src/core/envelope.ts';
import { s3ParquetSink, type S3ParquetSinkOptions } from '../../src/sinks/s3-parquet.ts';
import { createBucket, s3Client } from '../support/stack.ts';
import { codecs, columnTypes, query, readRows } from './parquet/duckdb.ts';
import { testContext } from '../support/sink-context.ts';
import { download, failSends, listKeys, recordSends } from './s3-parquet-s3.ts';

const MINUTE = 60_000;
const H10 = Date.UTC(2025, 5, 1, 10);
const dir = (hour: number) => `raw/games/year=2025/month=06/day=01/hour=${hour}`;
const pad = (offset: number) => String(offset).padStart(20, '0');
const key = (hour: number, partition: number, first: number, last: number) => `${dir(hour)}/games+${partition}+${pad(first)}+${pad(last)}.parquet`;

/** A nested game event of `partition` at `offset`, `minutes` after 10:00 UTC. */
function event(partition: number, offset: number, minutes: number, extra: Record<string, unknown> = {}): Envelope<unknown> {
  const at = H10 + minutes * MINUTE;
  const value = {
    event_id: `p${partition}-${offset}`,
    user_id: `user-${offset % 3}`,
    event_type: offset % 2 === 0 ? 'purchase' : 'level_complete',
    timestamp: new Date(at).toISOString(),
    platform: 'ios',
    event_data: {
      game_id: `game-${partition}`,
      amount: offset % 2 === 0 ? offset + 0.25 : null,
      score: offset % 2 === 0 ? null : offset * 10,
      items: ['sword', 'shield'],
    },
    ...extra,
  };
  return envelopeOf(value, { topic: 'games', partition, offset, timestamp: at }, new CountingLease(), at);
}

const COLUMNS = [
  { name: 'timestamp', type: 'timestamp' },
  { name: 'event_data_amount', type: 'double' },
  { name: 'event_data_score', type: 'int64' },
] as const;

async function setup(options: Partial<S3ParquetSinkOptions> = {}) {
  const bucket = await createBucket('parquet');
  const client = s3Client();
  const { context, metrics, dead } = testContext();
  const make = (more: Partial<S3ParquetSinkOptions> = {}) =>
    s3ParquetSink({ id: 'to-s3', client, bucket, prefix: 'raw', columns: COLUMNS, ...options, ...more }, context);
  return { bucket, client, metrics, dead, make, sink: make() };
}

const done = (batch: readonly Envelope<unknown>[]) => batch.every((e) => (e.lease as CountingLease).done);
const glob = (root: string) => join(root, '**', '*.parquet');

describe('s3ParquetSink on versitygw', () => {
  it('writes hourly partitions per topic-partition that DuckDB reads back exactly, with types and codec', async () => {
    const { bucket, client, sink, metrics } = await setup();
    // Partitions 0 and 1, offsets 100..109, every 10 minutes from 10:00: 100-105 in hour 10, 106-109 in 11.
    const batch = [0, 1].flatMap((p) => Array.from({ length: 10 }, (_, i) => event(p, 100 + i, i * 10)));
    await sink.write(batch.slice(0, 7));
    await sink.write(batch.slice(7));
    expect(done(batch)).toBe(false);
    await sink.flush();
    expect(done(batch)).toBe(true);
    expect(await listKeys(client, bucket)).toEqual([key(10, 0, 100, 105), key(10, 1, 100, 105), key(11, 0, 106, 109), key(11, 1, 106, 109)]);
    expect(metrics.value('sink_records_total', { step: 'to-s3' })).toBe(20);

    const root = await download(client, bucket);
    expect(await columnTypes(glob(root))).toMatchObject({
      timestamp: 'TIMESTAMP WITH TIME ZONE',
      event_data_amount: 'DOUBLE',
      event_data_score: 'BIGINT',
      user_id: 'VARCHAR',
      event_data_items: 'VARCHAR',
    });
    expect(await codecs(glob(root))).toEqual(['SNAPPY']);
    const rows = await readRows(
      glob(root),
      'event_id, user_id, epoch_ms(timestamp) AS ms, event_data_amount AS amount, event_data_score AS score, event_data_items AS items',
      'event_id',
    );
    const expected = batch
      .map((e) => e.value as { event_id: string; user_id: string; timestamp: string; event_data: { amount: number | null; score: number | null } })
      .map((v) => ({
        event_id: v.event_id,
        user_id: v.user_id,
        ms: BigInt(Date.parse(v.timestamp)),
        amount: v.event_data.amount,
        score: v.event_data.score === null ? null : BigInt(v.event_data.score),
        items: '["sword","shield"]',
      }))
      .sort((a, b) => (a.event_id < b.event_id ? -1 : 1));
    expect(rows).toEqual(expected);
    // Each file holds exactly its partition's records of its hour.
    const inFile = await readRows(join(root, key(11, 1, 106, 109)), 'event_id', 'event_id');
    expect(inFile.map((r) => r.event_id)).toEqual(['p1-106', 'p1-107', 'p1-108', 'p1-109']);
    await sink.close();
  });

  it('writes the configured codec (zstd)', async () => {
    const { bucket, client, sink } = await setup({ compression: 'zstd' });
    await sink.write([event(0, 0, 0), event(0, 1, 1)]);
    await sink.close();
    expect(await codecs(glob(await download(client, bucket)))).toEqual(['ZSTD']);
  });

  it('rotates by rows, by estimated bytes and by processing time', async () => {
    const { bucket, client, make } = await setup();
    const byRows = make({ prefix: 'rows', maxFileRows: 2 });
    await byRows.write([0, 1, 2, 3, 4].map((o) => event(0, o, o)));
    await byRows.close();
    const byBytes = make({ prefix: 'bytes', maxFileBytes: 500 });
    await byBytes.write([0, 1, 2, 3, 4].map((o) => event(0, o, o, { pad: 'x'.repeat(300) })));
    await byBytes.close();
    const scheduler = new VirtualTimeScheduler();
    const byTime = make({ prefix: 'time', scheduler, maxFileAgeMs: 5 * MINUTE });
    await byTime.write([event(0, 0, 0), event(0, 1, 1)]);
    scheduler.flush(); // five minutes of processing time pass
    await byTime.write([event(0, 2, 2)]);
    await byTime.close();
    const names = (prefix: string, ranges: [number, number][]) => ranges.map(([first, last]) => key(10, 0, first, last).replace(/^raw/, prefix));
    const pairs: [number, number][] = [[0, 1], [2, 3], [4, 4]];
    expect(await listKeys(client, bucket)).toEqual([...names('bytes', pairs), ...names('rows', pairs), ...names('time', [[0, 1], [2, 2]])]);
  });

  it('skips a replay of records already in objects, adding no objects and no rows', async () => {
    const { bucket, client, make, metrics } = await setup({ maxFileRows: 3 });
    const records = () => [0, 1].flatMap((p) => Array.from({ length: 8 }, (_, i) => event(p, 50 + i, i * 10)));
    const first = make();
    await first.write(records());
    await first.close();
    const keys = await listKeys(client, bucket);
    // Per partition: hour 10 holds 6 records (files of 3 and 3), hour 11 holds 2.
    expect(keys).toEqual([0, 1].flatMap((p) => [key(10, p, 50, 52), key(10, p, 53, 55), key(11, p, 56, 57)]).sort());
    const replay = make();
    await replay.write(records());
    await replay.close();
    expect(metrics.value('duplicates_total', { step: 'to-s3' })).toBe(16);
    expect(await listKeys(client, bucket)).toEqual(keys);
    const [count] = await query(`SELECT count(*)::INTEGER AS n FROM read_parquet('${glob(await download(client, bucket))}')`);
    expect(count?.n).toBe(16);
  });

  it('retries an injected upload failure and lands the file once, releasing leases only after it', async () => {
    const { bucket, client, sink, metrics } = await setup({ retry: { baseDelayMs: 5 } });
    failSends(client, ['PutObjectCommand'], 2);
    const sent = recordSends(client);
    const batch = [event(0, 7, 0), event(0, 8, 1), event(0, 9, 2)];
    await sink.write(batch);
    expect(batch.some((e) => (e.lease as CountingLease).done)).toBe(false);
    await sink.flush();
    expect(done(batch)).toBe(true);
    expect(metrics.value('sink_retries_total', { step: 'to-s3' })).toBe(2);
    expect(sent.filter((c) => c === 'PutObjectCommand')).toHaveLength(3);
    expect(await listKeys(client, bucket)).toEqual([key(10, 0, 7, 9)]);
    const rows = await readRows(glob(await download(client, bucket)), 'event_id', 'event_id');
    expect(rows.map((r) => r.event_id)).toEqual(['p0-7', 'p0-8', 'p0-9']);
    await sink.close();
  });

  it('widens the schema: a later record with a new field joins the open file, which gets the extra column', async () => {
    const { bucket, client, sink } = await setup();
    await sink.write([event(0, 0, 0), event(0, 1, 1), event(0, 2, 2, { bonus: { coins: 7 } }), event(0, 3, 3)]);
    await sink.close();
    expect(await listKeys(client, bucket)).toEqual([key(10, 0, 0, 3)]);
    const root = await download(client, bucket);
    expect(await columnTypes(join(root, key(10, 0, 0, 3)))).toMatchObject({ bonus_coins: 'BIGINT' });
    const rows = await readRows(glob(root), 'event_id, bonus_coins', 'event_id', true);
    expect(rows).toEqual([
      { event_id: 'p0-0', bonus_coins: null },
      { event_id: 'p0-1', bonus_coins: null },
      { event_id: 'p0-2', bonus_coins: 7n },
      { event_id: 'p0-3', bonus_coins: null },
    ]);
  });

  it('sends a value of the wrong type for a typed column to dead letters and lands the rest', async () => {
    const { bucket, client, sink, dead } = await setup();
    const bad = event(0, 1, 1);
    (bad.value as { event_data: { score: unknown } }).event_data.score = 'a lot';
    const batch = [event(0, 0, 0), bad, event(0, 2, 2)];
    await sink.write(batch);
    await sink.close();
    expect(dead.map((d) => [d.envelope, d.error.constructor, d.stepId])).toEqual([[bad, SinkPermanentError, 'to-s3']]);
    expect(dead[0]?.error.message).toMatch(/column 'event_data_score': expected int64, got string "a lot"/);
    expect(done(batch)).toBe(true);
    const rows = await readRows(glob(await download(client, bucket)), 'event_id', 'event_id');
    expect(rows.map((r) => r.event_id)).toEqual(['p0-0', 'p0-2']);
  });

  it('uploads a file over the threshold in parts, retrying a failed part', async () => {
    const MiB = 2 ** 20;
    const { bucket, client, sink } = await setup({ multipartThresholdBytes: 5 * MiB, partSizeBytes: 5 * MiB, retry: { baseDelayMs: 5 } });
    failSends(client, ['UploadPartCommand'], 1);
    const sent = recordSends(client);
    // ~6.5 MiB of incompressible base64 in one file.
    const batch = Array.from({ length: 5000 }, (_, i) => event(0, i, 0, { blob: randomBytes(1024).toString('base64') }));
    await sink.write(batch);
    await sink.close();
    expect(done(batch)).toBe(true);
    expect(sent).toContain('CreateMultipartUploadCommand');
    expect(sent.filter((c) => c === 'UploadPartCommand').length).toBeGreaterThanOrEqual(3);
    expect(sent).toContain('CompleteMultipartUploadCommand');
    expect(sent).not.toContain('PutObjectCommand');
    expect(await listKeys(client, bucket)).toEqual([key(10, 0, 0, 4999)]);
    const [count] = await query(`SELECT count(*)::INTEGER AS n, count(DISTINCT blob)::INTEGER AS blobs FROM read_parquet('${glob(await download(client, bucket))}')`);
    expect(count).toEqual({ n: 5000, blobs: 5000 });
  });
});
