import type { S3Client } from '@aws-sdk/client-s3';
import { asyncScheduler, type SchedulerLike } from 'rxjs';
import { ConfigError } from '../core/errors.ts';
import { DEFAULT_RETRY_POLICY, retryPolicyProblems, type RetryPolicy } from '../core/retry.ts';
import type { Envelope } from '../core/envelope.ts';
import { DEAD_LETTER_HEADERS, type Sink, type SinkContext } from '../core/sink.ts';
import { directoryPrefix, hourPartitioner, partitionValue, rangeKey, type HourPartition } from './s3-parquet-key.ts';
import { Recovery } from './s3-parquet-recovery.ts';
import { DEFAULT_ROTATION } from './s3-parquet-options.ts';
import { S3Uploads } from './s3-uploads.ts';
import { rawExtension, rawLine, RawFileTable, type RawCompression, type RawFile, type RawFormat } from './s3-raw-files.ts';

const MiB = 2 ** 20;

/** Options of `s3RawSink`; sizes in bytes, durations in milliseconds. */
export interface S3RawSinkOptions {
  readonly id: string;
  readonly client: S3Client;
  readonly bucket: string;
  /** Key prefix (default none). */
  readonly prefix?: string;
  /** `record` (default): a JSON line per record, with offset, key and headers; `value`: the value bytes and a newline. */
  readonly format?: RawFormat;
  /** Default `gzip`. */
  readonly compression?: RawCompression;
  /**
   * `source` (default): `<prefix>/<topic>/<hour>/`. `dead-letters`: records of a dead-letter topic
   * under `<prefix>/<step>/<error code>/<hour>/`, from their `tributary.step` and `tributary.error.code` headers.
   */
  readonly layout?: 'source' | 'dead-letters';
  /** IANA zone of the hour directories (default `UTC`). */
  readonly timeZone?: string;
  /** Rotation: a file closes at this many records (default 100,000)… */
  readonly maxFileRows?: number;
  /** …or this many uncompressed bytes (default 64 MiB)… */
  readonly maxFileBytes?: number;
  /** …or this long after it opened (default 5 minutes), and always when its partition reaches a later hour. */
  readonly maxFileAgeMs?: number;
  /** Bound on bytes buffered or uploading; past it `write` waits for uploads (default 256 MiB). */
  readonly maxBufferedBytes?: number;
  readonly multipartThresholdBytes?: number;
  readonly partSizeBytes?: number;
  /** Backoff of the retries of uploads and listings (default base 100 ms, cap 5 s, full jitter). */
  readonly retry?: Partial<RetryPolicy>;
  /** How long S3 may fail before the sink fails (default: the runtime's S3 outage timeout). */
  readonly unavailableTimeoutMs?: number;
  readonly maxRecoveryEntries?: number;
  readonly scheduler?: SchedulerLike;
  readonly random?: () => number;
}

type Resolved = Required<Omit<S3RawSinkOptions, 'retry' | 'unavailableTimeoutMs'>> & { readonly retry: RetryPolicy; readonly unavailableTimeoutMs: number | undefined };

/**
 * A sink keeping the records it is given as they came, before any parsing: newline-delimited, gzip
 * or zstd compressed, one object per topic, partition, hour and file cut, named like the Parquet
 * sink's objects, `<prefix>/<topic>/<hour>/<topic>+<partition>+<first:020>+<last:020>.jsonl.gz`,
 * and replay-proof the same way: at the first record of a (topic, partition, directory) it lists that
 * directory, and a record in a range an object names is in S3 already (see `Recovery`).
 *
 * With `layout: 'dead-letters'`, fed from a dead-letter topic, it archives dead letters with their
 * headers under `<prefix>/<step>/<error code>/<hour>/`.
 *
 * @example
 * const sink = s3RawSink({ id: 'raw-tier', client, bucket: 'lake', prefix: 'raw' }, context);
 * await sink.write(batch); // Envelope<Buffer | null>, as the source gives them
 * await sink.flush();
 */
export function s3RawSink(options: S3RawSinkOptions, context: SinkContext): Sink<unknown> {
  return new S3RawSink(resolve(options), context);
}

