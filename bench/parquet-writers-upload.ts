/**
 * For a 100k-row file with the default writer: encode time against upload time (PutObject to the
 * local S3 server), and what handing the rows to a worker thread would cost (a structured clone).
 */
import { CreateBucketCommand, DeleteBucketCommand, DeleteObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { createS3Client, localStack } from '../src/config.ts';
import { envelopeOf } from '../src/core/envelope.ts';
import { silentLogger } from '../src/core/logger.ts';
import { Metrics } from '../src/core/metrics.ts';
import type { ParquetRow } from '../src/sinks/parquet/schema.ts';
import { DEFAULT_PARQUET_WRITER, loadParquetWriter } from '../src/sinks/parquet/writer.ts';
import { hourPartitioner, objectKey } from '../src/sinks/s3-parquet-key.ts';
import { s3ParquetSink } from '../src/sinks/s3-parquet.ts';
import { COLUMNS, EventRows } from './parquet-writers-data.ts';

const ROWS = 100_000;
const REPEAT = 5;
/** The sink comparison streams this many records, rotating files every SINK_FILE_ROWS. */
const SINK_ROWS = 300_000;
const SINK_FILE_ROWS = 50_000;

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

async function time<T>(fn: () => Promise<T> | T): Promise<[number, T]> {
  const t0 = performance.now();
  const result = await fn();
  return [performance.now() - t0, result];
}

export async function encodeVersusUpload(): Promise<{ markdown: string; json: Record<string, unknown> }> {
  const factory = await loadParquetWriter(DEFAULT_PARQUET_WRITER);
  const sinkRows = new EventRows().next(SINK_ROWS);
  const rows = sinkRows.slice(0, ROWS);
  const encode: number[] = [];
  const clone: number[] = [];
  const json: number[] = [];
  let bytes: Uint8Array = new Uint8Array();
  for (let i = 0; i < REPEAT; i++) {
    const [ms, out] = await time(async () => {
      const file = factory.open({ columns: COLUMNS, compression: 'snappy' });
      await file.write(rows);
      return file.finish();
    });
    encode.push(ms);
    bytes = out;
    clone.push((await time(() => structuredClone(rows)))[0]);
    json.push((await time(() => JSON.stringify(rows)))[0]);
  }
  const upload: number[] = [];
  const sink: Record<'inline' | 'worker', { wallMs: number; mainThreadCpuMs: number }[]> = { inline: [], worker: [] };
  let uploadError: string | undefined;
  const client = createS3Client(localStack().connections);
  const bucket = `bench-parquet-${process.pid}`;
  try {
    await client.send(new CreateBucketCommand({ Bucket: bucket }));
    for (let i = 0; i < REPEAT; i++) {
      upload.push((await time(() => client.send(new PutObjectCommand({ Bucket: bucket, Key: `f${i}.parquet`, Body: bytes }))))[0]);
    }
    for (let i = 0; i < REPEAT; i++) await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: `f${i}.parquet` }));
    for (let i = 0; i < 3; i++) {
      for (const mode of ['inline', 'worker'] as const) sink[mode].push(await sinkRun(client, bucket, sinkRows, mode === 'worker'));
    }
    await client.send(new DeleteBucketCommand({ Bucket: bucket }));
  } catch (error) {
    uploadError = error instanceof Error ? error.message : String(error);
  } finally {
    client.destroy();
  }
  const result = {
    writer: DEFAULT_PARQUET_WRITER,
    rows: ROWS,
    fileBytes: bytes.byteLength,
    encodeMs: median(encode),
    structuredCloneMs: median(clone),
    jsonStringifyMs: median(json),
    putObjectMs: upload.length > 0 ? median(upload) : null,
    sink: Object.fromEntries(
      Object.entries(sink).map(([mode, runs]) => [
        mode,
        runs.length === 0 ? null : { wallMs: median(runs.map((r) => r.wallMs)), mainThreadCpuMs: median(runs.map((r) => r.mainThreadCpuMs)) },
      ]),
    ),
    uploadError,
  };
  const putText = result.putObjectMs === null ? `n/a (${uploadError})` : result.putObjectMs.toFixed(0);
  const markdown = [
    `Encode versus upload, one ${ROWS.toLocaleString('en-US')}-row file (${(bytes.byteLength / 2 ** 20).toFixed(1)} MB), ${DEFAULT_PARQUET_WRITER}, snappy, median of ${REPEAT}:`,
    '',
    '| encode ms | PutObject ms (local versitygw) | hand-off to a worker: JSON.stringify ms (used) | structuredClone ms |',
    '|---:|---:|---:|---:|',
    `| ${result.encodeMs.toFixed(0)} | ${putText} | ${result.jsonStringifyMs.toFixed(0)} | ${result.structuredCloneMs.toFixed(0)} |`,
    '',
    `The sink end to end: ${SINK_ROWS.toLocaleString('en-US')} records in batches of 1,000, files of ${SINK_FILE_ROWS.toLocaleString('en-US')} rows (row groups of 50,000), real uploads, then flush; after a 20,000-record warm-up; median of 3:`,
    '',
    '| encoding | wall ms (records/s) | main-thread CPU ms (process.threadCpuUsage) |',
    '|---|---:|---:|',
    ...(['inline', 'worker'] as const).map((mode) => {
      const r = result.sink[mode];
      const rate = r ? Math.round(SINK_ROWS / (r.wallMs / 1000)).toLocaleString('en-US') : '';
      return r ? `| ${mode === 'worker' ? 'worker thread' : 'main thread'} | ${r.wallMs.toFixed(0)} (${rate}) | ${r.mainThreadCpuMs.toFixed(0)} |` : `| ${mode} | n/a | n/a |`;
    }),
  ].join('\n');
  return { markdown, json: result };
}

/** One sink run over `rows` (rotating files), closed at the end; wall time and main-thread busy time. */
async function sinkRun(client: S3Client, bucket: string, rows: readonly ParquetRow[], worker: boolean) {
  const sink = s3ParquetSink(
    { id: 'bench', client, bucket, prefix: 'sink', columns: COLUMNS, encodeInWorker: worker, maxFileRows: SINK_FILE_ROWS, rowGroupRows: 50_000 },
    { metrics: new Metrics(), logger: silentLogger, deadLetter: () => {} },
  );
  const at = Date.UTC(2025, 5, 1, 12);
  const envelopes = rows.map((row, offset) => envelopeOf(row, { topic: 'games', partition: 0, offset }, undefined, at));
  // Warm up (worker start, JIT) on another partition, outside the measurement.
  await sink.write(envelopes.slice(0, 20_000).map((e) => ({ ...e, meta: { ...e.meta, partition: 1 } })));
  await sink.flush();
  const cpu0 = process.threadCpuUsage();
  const t0 = performance.now();
  for (let i = 0; i < envelopes.length; i += 1000) await sink.write(envelopes.slice(i, i + 1000));
  await sink.close();
  const wallMs = performance.now() - t0;
  const cpu = process.threadCpuUsage(cpu0);
  for (let offset = 0; offset < rows.length; offset += SINK_FILE_ROWS) {
    for (const partition of offset < 20_000 ? [0, 1] : [0]) {
      // Names carry the last offset too; a leftover object would make the next run skip its records.
      const last = Math.min(offset + SINK_FILE_ROWS, partition === 1 ? 20_000 : rows.length) - 1;
      await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: objectKey('sink', 'games', hourPartitioner()(at), partition, offset, last) }));
    }
  }
  return { wallMs, mainThreadCpuMs: (cpu.user + cpu.system) / 1000 };
}
