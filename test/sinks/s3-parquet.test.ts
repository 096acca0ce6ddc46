import { VirtualTimeScheduler } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { ConfigError, SinkOverloadError, SinkPermanentError, UnavailableError } from '../../src/core/errors.ts';
import { CountingLease, envelopeOf, type Envelope } from '../../src/core/envelope.ts';
import { s3ParquetSink, type S3ParquetSinkOptions } from '../../src/sinks/s3-parquet.ts';
import { testContext } from '../support/sink-context.ts';
import { FakeS3 } from './s3-parquet-fake.ts';

const HOUR = 3_600_000;
const T10 = Date.UTC(2025, 5, 1, 10, 5);
const DIR10 = 'raw/games/year=2025/month=06/day=01/hour=10';
const DIR11 = 'raw/games/year=2025/month=06/day=01/hour=11';
const pad = (offset: number) => String(offset).padStart(20, '0');
const file = (dir: string, partition: number, first: number, last: number) => `${dir}/games+${partition}+${pad(first)}+${pad(last)}.parquet`;

function record(offset: number, eventTimeMs: number, value: Record<string, unknown> = {}, partition = 0): Envelope<unknown> {
  return envelopeOf({ event_id: `e${offset}`, score: offset, ...value }, { topic: 'games', partition, offset }, new CountingLease(), eventTimeMs);
}

const done = (batch: readonly Envelope<unknown>[]) => batch.map((e) => (e.lease as CountingLease).done);

function setup(options: Partial<S3ParquetSinkOptions> = {}) {
  const s3 = new FakeS3();
  const { context, metrics, dead } = testContext();
  const sink = s3ParquetSink({ id: 'to-s3', client: s3.client, bucket: 'lake', prefix: 'raw', encodeInWorker: false, ...options }, context);
  return { s3, sink, metrics, dead };
}

describe('s3ParquetSink object names and rotation', () => {
  it('names files by topic, partition, first and last offset and event hour, closing a partition’s file when its hour ends', async () => {
    const { s3, sink, metrics } = setup();
    const batch = [
      record(0, T10),
      record(1, T10 + 1),
      record(7, T10, {}, 1),
      record(2, T10 + HOUR), // partition 0 reaches hour 11: its hour-10 file closes
      record(3, T10 + HOUR + 5),
    ];
    await sink.write(batch);
    expect(s3.sends).toBe(1);
    await sink.flush();
    expect([...s3.objects.keys()].sort()).toEqual([file(DIR10, 0, 0, 1), file(DIR10, 1, 7, 7), file(DIR11, 0, 2, 3)].sort());
    expect(metrics.value('sink_files_total', { step: 'to-s3' })).toBe(3);
    expect(metrics.value('sink_records_total', { step: 'to-s3' })).toBe(5);
    await sink.close();
  });

  it('puts a late record in a file of its own hour without closing the current one', async () => {
    const { s3, sink } = setup();
    await sink.write([record(0, T10 + HOUR), record(1, T10), record(2, T10 + HOUR), record(3, T10)]);
    expect(s3.sends).toBe(0);
    await sink.close();
    expect([...s3.objects.keys()].sort()).toEqual([file(DIR10, 0, 1, 3), file(DIR11, 0, 0, 2)]);
  });

  it('falls back to the Kafka timestamp and partitions in the configured time zone', async () => {
    const { s3, sink } = setup({ timeZone: 'Asia/Kolkata', prefix: '' });
    await sink.write([envelopeOf({ a: 1 }, { topic: 'games', partition: 2, offset: 40, timestamp: T10 })]);
    await sink.close();
    expect([...s3.objects.keys()]).toEqual([file('games/year=2025/month=06/day=01/hour=15', 2, 40, 40)]);
  });

  it('rotates by rows and by estimated bytes', async () => {
    const rows = setup({ maxFileRows: 3 });
    await rows.sink.write(Array.from({ length: 7 }, (_, i) => record(i, T10)));
    await rows.sink.close();
    const thirds = [file(DIR10, 0, 0, 2), file(DIR10, 0, 3, 5), file(DIR10, 0, 6, 6)];
    expect([...rows.s3.objects.keys()].sort()).toEqual(thirds);

    // Each record is ~110 estimated bytes: the third one passes 250 and closes the file.
    const bytes = setup({ maxFileBytes: 250 });
    await bytes.sink.write(Array.from({ length: 7 }, (_, i) => record(i, T10, { pad: 'x'.repeat(90) })));
    await bytes.sink.close();
    expect([...bytes.s3.objects.keys()].sort()).toEqual(thirds);
  });

  it('rotates by processing time with the injected scheduler', async () => {
    const scheduler = new VirtualTimeScheduler();
    const { s3, sink } = setup({ scheduler, maxFileAgeMs: 60_000 });
    await sink.write([record(0, T10), record(1, T10)]);
    scheduler.flush(); // a minute passes: the file's timer closes it
    await sink.write([record(2, T10)]);
    await sink.close();
    expect([...s3.objects.keys()].sort()).toEqual([file(DIR10, 0, 0, 1), file(DIR10, 0, 2, 2)]);
  });

  it('keeps a record with a new field in the open file while its writer has not opened (see s3-parquet-schema.test.ts)', async () => {
    const { s3, sink } = setup();
    await sink.write([record(0, T10), record(1, T10), record(2, T10, { bonus: 5 }), record(3, T10)]);
    await sink.close();
    expect([...s3.objects.keys()].sort()).toEqual([file(DIR10, 0, 0, 3)]);
  });
});

