import { isUtf8 } from 'node:buffer';
import { promisify } from 'node:util';
import { gzip, zstdCompress } from 'node:zlib';
import type { SchedulerLike, Subscription } from 'rxjs';
import type { Envelope, Lease, RecordMeta } from '../core/envelope.ts';
import { partitionKey } from '../core/partition.ts';
import type { HourPartition } from './s3-parquet-key.ts';

/** How a raw object holds its records: one line each. */
export type RawFormat = 'record' | 'value';
export type RawCompression = 'gzip' | 'zstd' | 'none';

const gzipAsync = promisify(gzip);
const zstdAsync = promisify(zstdCompress);
const NEWLINE = Buffer.from('\n');

/** The object name's extension: `.jsonl.gz` for records, `.raw.zst` for values, and so on. */
export function rawExtension(format: RawFormat, compression: RawCompression): string {
  const base = format === 'record' ? '.jsonl' : '.raw';
  return compression === 'gzip' ? `${base}.gz` : compression === 'zstd' ? `${base}.zst` : base;
}

/** The bytes of a value as the source gave them: a Buffer as is, a string as UTF-8, anything else as JSON. */
export function rawBytes(value: unknown): Buffer | null {
  if (value === null || value === undefined) return null;
  if (Buffer.isBuffer(value)) return value;
  if (typeof value === 'string') return Buffer.from(value);
  return Buffer.from(JSON.stringify(value));
}

/**
 * One line of a raw object, newline included. `value`: the record's bytes as they are (a tombstone
 * is an empty line). `record`: a JSON object with the topic, partition, offset, timestamp, key,
 * headers and value, key and value as UTF-8 text, or base64 with `keyEncoding`/`valueEncoding`
 * `base64` when they are not UTF-8, so that the bytes come back exactly.
 *
 * @example
 * rawLine(envelopeOf(Buffer.from('{"a":1}')), 'record');
 * // '{"topic":"t","partition":0,"offset":0,"timestamp":0,"key":null,"headers":{},"value":"{\"a\":1}"}\n'
 */
export function rawLine(envelope: Envelope<unknown>, format: RawFormat): Buffer {
  const value = rawBytes(envelope.value);
  if (format === 'value') return value === null ? NEWLINE : Buffer.concat([value, NEWLINE]);
  const { topic, partition, offset, timestamp, key, headers } = envelope.meta;
  const line: Record<string, unknown> = { topic, partition, offset, timestamp };
  text(line, 'key', key);
  line.headers = headers;
  text(line, 'value', value);
  return Buffer.from(`${JSON.stringify(line)}\n`);
}

function text(line: Record<string, unknown>, name: 'key' | 'value', bytes: Buffer | null): void {
  if (bytes === null) line[name] = null;
  else if (isUtf8(bytes)) line[name] = bytes.toString('utf8');
  else {
    line[name] = bytes.toString('base64');
    line[`${name}Encoding`] = 'base64';
  }
}

/** Compresses an object's lines off the main thread (zlib's thread pool). */
export async function encodeRaw(chunks: readonly Buffer[], compression: RawCompression): Promise<Uint8Array> {
  const body = Buffer.concat(chunks);
  if (compression === 'gzip') return gzipAsync(body);
  if (compression === 'zstd') return zstdAsync(body);
  return body;
}

/** A raw object being filled: one per topic, partition and directory. */
export interface RawFile {
  readonly meta: RecordMeta;
  readonly dir: string;
  readonly hour: HourPartition;
  lastOffset: number;
  readonly chunks: Buffer[];
  readonly leases: Lease[];
  readonly openedAt: number;
  rows: number;
  bytes: number;
  closed: boolean;
  timer: Subscription | undefined;
}

interface Stream {
  latestHour: HourPartition;
  readonly files: Map<string, RawFile>;
}

/**
 * The open raw files by topic, partition and directory. A partition reaching a later hour closes its
 * files of earlier hours; a file older than `maxFileAgeMs` closes (on its timer, or when its next
 * record comes).
 */
export class RawFileTable {
  readonly #streams = new Map<string, Stream>();
  readonly #o: { scheduler: SchedulerLike; maxFileAgeMs: number; close: (file: RawFile) => void };

  constructor(options: { scheduler: SchedulerLike; maxFileAgeMs: number; close: (file: RawFile) => void }) {
    this.#o = options;
  }

  fileFor(meta: RecordMeta, hour: HourPartition, dir: string, now: number): RawFile {
    const key = partitionKey(meta.topic, meta.partition);
    let stream = this.#streams.get(key);
    if (stream === undefined) this.#streams.set(key, (stream = { latestHour: hour, files: new Map() }));
    if (hour > stream.latestHour) {
      for (const file of stream.files.values()) this.#o.close(file);
      stream.latestHour = hour;
    }
    const open = stream.files.get(dir);
    if (open !== undefined && now - open.openedAt < this.#o.maxFileAgeMs) return open;
    if (open !== undefined) this.#o.close(open);
    const file: RawFile = { meta, dir, hour, lastOffset: meta.offset, chunks: [], leases: [], openedAt: now, rows: 0, bytes: 0, closed: false, timer: undefined };
    file.timer = this.#o.scheduler.schedule(() => this.#o.close(file), this.#o.maxFileAgeMs);
    stream.files.set(dir, file);
    return file;
  }

  /** Removes a closed file and stops its timer. */
  forget(file: RawFile): void {
    file.timer?.unsubscribe();
    const stream = this.#streams.get(partitionKey(file.meta.topic, file.meta.partition));
    if (stream?.files.get(file.dir) === file) stream.files.delete(file.dir);
  }

  *files(): IterableIterator<RawFile> {
    for (const stream of this.#streams.values()) yield* stream.files.values();
  }

  /** Forgets revoked partitions; returns their open files for the caller to drop. */
  revoked(partitions: readonly { topic: string; partition: number }[]): RawFile[] {
    const open: RawFile[] = [];
    for (const { topic, partition } of partitions) {
      const key = partitionKey(topic, partition);
      open.push(...(this.#streams.get(key)?.files.values() ?? []));
      this.#streams.delete(key);
    }
    return open;
  }
}
