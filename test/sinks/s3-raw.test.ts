import { gunzipSync, zstdDecompressSync } from 'node:zlib';
import { VirtualTimeScheduler } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/core/errors.ts';
import { CountingLease, envelopeOf, type Envelope, type RecordMeta } from '../../src/core/envelope.ts';
import { DEAD_LETTER_HEADERS } from '../../src/runtime/dead-letters.ts';
import { s3RawSink, type S3RawSinkOptions } from '../../src/sinks/s3-raw.ts';
import { RawBody } from '../../src/sinks/s3-raw-files.ts';
import { testContext } from '../support/sink-context.ts';
import { FakeS3 } from './s3-parquet-fake.ts';

const T10 = Date.UTC(2025, 5, 1, 10, 5);
const HOUR_MS = 3_600_000;
const hourDir = (hour: number) => `year=2025/month=06/day=01/hour=${hour}`;
const pad = (n: number) => String(n).padStart(20, '0');
const key = (first: number, last: number, { hour = 10, partition = 0, ext = '.jsonl.gz' } = {}) =>
  `raw/games/${hourDir(hour)}/games+${partition}+${pad(first)}+${pad(last)}${ext}`;

function raw(offset: number, more: Partial<RecordMeta> = {}, value: Buffer | null = Buffer.from(`{"n":${offset}}`)): Envelope<unknown> {
  return envelopeOf(value, { topic: 'games', partition: 0, offset, timestamp: T10, ...more }, new CountingLease());
}
const range = (from: number, to: number, more: Partial<RecordMeta> = {}) => Array.from({ length: to - from + 1 }, (_, i) => raw(from + i, more));
const done = (batch: readonly Envelope<unknown>[]) => batch.map((e) => (e.lease as CountingLease).done);

function bucket(options: Partial<S3RawSinkOptions> = {}) {
  const s3 = new FakeS3();
  const make = (more: Partial<S3RawSinkOptions> = {}) => {
    const { context, metrics } = testContext();
    const sink = s3RawSink({ id: 'raw-tier', client: s3.client, bucket: 'lake', prefix: 'raw', ...options, ...more }, context);
    return { sink, metrics, skipped: () => metrics.value('duplicates_total', { step: 'raw-tier' }) };
  };
  const keys = () => [...s3.objects.keys()].sort();
  const lines = (k: string) =>
    gunzipSync(s3.objects.get(k) as Uint8Array)
      .toString('utf8')
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  return { s3, make, keys, lines };
}

