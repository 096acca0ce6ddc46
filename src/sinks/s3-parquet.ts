import { EventTimeFutureError, EventTimeTooOldError, SchemaLimitError, SinkOverloadError, SinkPermanentError, TributaryError } from '../core/errors.ts';
import type { Envelope } from '../core/envelope.ts';
import { toColumns } from './parquet/columns.ts';
import { flattenRecord } from './parquet/flatten.ts';
import { SchemaTracker, type Column, type FitResult, type ParquetRow } from './parquet/schema.ts';
import { loadParquetWriter, type ParquetFileWriter, type ParquetWriterFactory } from './parquet/writer.ts';
import { WorkerParquetEncoder } from './parquet/worker-writer.ts';
import { appendRow, FileTable, OPEN_WRITER_ROWS, type OpenFile } from './s3-parquet-files.ts';
import { directoryPrefix, hourPartitioner, partitionDirectories, rangeKey, type HourPartition } from './s3-parquet-key.ts';
import { resolveOptions, type ResolvedOptions, type S3ParquetSinkOptions } from './s3-parquet-options.ts';
import { Recovery } from './s3-parquet-recovery.ts';
import { S3Uploads } from './s3-uploads.ts';
import type { Sink, SinkContext } from '../core/sink.ts';

export type { S3ParquetSinkOptions } from './s3-parquet-options.ts';

