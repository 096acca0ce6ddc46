/**
 * For a 100k-row file with the default writer: encode time against upload time (PutObject to the
 * local S3 server); then the sink end to end encoding inline, in one worker and in two.
 */
import { CreateBucketCommand, DeleteBucketCommand, DeleteObjectCommand, ListObjectsV2Command, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { createS3Client, localStack } from '../src/config.ts';
import { envelopeOf } from '../src/core/envelope.ts';
import { silentLogger } from '../src/core/logger.ts';
import { Metrics } from '../src/core/metrics.ts';
import { toColumns } from '../src/sinks/parquet/columns.ts';
import type { ParquetRow } from '../src/sinks/parquet/schema.ts';
import { DEFAULT_PARQUET_WRITER, loadParquetWriter } from '../src/sinks/parquet/writer.ts';
import { s3ParquetSink } from '../src/sinks/s3-parquet.ts';
import { COLUMNS, EventRows } from './parquet-writers-data.ts';

const ROWS = 100_000;
const REPEAT = 5;
/** The sink comparison streams this many records from SINK_PARTITIONS partitions, rotating files every SINK_FILE_ROWS. */
const SINK_ROWS = 400_000;
const SINK_PARTITIONS = 4;
const SINK_FILE_ROWS = 50_000;
const MODES = ['inline', 'worker', 'workers-2'] as const;
type Mode = (typeof MODES)[number];
const MODE_LABEL: Record<Mode, string> = {
  inline: 'main thread (`encodeInWorker: false`)',
  worker: 'one worker thread (`encodeInWorker: true`, the default)',
  'workers-2': 'two worker threads (`encoderWorkers: 2`)',
};

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
  let bytes: Uint8Array = new Uint8Array();
  for (let i = 0; i < REPEAT; i++) {
    const [ms, out] = await time(async () => {
      const file = factory.open({ columns: COLUMNS, compression: 'snappy' });
      await file.write(toColumns(rows, COLUMNS));
      return file.finish();
    });
    encode.push(ms);
    bytes = out;
  }
  const upload: number[] = [];
  const sink: Record<Mode, { wallMs: number; mainThreadCpuMs: number }[]> = { inline: [], worker: [], 'workers-2': [] };
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
      for (const mode of MODES) sink[mode].push(await sinkRun(client, bucket, sinkRows, mode));
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
    '| toColumns + encode ms | PutObject ms (local versitygw) |',
    '|---:|---:|',
    `| ${result.encodeMs.toFixed(0)} | ${putText} |`,
    '',
    `The sink end to end (${DEFAULT_PARQUET_WRITER}): ${SINK_ROWS.toLocaleString('en-US')} records from ${SINK_PARTITIONS} partitions in batches of 1,000, files of ${SINK_FILE_ROWS.toLocaleString('en-US')} rows (row groups of 50,000), real uploads, then flush; after a 20,000-record warm-up; median of 3:`,
    '',
    '| encoding | wall ms (records/s) | main-thread CPU ms (process.threadCpuUsage) |',
    '|---|---:|---:|',
    ...MODES.map((mode) => {
      const r = result.sink[mode];
      const rate = r ? Math.round(SINK_ROWS / (r.wallMs / 1000)).toLocaleString('en-US') : '';
      return r ? `| ${MODE_LABEL[mode]} | ${r.wallMs.toFixed(0)} (${rate}) | ${r.mainThreadCpuMs.toFixed(0)} |` : `| ${MODE_LABEL[mode]} | n/a | n/a |`;
    }),
  ].join('\n');
  return { markdown, json: result };
}

/** One sink run over `rows` (rotating files), closed at the end; wall time and main-thread busy time. */
async function sinkRun(client: S3Client, bucket: string, rows: readonly ParquetRow[], mode: Mode) {
  const prefix = `sink-${mode}`;
  const sink = s3ParquetSink(
    {
      id: 'bench',
      client,
      bucket,
      prefix,
      columns: COLUMNS,
      encodeInWorker: mode !== 'inline',
      encoderWorkers: mode === 'workers-2' ? 2 : 1,
      maxFileRows: SINK_FILE_ROWS,
      rowGroupRows: 50_000,
    },
    { metrics: new Metrics(), logger: silentLogger, deadLetter: () => {} },
  );
  const at = Date.UTC(2025, 5, 1, 12);
  // Batches of 1,000 from each partition in turn, offsets counted per partition.
  const envelopes = rows.map((row, i) => {
    const batch = Math.floor(i / 1000);
    const offset = Math.floor(batch / SINK_PARTITIONS) * 1000 + (i % 1000);
    return envelopeOf(row, { topic: 'games', partition: batch % SINK_PARTITIONS, offset }, undefined, at);
  });
  // Warm up (worker start, JIT) on another partition, outside the measurement.
  await sink.write(envelopes.slice(0, 20_000).map((e, offset) => ({ ...e, meta: { ...e.meta, partition: SINK_PARTITIONS, offset } })));
  await sink.flush();
  const cpu0 = process.threadCpuUsage();
  const t0 = performance.now();
  for (let i = 0; i < envelopes.length; i += 1000) await sink.write(envelopes.slice(i, i + 1000));
  await sink.close();
  const wallMs = performance.now() - t0;
  const cpu = process.threadCpuUsage(cpu0);
  // Object names carry the offsets; a leftover object would make the next run skip its records.
  for (;;) {
    const listed = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: `${prefix}/` }));
    if (!listed.Contents?.length) break;
    for (const object of listed.Contents) await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: object.Key as string }));
  }
  return { wallMs, mainThreadCpuMs: (cpu.user + cpu.system) / 1000 };
}
