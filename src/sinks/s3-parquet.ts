import { SinkOverloadError, SinkPermanentError, UnavailableError } from '../core/errors.ts';
import type { Envelope } from '../core/envelope.ts';
import { Dependency } from '../core/health.ts';
import type { RetryOptions } from '../core/retry.ts';
import { isUnreachable, sinkErrorOf } from './aws-errors.ts';
import { flattenRecord } from './parquet/flatten.ts';
import { SchemaTracker } from './parquet/schema.ts';
import { loadParquetWriter, type ParquetWriterFactory } from './parquet/writer.ts';
import { WorkerParquetEncoder } from './parquet/worker-writer.ts';
import { appendRow, FileTable, type OpenFile } from './s3-parquet-files.ts';
import { hourPartitioner, objectKey, type HourPartition } from './s3-parquet-key.ts';
import { resolveOptions, type ResolvedOptions, type S3ParquetSinkOptions } from './s3-parquet-options.ts';
import { Recovery } from './s3-parquet-recovery.ts';
import { uploadWithRetry } from './s3-parquet-upload.ts';
import type { Sink, SinkContext } from '../core/sink.ts';

export type { S3ParquetSinkOptions } from './s3-parquet-options.ts';

/**
 * A sink writing records as Parquet files to S3, partitioned by event hour:
 * `<prefix>/<topic>/year=YYYY/month=MM/day=dd/hour=HH/<topic>+<partition>+<first:020>+<last:020>.parquet`.
 *
 * Records are flattened (`event_data.amount` → `event_data_amount`, arrays as JSON), fitted to the
 * declared or inferred columns (a new field widens the schema and starts a new file; a value that does
 * not fit goes to dead letters), and appended to the file of their topic, partition and hour. A file
 * is closed at `maxFileRows`, `maxFileBytes`, `maxFileAgeMs`, when its partition moves on to a later
 * hour, and on `flush`; it is then encoded, uploaded (multipart when large) and only then are its
 * records' leases released. Uploads and listings that fail transiently (S3 down, a timeout, 5xx,
 * throttling) are retried with backoff until S3 answers, for up to the outage timeout: meanwhile the
 * leases stay held, so the in-flight bound pauses the source and nothing past them is committed.
 *
 * Replays land once: at the first record of a topic, partition and hour not seen since it started or
 * since the partition was revoked, the sink lists that hour's objects of the partition; a record in
 * the offset range an object names is in S3 already: its lease is released, it is counted in
 * `duplicates_total` and not written again (a partition's records come in offset order, the same
 * ones on every replay).
 *
 * A revoked partition's open files are dropped, not uploaded, and so are its records still on their
 * way (`Lease.revoked`): the member will not commit them, the partition's next owner writes them
 * from the last commit, and an upload racing that owner's listing would write rows twice.
 *
 * @example
 * const sink = s3ParquetSink(
 *   { id: 'events-to-s3', client: createS3Client(connections), bucket: 'lake', prefix: 'raw',
 *     columns: [{ name: 'timestamp', type: 'timestamp' }] },
 *   context,
 * );
 * await sink.write(batch);
 * await sink.flush(); // durable; leases released
 */
export function s3ParquetSink<T = unknown>(options: S3ParquetSinkOptions, context: SinkContext): Sink<T> {
  return new S3ParquetSink<T>(resolveOptions(options), context);
}

class S3ParquetSink<T> implements Sink<T> {
  readonly id: string;
  readonly #o: ResolvedOptions;
  readonly #context: SinkContext;
  readonly #labels: { step: string };
  readonly #schema: SchemaTracker;
  readonly #hourOf: (epochMs: number) => HourPartition;
  readonly #files: FileTable;
  readonly #recovery: Recovery;
  /** S3, as the runtime's health sees it (or the sink's own when it runs alone). */
  readonly #s3: Dependency;
  readonly #uploads = new Set<Promise<void>>();
  #factory: Promise<ParquetWriterFactory> | undefined;
  #encoder: WorkerParquetEncoder | undefined;
  #bufferedBytes = 0;
  #bufferedRows = 0;
  #failure: Error | undefined;
  #closed = false;
  /** The previous write, settled. */
  #writing: Promise<unknown> = Promise.resolve();