/**
 * A sink writing records as Parquet files to S3, partitioned by event hour:
 * `<prefix>/<topic>/year=YYYY/month=MM/day=dd/hour=HH/<topic>+<partition>+<first:020>+<last:020>.parquet`,
 * and with `partitionBy` first by field values: `<prefix>/<topic>/platform=ios/year=…/`.
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
 * from the last commit, and an upload racing that owner's listing would write rows twice. For the
 * same reason no upload starts during a rebalance, and its closed files go up only if the member
 * keeps their partition (see `s3-uploads.ts`).
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
  readonly #partitionsOf: (value: unknown) => string;
  readonly #files: FileTable;
  readonly #recovery: Recovery;
  readonly #uploads: S3Uploads;
  #factory: Promise<ParquetWriterFactory> | undefined;
  #encoder: WorkerParquetEncoder | undefined;
  #bufferedBytes = 0;
  #bufferedRows = 0;
  #closed = false;
  /** The previous write, settled. */
  #writing: Promise<unknown> = Promise.resolve();

  constructor(options: ResolvedOptions, context: SinkContext) {
    this.id = options.id;
    this.#o = options;
    this.#context = context;
    this.#labels = { step: options.id };
    this.#schema = new SchemaTracker(options.columns, options.extraFields, options.maxColumns);
    this.#hourOf = hourPartitioner(options.timeZone, options.id);
    this.#partitionsOf = partitionDirectories(options.partitionBy);
    this.#files = new FileTable({ ...options, logger: context.logger, schema: this.#schema, close: (file) => this.#close(file) });
    this.#uploads = new S3Uploads({ ...options, noun: 'S3 Parquet file' }, context);
    this.#recovery = new Recovery({ ...options, retry: this.#uploads.retry(`listing s3://${options.bucket}`), logger: context.logger });
  }

  write(batch: readonly Envelope<T>[]): Promise<void> {
    // One write at a time: a write may wait for a listing, and appends must keep offset order.
    const written = this.#writing.then(() => this.#write(batch));
    this.#writing = written.catch(() => {});
    return written;
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
    for (const file of this.#files.revoked(partitions)) this.#drop(file);
  }

  /** Lets an open file go unwritten: its records are read again by their partition's next owner. */
  #drop(file: OpenFile): void {
    file.closed = true;
    this.#files.forget(file);
    const writer = file.writer;
    if (writer !== undefined) void file.chain.then(() => writer.finish()).catch(() => {}); // frees the writer; the bytes are not wanted
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
    // A record whose time has no hour partition never reaches a file (nor the replay listing).
    const records: Envelope<T>[] = [];
    const hours: HourPartition[] = [];
    for (const envelope of batch) {
      const ms = envelope.eventTimeMs ?? envelope.meta.timestamp;
      if (partitionable(ms)) {
        records.push(envelope);
        hours.push(this.#hourOf(ms));
      } else this.#context.deadLetter(envelope, unpartitionable(ms, this.id), this.id);
    }
    const dirs = records.map((e, i) => `${e.meta.topic}/${this.#partitionsOf(e.value)}${hours[i] as HourPartition}`);
    const durable = await this.#recovery.offsetsFor(records, dirs);
    this.#check();
    const now = this.#o.scheduler.now();
    const touched = new Set<OpenFile>();
    let skipped = 0;
    let revoked = 0;
    for (let i = 0; i < records.length; i++) {
      const envelope = records[i] as Envelope<T>;
      if (envelope.lease.revoked === true) {
        revoked += 1; // the partition's next owner writes it
        envelope.lease.release();
        continue;
      }
      // Fitted before the replay check: a skipped record widens the schema as it did the first time.
      const fit = this.#fit(envelope);
      if (fit instanceof TributaryError) {
        this.#context.deadLetter(envelope, fit, this.id);
        continue;
      }
      if (durable[i]?.covers(envelope.meta.offset)) {
        skipped += 1; // in an object already: a replay
        envelope.lease.release();
        continue;
      }
      const file = this.#files.fileFor(envelope.meta, hours[i] as HourPartition, fit.row, now, factory, dirs[i] as string);
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

  /**
   * Flattens and fits a record: its row, or why it cannot be written (for dead letters). Never
   * throws: a record nested too deep for the flattener is refused like one that does not fit.
   */
  #fit(envelope: Envelope<T>): { readonly row: ParquetRow; readonly bytes: number } | TributaryError {
    let fit: FitResult;
    try {
      fit = this.#schema.fit(flattenRecord(envelope.value));
    } catch (error) {
      const reason = `cannot flatten the record: ${error instanceof Error ? error.message : String(error)}`;
      return new SinkPermanentError(`${this.id}: ${reason}`, { stepId: this.id, summary: `${this.id}: ${reason}`, cause: error });
    }
    if (fit.ok && this.#schema.columns.length > 0) return fit;
    if (fit.ok) return new SinkPermanentError(`${this.id}: the record has no non-null field`, { stepId: this.id, summary: `${this.id}: the record has no non-null field` });
    if (fit.limit) {
      this.#context.metrics.inc('state_limit_total', this.#labels);
      return new SchemaLimitError(`${this.id}: column '${fit.column}': ${fit.reason}`, { stepId: this.id, summary: `${this.id}: ${fit.summary}` });
    }
    return new SinkPermanentError(`${this.id}: column '${fit.column}': ${fit.reason}`, { stepId: this.id, summary: `${this.id}: column '${fit.column}': ${fit.summary}` });
  }

  async flush(): Promise<void> {
    for (const file of [...this.#files.files()]) this.#close(file);
    await this.#uploads.all();
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
    if (this.#uploads.failure !== undefined) throw this.#uploads.failure;
    if (open && this.#closed) throw new Error(`${this.id}: write after close`);
  }

  #writerFactory(): Promise<ParquetWriterFactory> {
    this.#factory ??= this.#o.encodeInWorker
      ? Promise.resolve((this.#encoder = new WorkerParquetEncoder(this.#o.writer, this.#o.encoderWorkers)).factory)
      : loadParquetWriter(this.#o.writer);
    return this.#factory;
  }

  /**
   * Hands the file's pending rows to its writer, after whatever it is still doing. The writer opens
   * (fixing the file's columns) once the file has `OPEN_WRITER_ROWS` rows, or when it closes (`all`).
   */
  #drain(file: OpenFile, all = false): Promise<void> {
    if (file.writer === undefined && !all && file.pending.length < OPEN_WRITER_ROWS) return file.chain;
    const writer = this.#files.openWriter(file);
    const rows = file.pending;
    file.pending = [];
    if (rows.length === 0) return file.chain;
    const batch = toColumns(rows, file.columns as readonly Column[]);
    file.chain = file.chain.then(() => writer.write(batch));
    return file.chain;
  }

  /** Closes a file and starts its upload; its leases are released once S3 has it. */
  #close(file: OpenFile): void {
    if (file.closed) return;
    file.closed = true;
    this.#files.forget(file);
    const key = rangeKey(directoryPrefix(this.#o.prefix, file.dir, file.meta.topic, file.meta.partition), file.meta.offset, file.lastOffset);
    this.#uploads.start({
      key,
      rows: file.rows,
      leases: file.leases,
      body: async () => {
        await this.#drain(file, true);
        return (file.writer as ParquetFileWriter).finish();
      },
      settled: (outcome) => {
        if (outcome !== 'failed') this.#bufferedRows -= file.rows;
        this.#bufferedBytes -= file.bytes;
        this.#context.metrics.set('buffer_records', this.#labels, this.#bufferedRows);
      },
    });
  }

  /** Backpressure (`wait`): until the buffered bytes are under the bound, wait for uploads. */
  async #relieve(): Promise<void> {
    while (this.#bufferedBytes > this.#o.maxBufferedBytes && this.#uploads.failure === undefined) {
      if (this.#uploads.size === 0 && !this.#closeLargest()) return;
      await this.#uploads.any();
    }
  }

  #closeLargest(): boolean {
    let largest: OpenFile | undefined;
    for (const file of this.#files.files()) if (largest === undefined || file.bytes > largest.bytes) largest = file;
    if (largest !== undefined) this.#close(largest);
    return largest !== undefined;
  }
}

/** Whether an instant has an hour partition with a four-digit year (from 1970). */
function partitionable(ms: number): boolean {
  return Number.isFinite(ms) && ms >= 0 && ms <= LATEST_PARTITION_MS;
}

const LATEST_PARTITION_MS = Date.UTC(9999, 11, 31, 23, 59, 59, 999);

/** Why a record with no usable time (`withEventTime` bounds it; a record without it may not be) is refused. */
function unpartitionable(ms: number, stepId: string): TributaryError {
  const message = `${stepId}: event time ${ms} has no hour partition (before 1970, past year 9999 or not a number)`;
  return ms > 0 ? new EventTimeFutureError(message, { stepId, summary: message }) : new EventTimeTooOldError(message, { stepId, summary: message });
}
