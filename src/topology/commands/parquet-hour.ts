/**
 * The Parquet objects an `s3-parquet` sink wrote for one topic and hour, under every `partitionBy`
 * directory, read back with hyparquet (row counts from the footer; one column's values when asked).
 */
import { zstdDecompressSync, gunzipSync } from 'node:zlib';
import { DeleteObjectsCommand, GetObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { parquetMetadata, parquetReadObjects } from 'hyparquet';
import { hourPartitioner, partitionName } from '../../sinks/s3-parquet-key.ts';
import type { S3ParquetSink } from '../types.ts';

export interface HourObject {
  readonly key: string;
  /** Kafka partition and offsets the name carries. */
  readonly partition: number;
  readonly first: number;
  readonly last: number;
}

const NAME = /\/([^/]+)\+(\d+)\+(\d{20})\+(\d{20})\.parquet$/;

/** `year=…/hour=HH` of the hour starting at `hourStartMs` in the sink's time zone; throws if the hour straddles two. */
export function hourDirectory(sink: Pick<S3ParquetSink, 'timeZone' | 'id'>, hourStartMs: number): string {
  const partitioner = hourPartitioner(sink.timeZone, sink.id);
  const dir = partitioner(hourStartMs);
  if (partitioner(hourStartMs + 3_599_999) !== dir) throw new Error(`sink "${sink.id}": timezone ${sink.timeZone} does not align its hours with UTC hours`);
  return dir;
}

async function listAll(s3: S3Client, bucket: string, prefix: string, delimiter?: string): Promise<{ keys: string[]; prefixes: string[] }> {
  const keys: string[] = [];
  const prefixes: string[] = [];
  let token: string | undefined;
  do {
    const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token, ...(delimiter ? { Delimiter: delimiter } : {}) }));
    for (const o of page.Contents ?? []) if (o.Key) keys.push(o.Key);
    for (const p of page.CommonPrefixes ?? []) if (p.Prefix) prefixes.push(p.Prefix);
    token = page.NextContinuationToken;
  } while (token);
  return { keys, prefixes };
}

/**
 * The objects of `topic` in the hour starting at `hourStartMs`: the `partitionBy` directories are
 * walked level by level (`platform=…/`), then each hour directory is listed.
 */
export async function listHourObjects(s3: S3Client, sink: S3ParquetSink, topic: string, hourStartMs: number): Promise<HourObject[]> {
  const hour = hourDirectory(sink, hourStartMs);
  const base = `${sink.prefix.replace(/^\/+|\/+$/g, '')}${sink.prefix.replace(/^\/+|\/+$/g, '') === '' ? '' : '/'}${topic}/`;
  let dirs = [base];
  for (const field of sink.partitionBy) {
    const next: string[] = [];
    for (const dir of dirs) {
      const { prefixes } = await listAll(s3, sink.bucket, `${dir}${partitionName(field)}=`, '/');
      next.push(...prefixes);
    }
    dirs = next;
  }
  const objects: HourObject[] = [];
  for (const dir of dirs) {
    for (const key of (await listAll(s3, sink.bucket, `${dir}${hour}/`)).keys) {
      const match = NAME.exec(key);
      if (match === null || match[1] !== topic) continue;
      objects.push({ key, partition: Number(match[2]), first: Number(match[3]), last: Number(match[4]) });
    }
  }
  return objects;
}

/** Decompressors hyparquet lacks (it reads snappy itself). */
const COMPRESSORS = {
  GZIP: (input: Uint8Array) => new Uint8Array(gunzipSync(input)),
  ZSTD: (input: Uint8Array) => new Uint8Array(zstdDecompressSync(input)),
};

/** Rows of one object, and the values of `column` (undefined when the object has no such column). */
export async function readHourObject(s3: S3Client, bucket: string, key: string, column: string | undefined): Promise<{ rows: number; values: unknown[] | undefined }> {
  const answer = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  const bytes = await answer.Body?.transformToByteArray();
  if (bytes === undefined) throw new Error(`s3://${bucket}/${key}: empty answer`);
  const file = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
  const metadata = parquetMetadata(file);
  const rows = Number(metadata.num_rows);
  const has = column !== undefined && metadata.schema.some((s) => s.name === column);
  if (!has) return { rows, values: undefined };
  const read = await parquetReadObjects({ file, metadata, columns: [column], compressors: COMPRESSORS });
  return { rows, values: read.map((r) => r[column]) };
}

/** Deletes objects (tests and operators removing an hour before a backfill). */
export async function deleteObjects(s3: S3Client, bucket: string, keys: readonly string[]): Promise<void> {
  for (let i = 0; i < keys.length; i += 1000) {
    await s3.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: keys.slice(i, i + 1000).map((Key) => ({ Key })) } }));
  }
}