function resolve(o: S3RawSinkOptions): Resolved {
  const problems: string[] = [];
  const positive = (name: string, value: number, min = 1) => {
    if (!Number.isFinite(value) || value < min) problems.push(`${o.id}: ${name} must be a number >= ${min}, got ${value}`);
    return value;
  };
  if (typeof o.bucket !== 'string' || o.bucket === '') problems.push(`${o.id}: bucket must be a non-empty string`);
  const resolved: Resolved = {
    id: o.id,
    client: o.client,
    bucket: o.bucket,
    prefix: o.prefix ?? '',
    format: o.format ?? 'record',
    compression: o.compression ?? 'gzip',
    layout: o.layout ?? 'source',
    timeZone: o.timeZone ?? 'UTC',
    maxFileRows: positive('maxFileRows', o.maxFileRows ?? DEFAULT_ROTATION.rows),
    maxFileBytes: positive('maxFileBytes', o.maxFileBytes ?? DEFAULT_ROTATION.bytes),
    maxFileAgeMs: positive('maxFileAgeMs', o.maxFileAgeMs ?? DEFAULT_ROTATION.intervalMs),
    maxBufferedBytes: positive('maxBufferedBytes', o.maxBufferedBytes ?? 256 * MiB),
    multipartThresholdBytes: positive('multipartThresholdBytes', o.multipartThresholdBytes ?? 16 * MiB, 5 * MiB),
    partSizeBytes: positive('partSizeBytes', o.partSizeBytes ?? 8 * MiB, 5 * MiB),
    retry: { ...DEFAULT_RETRY_POLICY, ...o.retry },
    unavailableTimeoutMs: o.unavailableTimeoutMs === undefined ? undefined : positive('unavailableTimeoutMs', o.unavailableTimeoutMs),
    maxRecoveryEntries: positive('maxRecoveryEntries', o.maxRecoveryEntries ?? 10_000),
    scheduler: o.scheduler ?? asyncScheduler,
    random: o.random ?? Math.random,
  };
  problems.push(...retryPolicyProblems(resolved.retry).map((p) => `${o.id}: ${p}`));
  if (!['record', 'value'].includes(resolved.format)) problems.push(`${o.id}: format must be 'record' or 'value'`);
  if (!['gzip', 'zstd', 'none'].includes(resolved.compression)) problems.push(`${o.id}: compression must be 'gzip', 'zstd' or 'none'`);
  if (!['source', 'dead-letters'].includes(resolved.layout)) problems.push(`${o.id}: layout must be 'source' or 'dead-letters'`);
  if (resolved.layout === 'dead-letters' && resolved.format !== 'record') problems.push(`${o.id}: layout 'dead-letters' keeps headers: format must be 'record'`);
  if (problems.length > 0) throw new ConfigError(problems, { stepId: o.id });
  return Object.freeze(resolved);
}

class S3RawSink implements Sink<unknown> {
  readonly id: string;
  readonly #o: Resolved;
  readonly #context: SinkContext;
  readonly #labels: { step: string };
  readonly #hourOf: (epochMs: number) => HourPartition;
  readonly #extension: string;
  readonly #files: RawFileTable;
  readonly #recovery: Recovery;
  readonly #uploads: S3Uploads;
  #bufferedBytes = 0;
  #writing: Promise<unknown> = Promise.resolve();

  constructor(options: Resolved, context: SinkContext) {
    this.id = options.id;
    this.#o = options;
    this.#context = context;
    this.#labels = { step: options.id };
    this.#hourOf = hourPartitioner(options.timeZone, options.id);
    this.#extension = rawExtension(options.format, options.compression);
    this.#files = new RawFileTable({ scheduler: options.scheduler, maxFileAgeMs: options.maxFileAgeMs, compression: options.compression, close: (file) => this.#close(file) });
    this.#uploads = new S3Uploads({ ...options, noun: 'S3 raw object' }, context);
    this.#recovery = new Recovery({ ...options, extension: this.#extension, retry: this.#uploads.retry(`listing s3://${options.bucket}`), logger: context.logger });
  }

  write(batch: readonly Envelope<unknown>[]): Promise<void> {
    // One write at a time: appends keep offset order while a write waits for a listing.
    const written = this.#writing.then(() => this.#write(batch));
    this.#writing = written.catch(() => {});
    return written;
  }