  constructor(options: ResolvedOptions, context: SinkContext) {
    this.id = options.id;
    this.#o = options;
    this.#context = context;
    this.#labels = { step: options.id };
    this.#schema = new SchemaTracker(options.columns, options.extraFields);
    this.#hourOf = hourPartitioner(options.timeZone, options.id);
    this.#files = new FileTable({ ...options, logger: context.logger, schema: this.#schema, close: (file) => this.#close(file) });
    this.#s3 =
      context.health?.dependency('s3') ??
      new Dependency('s3', {
        logger: context.logger,
        metrics: context.metrics,
        now: () => options.scheduler.now(),
        ...(options.unavailableTimeoutMs === undefined ? {} : { unavailableTimeoutMs: options.unavailableTimeoutMs }),
      });
    this.#recovery = new Recovery({ ...options, retry: this.#retry(`listing s3://${options.bucket}`), logger: context.logger });
  }

  write(batch: readonly Envelope<T>[]): Promise<void> {
    // One write at a time: a write may wait for a listing, and appends must keep offset order.
    const written = this.#writing.then(() => this.#write(batch));
    this.#writing = written.catch(() => {});
    return written;
  }

  partitionsRevoked(partitions: readonly { topic: string; partition: number }[]): void {
    this.#recovery.forget(partitions);
    for (const file of this.#files.revoked(partitions)) this.#drop(file);
  }

  /** Lets an open file go unwritten: its records are read again by their partition's next owner. */
  #drop(file: OpenFile): void {
    file.closed = true;
    this.#files.forget(file);
    void file.chain.then(() => file.writer.finish()).catch(() => {}); // frees the writer; the bytes are not wanted
    for (const lease of file.leases) lease.release();
    this.#bufferedRows -= file.rows;
    this.#bufferedBytes -= file.bytes;
    this.#context.metrics.inc('revoked_records_total', this.#labels, file.rows);
  }

