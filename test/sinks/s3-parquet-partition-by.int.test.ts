import { join } from 'node:path';
import { DeleteObjectCommand } from '@aws-sdk/client-s3';
import { describe, expect, it } from 'vitest';
import { CountingLease, envelopeOf, type Envelope } from '../../src/core/envelope.ts';
import { s3ParquetSink } from '../../src/sinks/s3-parquet.ts';
import { createBucket, s3Client } from '../support/stack.ts';
import { testContext } from '../support/sink-context.ts';
import { query } from './parquet/duckdb.ts';
import { download, listKeys } from './s3-parquet-s3.ts';

const MINUTE = 60_000;
const H10 = Date.UTC(2025, 5, 1, 10);
const PLATFORMS = ['ios', 'android', 'web', undefined, 'Android TV'];

/** Event `offset` of `partition`: a minute apart from 10:00, every 17th one late (back at 10:05). */
function event(partition: number, offset: number): Envelope<unknown> {
  const at = offset % 17 === 16 ? H10 + 5 * MINUTE : H10 + offset * MINUTE;
  const platform = PLATFORMS[(offset * 7 + partition) % PLATFORMS.length];
  const value = { event_id: `p${partition}-${offset}`, timestamp: new Date(at).toISOString(), ...(platform === undefined ? {} : { platform }) };
  return envelopeOf(value, { topic: 'games', partition, offset, timestamp: at }, new CountingLease(), at);
}

const events = (from: number, to: number) => [0, 1].flatMap((p) => Array.from({ length: to - from + 1 }, (_, i) => event(p, from + i)));

describe('s3ParquetSink partitionBy on versitygw', () => {
  it('replayed from an earlier offset after a crash that lost files, holds every record once, in its platform directory', async () => {
    const bucket = await createBucket('partition-by');
    const client = s3Client();
    const make = () => s3ParquetSink({ id: 'cold', client, bucket, prefix: 'lake', partitionBy: ['platform'], maxFileRows: 4 }, testContext().context);

    const first = make();
    await first.write(events(0, 59));
    await first.close();
    // The crash: two uploads of the last minutes never landed, and nothing past offset 9 was committed.
    const keys = await listKeys(client, bucket);
    const last = (match: (k: string) => boolean) => keys.filter(match).sort((a, b) => (a.split('+')[2] as string).localeCompare(b.split('+')[2] as string)).at(-1);
    const lost = [last((k) => k.includes('platform=android/') && k.includes('games+0+')), last((k) => k.includes('platform=__missing__/'))];
    expect(lost.every((k) => k !== undefined && Number(k.split('+')[2]) >= 10)).toBe(true);
    for (const key of lost) await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: key as string }));

    const second = make();
    const replay = events(10, 99);
    await second.write(replay);
    await second.close();
    expect(replay.every((e) => (e.lease as CountingLease).done)).toBe(true);

    const root = await download(client, bucket);
    const rows = await query(
      `SELECT event_id, platform, dir_platform, count(*)::INTEGER AS n FROM (
         SELECT event_id, platform, regexp_extract(filename, 'platform=([^/]+)/', 1) AS dir_platform
         FROM read_parquet('${join(root, 'lake', '**', '*.parquet')}', union_by_name = true, filename = true, hive_partitioning = false)
       ) GROUP BY ALL ORDER BY event_id`,
    );
    const expected = events(0, 99).map((e) => (e.value as { event_id: string }).event_id).sort();
    expect(rows.map((r) => r.event_id)).toEqual(expected);
    expect(rows.filter((r) => r.n !== 1)).toEqual([]);
    for (const r of rows) expect(r.dir_platform).toBe(r.platform === null ? '__missing__' : String(r.platform).replace(' ', '%20'));
    const hours = new Set((await listKeys(client, bucket)).map((k) => /platform=[^/]+\/(.*)\/games\+/.exec(k)?.[1]));
    expect([...hours].sort()).toEqual(['year=2025/month=06/day=01/hour=10', 'year=2025/month=06/day=01/hour=11']);
    client.destroy();
  });
});