  async #write(batch: readonly Envelope<unknown>[]): Promise<void> {
    this.#check();
    if (batch.length === 0) return;
    const hours = batch.map((e) => this.#hourOf(e.eventTimeMs ?? e.meta.timestamp));
    const dirs = batch.map((e, i) => `${this.#directory(e)}/${hours[i] as HourPartition}`);
    const durable = await this.#recovery.offsetsFor(batch, dirs);
    this.#check();
    const now = this.#o.scheduler.now();
    let skipped = 0;
    for (let i = 0; i < batch.length; i++) {
      const envelope = batch[i] as Envelope<unknown>;
      if (envelope.lease.revoked === true || durable[i]?.covers(envelope.meta.offset)) {
        // Revoked: the partition's next owner writes it. Covered: a replay, in S3 already.
        if (envelope.lease.revoked !== true) skipped += 1;
        envelope.lease.release();
        continue;
      }
      const file = this.#files.fileFor(envelope.meta, hours[i] as HourPartition, dirs[i] as string, now);
      const bytes = file.body.add(rawLine(envelope, this.#o.format));
      file.leases.push(envelope.lease);
      file.lastOffset = envelope.meta.offset;
      file.rows += 1;
      file.bytes += bytes;
      this.#bufferedBytes += bytes;
      if (file.rows >= this.#o.maxFileRows || file.bytes >= this.#o.maxFileBytes) this.#close(file);
    }
    if (skipped > 0) this.#context.metrics.inc('duplicates_total', this.#labels, skipped);
    // Backpressure: past the bound, close the largest file and wait for uploads.
    while (this.#bufferedBytes > this.#o.maxBufferedBytes && this.#uploads.failure === undefined) {
      if (this.#uploads.size === 0) {
        const largest = [...this.#files.files()].sort((a, b) => b.bytes - a.bytes)[0];
        if (largest === undefined) break;
        this.#close(largest);
      }
      await this.#uploads.any();
    }
    this.#check();
  }

  /** The directory below the prefix, before the hour. */
  #directory(envelope: Envelope<unknown>): string {
    if (this.#o.layout === 'source') return envelope.meta.topic;
    const headers = envelope.meta.headers;
    return `${partitionValue(headers[DEAD_LETTER_HEADERS.step])}/${partitionValue(headers[DEAD_LETTER_HEADERS.code])}`;
  }

  rebalanceStarted(): void {
    this.#uploads.rebalanceStarted();
  }

  rebalanceEnded(): void {
    this.#uploads.rebalanceEnded();
  }

  /** A partition (back) on this member is listed afresh: another member may have written it meanwhile. */
  partitionsAssigned(partitions: readonly { topic: string; partition: number }[]): void {
    this.#recovery.forget(partitions);
  }

  partitionsRevoked(partitions: readonly { topic: string; partition: number }[]): void {
    this.#recovery.forget(partitions);
    for (const file of this.#files.revoked(partitions)) {
      // Not uploaded: the partition's next owner reads these records again from the last commit.
      file.closed = true;
      file.timer?.unsubscribe();
      file.body.drop();
      for (const lease of file.leases) lease.release();
      this.#bufferedBytes -= file.bytes;
      this.#context.metrics.inc('revoked_records_total', this.#labels, file.rows);
    }
  }

  async flush(): Promise<void> {
    for (const file of [...this.#files.files()]) this.#close(file);
    await this.#uploads.all();
    this.#check();
  }

  async close(): Promise<void> {
    await this.flush();
  }

  #check(): void {
    if (this.#uploads.failure !== undefined) throw this.#uploads.failure;
  }

  #close(file: RawFile): void {
    if (file.closed) return;
    file.closed = true;
    this.#files.forget(file);
    const { topic, partition, offset } = file.meta;
    this.#uploads.start({
      key: rangeKey(directoryPrefix(this.#o.prefix, file.dir, topic, partition), offset, file.lastOffset, this.#extension),
      rows: file.rows,
      leases: file.leases,
      body: () => file.body.finish(),
      settled: () => {
        this.#bufferedBytes -= file.bytes;
      },
    });
  }
}