describe('s3RawSink', () => {
  it('keeps each record as a JSON line with its offset, key, headers and exact bytes, released once in S3', async () => {
    const { make, keys, lines } = bucket();
    const { sink } = make();
    const batch = [
      raw(0, { key: Buffer.from('u1'), headers: { source: 'app' } }),
      raw(1, {}, Buffer.from([0xff, 0x00, 0x0a])), // not UTF-8, with a newline
      raw(2, {}, null),
    ];
    await sink.write(batch);
    expect(done(batch)).toEqual([false, false, false]);
    await sink.flush();
    expect(done(batch)).toEqual([true, true, true]);
    expect(keys()).toEqual([key(0, 2)]);
    expect(lines(key(0, 2))).toEqual([
      { topic: 'games', partition: 0, offset: 0, timestamp: T10, key: 'u1', headers: { source: 'app' }, value: '{"n":0}' },
      { topic: 'games', partition: 0, offset: 1, timestamp: T10, key: null, headers: {}, value: '/wAK', valueEncoding: 'base64' },
      { topic: 'games', partition: 0, offset: 2, timestamp: T10, key: null, headers: {}, value: null },
    ]);
    expect(Buffer.from('/wAK', 'base64')).toEqual(Buffer.from([0xff, 0x00, 0x0a]));
  });

  it('writes bare values, zstd compressed, with format value', async () => {
    const { make, keys, s3 } = bucket({ format: 'value', compression: 'zstd' });
    const { sink } = make();
    await sink.write(range(0, 2));
    await sink.close();
    expect(keys()).toEqual([key(0, 2, { ext: '.raw.zst' })]);
    expect(zstdDecompressSync(s3.objects.get(key(0, 2, { ext: '.raw.zst' })) as Uint8Array).toString()).toBe('{"n":0}\n{"n":1}\n{"n":2}\n');
  });

  it('cuts files by rows, by bytes, by age and at the hour, per partition', async () => {
    const scheduler = new VirtualTimeScheduler();
    const { make, keys } = bucket({ maxFileRows: 3, maxFileBytes: 10_000, maxFileAgeMs: 60_000, scheduler });
    const { sink } = make();
    await sink.write([...range(0, 3), ...range(0, 1, { partition: 1 }), raw(4, { timestamp: T10 + HOUR_MS })]);
    scheduler.flush(); // the age timers of the open files fire
    await sink.flush();
    expect(keys()).toEqual([key(0, 2), key(3, 3), key(4, 4, { hour: 11 }), key(0, 1, { partition: 1 })].sort());

    const bytes = bucket({ maxFileBytes: 30 });
    const small = bytes.make();
    await small.sink.write(range(0, 4));
    await small.sink.flush();
    expect(bytes.keys().length).toBeGreaterThan(1);
    expect(bytes.keys().flatMap((k) => bytes.lines(k).map((l) => l.offset))).toEqual([0, 1, 2, 3, 4]);
  });

  it('replayed from an earlier offset, skips what objects hold and writes what a lost file held', async () => {
    const { make, keys, s3, lines } = bucket({ maxFileRows: 4 });
    const first = make();
    await first.sink.write(range(0, 9));
    await first.sink.close();
    expect(keys()).toEqual([key(0, 3), key(4, 7), key(8, 9)]);
    s3.objects.delete(key(4, 7));

    const second = make();
    const replay = range(2, 12);
    await second.sink.write(replay);
    await second.sink.close();
    expect(done(replay).every(Boolean)).toBe(true);
    expect(second.skipped()).toBe(4); // 2, 3, 8 and 9
    expect(keys()).toEqual([key(0, 3), key(4, 7), key(8, 9), key(10, 12)]);
    const offsets = keys().flatMap((k) => lines(k).map((l) => l.offset));
    expect(offsets).toEqual(Array.from({ length: 13 }, (_, i) => i));
  });

  it('archives dead letters with their headers under <step>/<error code>/<hour>', async () => {
    const { make, keys, lines } = bucket({ prefix: 'errors', layout: 'dead-letters' });
    const { sink } = make();
    const dead = (offset: number, step: string | undefined, code: string) =>
      raw(offset, {
        topic: 'dlq',
        headers: { ...(step === undefined ? {} : { [DEAD_LETTER_HEADERS.step]: step }), [DEAD_LETTER_HEADERS.code]: code, [DEAD_LETTER_HEADERS.offset]: String(offset * 10) },
      });
    await sink.write([dead(0, 'parse', 'TRIBUTARY_PARSE'), dead(1, 'validate', 'TRIBUTARY_VALIDATION'), dead(2, 'parse', 'TRIBUTARY_PARSE'), dead(3, undefined, 'X/Y')]);
    await sink.close();
    const h = hourDir(10);
    expect(keys()).toEqual(
      [
        `errors/parse/TRIBUTARY_PARSE/${h}/dlq+0+${pad(0)}+${pad(2)}.jsonl.gz`,
        `errors/validate/TRIBUTARY_VALIDATION/${h}/dlq+0+${pad(1)}+${pad(1)}.jsonl.gz`,
        `errors/__missing__/X%2FY/${h}/dlq+0+${pad(3)}+${pad(3)}.jsonl.gz`,
      ].sort(),
    );
    expect(lines(keys().find((k) => k.includes('/validate/')) as string)[0]?.headers).toMatchObject({ [DEAD_LETTER_HEADERS.offset]: '10' });
  });

  it('holds the leases of a file S3 refused, and fails the next flush', async () => {
    const { make, s3 } = bucket();
    const { sink } = make();
    const send = s3.send.bind(s3);
    s3.send = async (command, options) => {
      if (command.constructor.name === 'PutObjectCommand') throw Object.assign(new Error('denied'), { name: 'AccessDenied', $metadata: { httpStatusCode: 403 } });
      return send(command, options);
    };
    const batch = range(0, 1);
    await sink.write(batch);
    await expect(sink.flush()).rejects.toThrow(/upload of s3:\/\/lake\/raw\/games\/.* refused: denied/);
    expect(done(batch)).toEqual([false, false]);
  });

  it('drops the open files of a revoked partition, and lists it again when it comes back', async () => {
    const { make, keys, s3 } = bucket();
    const { sink } = make();
    const lost = range(0, 1);
    await sink.write([...lost, ...range(0, 1, { partition: 1 })]);
    sink.partitionsRevoked?.([{ topic: 'games', partition: 0 }]);
    expect(done(lost)).toEqual([true, true]);
    await sink.flush();
    expect(keys()).toEqual([key(0, 1, { partition: 1 })]);
    const listed = s3.lists;
    await sink.write(range(0, 1));
    await sink.flush();
    expect(s3.lists).toBe(listed + 1);
    expect(keys()).toEqual([key(0, 1), key(0, 1, { partition: 1 })]);
  });

  it('does not list for records of a revoked partition, so what its next owner wrote is skipped when it comes back', async () => {
    const { make, keys, s3 } = bucket();
    const a = make();
    await a.sink.write(range(0, 3));
    await a.sink.flush();
    a.sink.partitionsRevoked?.([{ topic: 'games', partition: 0 }]);
    const revoked = range(4, 5).map((e) => ({ ...e, lease: Object.assign(new CountingLease(), { revoked: true }) }));
    const listed = s3.lists;
    await a.sink.write(revoked);
    expect(s3.lists).toBe(listed);
    const b = make();
    await b.sink.write(range(4, 7));
    await b.sink.flush();
    a.sink.partitionsAssigned?.([{ topic: 'games', partition: 0 }]);
    await a.sink.write(range(4, 9));
    await a.sink.close();
    expect(a.skipped()).toBe(4);
    expect(keys()).toEqual([key(0, 3), key(4, 7), key(8, 9)]);
  });

  it('refuses bad options with a ConfigError naming the step', () => {
    const s3 = new FakeS3();
    const make = (o: Partial<S3RawSinkOptions>) => () => s3RawSink({ id: 'raw-tier', client: s3.client, bucket: 'lake', ...o }, testContext().context);
    expect(make({ compression: 'lz4' as never })).toThrow(ConfigError);
    expect(make({ layout: 'dead-letters', format: 'value' })).toThrow(/raw-tier: layout 'dead-letters' keeps headers/);
    expect(make({ maxFileRows: 0 })).toThrow(/maxFileRows must be a number >= 1/);
  });

  it('compresses an object as it fills: one gzip member or zstd frame holding every line, in order', async () => {
    // ~1.5 MB of lines: several blocks go to the compressor before the object ends.
    const lines = Array.from({ length: 20_000 }, (_, i) => Buffer.from(`{"n":${i},"pad":"${'x'.repeat(i % 100)}"}\n`));
    const text = Buffer.concat(lines).toString();
    for (const [compression, inflate] of [['gzip', gunzipSync], ['zstd', zstdDecompressSync]] as const) {
      const body = new RawBody(compression);
      for (const line of lines) body.add(line);
      const bytes = await body.finish();
      expect(bytes.length).toBeLessThan(text.length / 4);
      expect(inflate(bytes).toString()).toBe(text);
    }
    const plain = new RawBody('none');
    for (const line of lines.slice(0, 3)) plain.add(line);
    expect(Buffer.from(await plain.finish()).toString()).toBe(Buffer.concat(lines.slice(0, 3)).toString());
  });

  it('takes text lines and byte lines alike, counts them in UTF-8 bytes and gives them back exactly', async () => {
    const lines = Array.from({ length: 5_000 }, (_, i) => (i % 3 === 0 ? Buffer.from(`{"n":${i},"b":"\u00e9"}\n`) : `{"n":${i},"s":"é€😀${'z'.repeat(i % 80)}"}\n`));
    const expected = Buffer.concat(lines.map((line) => (typeof line === 'string' ? Buffer.from(line) : line)));
    for (const [compression, inflate] of [['zstd', zstdDecompressSync], ['none', (b: Buffer) => b]] as const) {
      const body = new RawBody(compression);
      const counted = lines.reduce((sum, line) => sum + body.add(line), 0);
      expect(counted).toBe(expected.length);
      expect(inflate(Buffer.from(await body.finish())).equals(expected)).toBe(true);
    }
  });

  it('drops an object being compressed without writing it', async () => {
    const body = new RawBody('gzip');
    for (let i = 0; i < 10_000; i++) body.add(Buffer.from(`{"n":${i},"pad":"${'y'.repeat(40)}"}\n`));
    body.drop();
    await new Promise((resolve) => setTimeout(resolve, 10));
  });
});
