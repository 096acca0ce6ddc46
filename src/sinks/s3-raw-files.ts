import { isUtf8 } from 'node:buffer';
import { constants as zlibConstants, createGzip, createZstdCompress, type Gzip, type ZstdCompress } from 'node:zlib';
import type { SchedulerLike, Subscription } from 'rxjs';
import type { Envelope, Lease, RecordMeta } from '../core/envelope.ts';
import { partitionKey } from '../core/partition.ts';
import type { HourPartition } from './s3-parquet-key.ts';

/** How a raw object holds its records: one line each. */
export type RawFormat = 'record' | 'value';
export type RawCompression = 'gzip' | 'zstd' | 'none';

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
 * `base64` when they are not UTF-8, so that the bytes come back exactly. A `record` line is text
 * (the object's block encodes its lines at once); a `value` line is the bytes.
 *
 * @example
 * rawLine(envelopeOf(Buffer.from('{"a":1}')), 'record');
 * // '{"topic":"t","partition":0,"offset":0,"timestamp":0,"key":null,"headers":{},"value":"{\"a\":1}"}\n'
 */
export function rawLine(envelope: Envelope<unknown>, format: RawFormat): string | Buffer {
  const value = rawBytes(envelope.value);
  if (format === 'value') return value === null ? NEWLINE : Buffer.concat([value, NEWLINE]);
  const { topic, partition, offset, timestamp, key, headers } = envelope.meta;
  const line: Record<string, unknown> = { topic, partition, offset, timestamp };
  text(line, 'key', key);
  line.headers = headers;
  text(line, 'value', value);
  return `${JSON.stringify(line)}\n`;
}

function text(line: Record<string, unknown>, name: 'key' | 'value', bytes: Buffer | null): void {
  if (bytes === null) line[name] = null;
  else if (isUtf8(bytes)) line[name] = bytes.toString('utf8');
  else {
    line[name] = bytes.toString('base64');
    line[`${name}Encoding`] = 'base64';
  }
}

/** Lines gathered before they go to the compressor at once: one zlib call per block, not per line. */
const BLOCK_BYTES = 256 * 1024;

/**
 * zstd level 1: on JSON lines of the generated traffic, 1.7x less CPU than the default level 3 and
 * a better ratio (12.2 vs 10.3 over 130 MB in 4 MB blocks; bench/RESULTS.md).
 */
const ZSTD_LEVEL = 1;

/**
 * The body of a raw object being filled. Compressed objects are compressed as they fill (zlib's
 * thread pool, a block of lines at a time), so an open object holds its compressed bytes and at most
 * one block of lines, not all of its lines; `finish` ends the one gzip member or zstd frame. Text
 * lines of a block are encoded to UTF-8 together, once: no Buffer per line.
 *
 * @example
 * const body = new RawBody('zstd');
 * body.add('{"a":1}\n');
 * const bytes = await body.finish();
 */
export class RawBody {
  readonly #compression: RawCompression;
  #block: (string | Buffer)[] = [];
  #blockBytes = 0;
  #stream: Gzip | ZstdCompress | undefined;
  readonly #out: Buffer[] = [];
  #failure: Error | undefined;

  constructor(compression: RawCompression) {
    this.#compression = compression;
  }

  /** Adds a line; returns its size in bytes (UTF-8). */
  add(line: string | Buffer): number {
    const bytes = typeof line === 'string' ? Buffer.byteLength(line) : line.length;
    this.#block.push(line);
    this.#blockBytes += bytes;
    if (this.#blockBytes >= BLOCK_BYTES) this.#seal();
    return bytes;
  }

  /** The object's bytes: everything added, compressed as configured. */
  finish(): Promise<Uint8Array> {
    this.#seal();
    if (this.#compression === 'none') return Promise.resolve(Buffer.concat(this.#out));
    const stream = this.#compressor();
    return new Promise<Uint8Array>((resolve, reject) => {
      stream.once('end', () => (this.#failure === undefined ? resolve(Buffer.concat(this.#out)) : reject(this.#failure)));
      stream.once('close', () => {
        if (this.#failure !== undefined) reject(this.#failure);
      });
      stream.end();
    });
  }

  /** Stops compressing: the object is not written (its partition was revoked). */
  drop(): void {
    this.#block = [];
    this.#out.length = 0;
    this.#stream?.destroy();
  }

  /** The block's lines as bytes, to the compressor (or kept as they are, uncompressed). */
  #seal(): void {
    const block = this.#block;
    if (block.length === 0) return;
    const bytes = block.every((line) => typeof line === 'string')
      ? Buffer.from(block.join(''))
      : Buffer.concat(block.map((line) => (typeof line === 'string' ? Buffer.from(line) : line)), this.#blockBytes);
    this.#block = [];
    this.#blockBytes = 0;
    if (this.#compression === 'none') this.#out.push(bytes);
    else this.#compressor().write(bytes);
  }

  #compressor(): Gzip | ZstdCompress {
    if (this.#stream !== undefined) return this.#stream;
    const stream = this.#compression === 'gzip' ? createGzip() : createZstdCompress({ params: { [zlibConstants.ZSTD_c_compressionLevel]: ZSTD_LEVEL } });
    stream.on('data', (chunk: Buffer) => this.#out.push(chunk));
    stream.on('error', (error: Error) => (this.#failure ??= error));
    this.#stream = stream;
    return stream;
  }
}

/** A raw object being filled: one per topic, partition and directory. */
export interface RawFile {
  readonly meta: RecordMeta;
  readonly dir: string;
  readonly hour: HourPartition;
  lastOffset: number;
  readonly body: RawBody;
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

interface RawFileTableOptions {
  readonly scheduler: SchedulerLike;
  readonly maxFileAgeMs: number;
  readonly compression: RawCompression;
  readonly close: (file: RawFile) => void;
}

/**
 * The open raw files by topic, partition and directory. A partition reaching a later hour closes its
 * files of earlier hours; a file older than `maxFileAgeMs` closes (on its timer, or when its next
 * record comes).
 */
export class RawFileTable {
  readonly #streams = new Map<string, Stream>();
  readonly #o: RawFileTableOptions;

  constructor(options: RawFileTableOptions) {
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
    const file: RawFile = { meta, dir, hour, lastOffset: meta.offset, body: new RawBody(this.#o.compression), leases: [], openedAt: now, rows: 0, bytes: 0, closed: false, timer: undefined };
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