describe('s3ParquetSink leases, failures and backpressure', () => {
  it('releases leases only once the upload is confirmed', async () => {
    const { s3, sink } = setup();
    s3.hold();
    const batch = [record(0, T10), record(1, T10)];
    await sink.write(batch);
    const flushed = sink.flush();
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(done(batch)).toEqual([false, false]);
    s3.open();
    await flushed;
    expect(done(batch)).toEqual([true, true]);
  });

  it('retries failed uploads with backoff and lands the file once', async () => {
    const { s3, sink, metrics } = setup({ retry: { baseDelayMs: 1 } });
    s3.failures = 2;
    const batch = [record(0, T10), record(1, T10)];
    await sink.write(batch);
    await sink.flush();
    expect(s3.sends).toBe(3);
    expect(s3.objects.size).toBe(1);
    expect(metrics.value('sink_retries_total', { step: 'to-s3' })).toBe(2);
    expect(done(batch)).toEqual([true, true]);
  });

  it('retries a failing upload for the outage timeout, then rejects flush and later writes with UnavailableError, keeping the leases', async () => {
    const { s3, sink, metrics } = setup({ retry: { baseDelayMs: 1, maxDelayMs: 4 }, unavailableTimeoutMs: 40 });
    s3.failures = 100_000;
    const batch = [record(0, T10), record(1, T10)];
    await sink.write(batch);
    const error = await sink.flush().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UnavailableError);
    expect((error as UnavailableError).message).toMatch(/^s3 unavailable for 0 s, longer than its outage timeout; giving up: upload of s3:\/\/lake\/raw\/games\/.*: InternalError: injected failure/);
    expect(metrics.value('sink_retries_total', { step: 'to-s3' })).toBe(s3.sends - 1);
    expect(s3.sends).toBeGreaterThan(5);
    expect(done(batch)).toEqual([false, false]);
    await expect(sink.write([record(2, T10)])).rejects.toBeInstanceOf(UnavailableError);
  });

  it('does not retry a refusal that no retry fixes (access denied): the write fails at once', async () => {
    const { s3, sink, metrics } = setup();
    const send = s3.send.bind(s3);
    s3.send = async (command) => {
      if (command.constructor.name !== 'PutObjectCommand') return send(command);
      throw Object.assign(new Error('denied'), { name: 'AccessDenied', $metadata: { httpStatusCode: 403 } });
    };
    await sink.write([record(0, T10)]);
    const error = await sink.flush().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SinkPermanentError);
    expect((error as Error).message).toMatch(/refused: denied/);
    expect(metrics.value('sink_retries_total', { step: 'to-s3' })).toBe(0);
  });

  it('rejects with SinkOverloadError over the buffer bound in reject mode', async () => {
    const { s3, sink } = setup({ onOverload: 'reject', maxBufferedBytes: 10, maxFileRows: 1, overloadRetryAfterMs: 50 });
    s3.hold();
    await sink.write([record(0, T10)]);
    const error = await sink.write([record(1, T10)]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SinkOverloadError);
    expect((error as SinkOverloadError).retryAfterMs).toBe(50);
    s3.open();
    await sink.flush();
    await sink.write([record(1, T10)]);
    await sink.close();
    expect(s3.objects.size).toBe(2);
  });

  it('waits for uploads over the buffer bound in wait mode', async () => {
    const { s3, sink } = setup({ maxBufferedBytes: 10 });
    s3.hold();
    let resolved = false;
    const written = sink.write([record(0, T10), record(1, T10)]).then(() => (resolved = true));
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(resolved).toBe(false);
    expect(s3.sends).toBe(1); // the largest open file was closed to make room
    s3.open();
    await written;
    await sink.close();
  });

  it('sends a value that does not fit a typed column to dead letters, naming the column', async () => {
    const { s3, sink, dead } = setup({ columns: [{ name: 'score', type: 'int64' }] });
    const batch = [record(0, T10), record(1, T10, { score: 'lots' }), record(2, T10, { score: '12' })];
    await sink.write(batch);
    await sink.close();
    expect(dead).toHaveLength(1);
    expect(dead[0]?.envelope).toBe(batch[1]);
    expect(dead[0]?.error).toBeInstanceOf(SinkPermanentError);
    expect(dead[0]?.error.message).toBe(`to-s3: column 'score': expected int64, got string "lots"`);
    expect(s3.objects.size).toBe(1);
    expect(done(batch)).toEqual([true, true, true]);
  });

  it('encodes in a worker thread by default', async () => {
    const { s3, sink } = setup({ encodeInWorker: true });
    const batch = Array.from({ length: 5 }, (_, i) => record(i, T10));
    await sink.write(batch);
    await sink.close();
    expect(s3.objects.size).toBe(1);
    const bytes = [...s3.objects.values()][0] as Uint8Array;
    expect(Buffer.from(bytes.subarray(0, 4)).toString()).toBe('PAR1');
  });
});

describe('s3ParquetSink options', () => {
  const s3 = new FakeS3();
  const { context } = testContext();
  const make = (options: Partial<S3ParquetSinkOptions>) => () =>
    s3ParquetSink({ id: 'to-s3', client: s3.client, bucket: 'lake', ...options }, context);

  it('refuses bad options at construction, naming the step', () => {
    expect(make({ timeZone: 'Mars/Olympus' })).toThrow(ConfigError);
    expect(make({ timeZone: 'Mars/Olympus' })).toThrow(/timeZone 'Mars\/Olympus'/);
    expect(make({ writer: 'parquetjs-lite', compression: 'zstd' })).toThrow(/to-s3: Parquet writer 'parquetjs-lite' cannot write zstd/);
    expect(make({ multipartThresholdBytes: 1024 })).toThrow(/to-s3: multipartThresholdBytes must be a number >= 5242880/);
    expect(make({ bucket: '', maxFileRows: 0 })).toThrow(/bucket must be a non-empty string\nto-s3: maxFileRows/);
    expect(make({ columns: [{ name: 'a', type: 'float' as never }] })).toThrow(/columns\/0\/type/);
  });
});