  async #write(batch: readonly Envelope<T>[]): Promise<void> {
    this.#check();
    if (batch.length === 0) return;
    const factory = await this.#writerFactory();
    if (this.#o.onOverload === 'reject' && this.#bufferedBytes >= this.#o.maxBufferedBytes) {
      if (this.#uploads.size === 0) this.#closeLargest();
      throw new SinkOverloadError(
        `${this.id}: ${this.#bufferedBytes} bytes buffered or uploading (bound ${this.#o.maxBufferedBytes})`,
        this.#o.overloadRetryAfterMs,
        { stepId: this.id },
      );
    }
    const hours = batch.map((e) => this.#hourOf(e.eventTimeMs ?? e.meta.timestamp));
    const durable = await this.#recovery.offsetsFor(batch, hours);
    this.#check();
    const now = this.#o.scheduler.now();
    const touched = new Set<OpenFile>();
    let skipped = 0;
    let revoked = 0;
    for (let i = 0; i < batch.length; i++) {
      const envelope = batch[i] as Envelope<T>;
      if (envelope.lease.revoked === true) {
        revoked += 1; // the partition's next owner writes it
        envelope.lease.release();
        continue;
      }
      // Fitted before the replay check: a skipped record widens the schema as it did the first time.
      const fit = this.#schema.fit(flattenRecord(envelope.value));
      if (!fit.ok || this.#schema.columns.length === 0) {
        const reason = fit.ok ? 'the record has no non-null field' : `column '${fit.column}': ${fit.reason}`;
        this.#context.deadLetter(envelope, new SinkPermanentError(`${this.id}: ${reason}`, { stepId: this.id }), this.id);
        continue;
      }
      if (durable[i]?.covers(envelope.meta.offset)) {
        skipped += 1; // in an object already: a replay
        envelope.lease.release();
        continue;
      }
      const file = this.#files.fileFor(envelope.meta, hours[i] as HourPartition, fit.row, now, factory);
      appendRow(file, envelope, fit.row, fit.bytes);
      this.#bufferedBytes += fit.bytes;
      this.#bufferedRows += 1;
      touched.add(file);
      if (file.rows >= this.#o.maxFileRows || file.bytes >= this.#o.maxFileBytes) this.#close(file);
    }
    if (skipped > 0) this.#context.metrics.inc('duplicates_total', this.#labels, skipped);
    if (revoked > 0) this.#context.metrics.inc('revoked_records_total', this.#labels, revoked);
    const writes: Promise<void>[] = [];
    for (const file of touched) if (!file.closed) writes.push(this.#drain(file));
    await Promise.all(writes);
    this.#context.metrics.set('buffer_records', this.#labels, this.#bufferedRows);
    if (this.#o.onOverload === 'wait') await this.#relieve();
    this.#check();
  }

  async flush(): Promise<void> {
    for (const file of [...this.#files.files()]) this.#close(file);
    while (this.#uploads.size > 0) await Promise.all(this.#uploads);
    this.#check(false);
  }

  async close(): Promise<void> {
    try {
      await this.flush();
    } finally {
      this.#closed = true;
      await this.#encoder?.terminate();
    }
  }

  #check(open = true): void {
    if (this.#failure !== undefined) throw this.#failure;
    if (open && this.#closed) throw new Error(`${this.id}: write after close`);
  }

  #writerFactory(): Promise<ParquetWriterFactory> {
    this.#factory ??= this.#o.encodeInWorker
      ? Promise.resolve((this.#encoder = new WorkerParquetEncoder(this.#o.writer)).factory)
      : loadParquetWriter(this.#o.writer);
    return this.#factory;
  }

  /** Hands the file's pending rows to its writer, after whatever it is still doing. */
  #drain(file: OpenFile): Promise<void> {
    const rows = file.pending;
    file.pending = [];
    if (rows.length > 0) file.chain = file.chain.then(() => file.writer.write(rows));
    return file.chain;
  }

  /** Closes a file and starts its upload; its leases are released once S3 has it. */
  #close(file: OpenFile): void {
    if (file.closed) return;
    file.closed = true;
    this.#files.forget(file);
    const upload: Promise<void> = this.#upload(file).finally(() => this.#uploads.delete(upload));
    this.#uploads.add(upload);
  }

  async #upload(file: OpenFile): Promise<void> {
    const startedAt = this.#o.scheduler.now();
    const key = objectKey(this.#o.prefix, file.meta.topic, file.hour, file.meta.partition, file.meta.offset, file.lastOffset);
    try {
      let body: Uint8Array;
      try {
        await this.#drain(file);
        body = await file.writer.finish();
      } catch (error) {
        // Encoding failed: a bug or a value the writer refused, not something a retry fixes.
        throw new SinkPermanentError(`${this.id}: encoding ${key} failed: ${message(error)}`, { cause: error, stepId: this.id });
      }
      const what = `upload of s3://${this.#o.bucket}/${key}`;
      await uploadWithRetry(
        {
          client: this.#o.client,
          bucket: this.#o.bucket,
          key,
          body,
          multipartThresholdBytes: this.#o.multipartThresholdBytes,
          partSizeBytes: this.#o.partSizeBytes,
        },
        this.#retry(what),
      ).catch((error: unknown) => {
        throw error instanceof UnavailableError ? error : new SinkPermanentError(`${this.id}: ${what} refused: ${message(error)}`, { cause: error, stepId: this.id });
      });
      for (const lease of file.leases) lease.release();
      this.#bufferedRows -= file.rows;
      this.#context.metrics.inc('sink_files_total', this.#labels);
      this.#context.metrics.inc('sink_records_total', this.#labels, file.rows);
      this.#context.metrics.observe('sink_latency_ms', this.#labels, this.#o.scheduler.now() - startedAt);
      this.#context.metrics.set('buffer_records', this.#labels, this.#bufferedRows);
    } catch (error) {
      // The leases stay held: the runtime must not commit past these records.
      this.#failure ??= error as Error;
      this.#context.logger.error({ step: this.id, key, err: message(error) }, 'S3 Parquet file not written');
    } finally {
      this.#bufferedBytes -= file.bytes;
    }
  }

  /** The one retry path (`core/retry.ts`) for `what`; outages are logged by the S3 dependency. */
  #retry(what: string): RetryOptions {
    const { scheduler, random, retry, unavailableTimeoutMs } = this.#o;
    return {
      policy: retry,
      dependency: this.#s3,
      classify: (error) => sinkErrorOf(error, this.id, what),
      unreachable: isUnreachable,
      sleep: (ms) => new Promise((resolve) => scheduler.schedule(resolve, ms)),
      random,
      onRetry: (retry, error) => {
        this.#context.metrics.inc('sink_retries_total', this.#labels);
        this.#context.logger.debug({ step: this.id, retry, err: error.message }, 'S3 call failed; retrying');
      },
      ...(unavailableTimeoutMs === undefined ? {} : { giveUpAfterMs: unavailableTimeoutMs }),
    };
  }

  /** Backpressure (`wait`): until the buffered bytes are under the bound, wait for uploads. */
  async #relieve(): Promise<void> {
    while (this.#bufferedBytes > this.#o.maxBufferedBytes && this.#failure === undefined) {
      if (this.#uploads.size === 0 && !this.#closeLargest()) return;
      await Promise.race(this.#uploads);
    }
  }

  #closeLargest(): boolean {
    let largest: OpenFile | undefined;
    for (const file of this.#files.files()) if (largest === undefined || file.bytes > largest.bytes) largest = file;
    if (largest !== undefined) this.#close(largest);
    return largest !== undefined;
  }
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
