import type { S3Client } from '@aws-sdk/client-s3';
import { asyncScheduler, type SchedulerLike } from 'rxjs';
import { ConfigError } from '../core/errors.ts';
import { validateColumns, type Column, type ColumnSpec } from './parquet/schema.ts';
import { checkWriter, DEFAULT_PARQUET_WRITER, PARQUET_STATISTICS, type ParquetCompression, type ParquetStatistics, type ParquetWriterName } from './parquet/writer.ts';
import { DEFAULT_RETRY_POLICY, retryPolicyProblems, type RetryPolicy } from '../core/retry.ts';

const MiB = 2 ** 20;
/** Columns a sink's schema holds at most unless `maxColumns` says otherwise. */
export const DEFAULT_MAX_COLUMNS = 256;

/**
 * File rotation of the S3 sinks (Parquet and raw) when none is given, in the YAML and in code alike:
 * a file closes at 100,000 rows, 64 MiB or 5 minutes after it opened.
 */
export const DEFAULT_ROTATION = Object.freeze({ rows: 100_000, bytes: 64 * MiB, intervalMs: 300_000 });
/** S3's smallest part of a multipart upload (except the last). */
const MIN_PART_BYTES = 5 * MiB;

/** Options of `s3ParquetSink`; sizes in bytes, durations in milliseconds. */
export interface S3ParquetSinkOptions {
  /** The topology step id (metrics label, logs, errors). */
  readonly id: string;
  /** Built with `createS3Client` from src/config.ts; the sink does not destroy it. */
  readonly client: S3Client;
  readonly bucket: string;
  /** Key prefix before `<topic>/year=…` (default none). */
  readonly prefix?: string;
  /**
   * Fields (paths like `platform` or `event_data.game_id`) whose values make Hive partitions between
   * the topic and the hour: `<topic>/platform=ios/year=…/`. A missing value goes to `__missing__`;
   * see `partitionValue` for how values are made safe. The fields stay in the rows. Default none.
   */
  readonly partitionBy?: readonly string[];
  /**
   * One of `PARQUET_WRITERS` (default `hyparquet`, the bake-off's winner); any other name is refused
   * with a ConfigError.
   */
  readonly writer?: string;
  /** Default `snappy`; `zstd` with `hyparquet`. */
  readonly compression?: ParquetCompression;
  /** Columns with min/max statistics: `numeric` (default) or `all` (string columns too). */
  readonly statistics?: ParquetStatistics;
  /** Typed columns from the topology; without them every column is inferred from the records. */
  readonly columns?: readonly ColumnSpec[];
  /** Fields outside `columns`: `widen` adds inferred columns (default), `drop` ignores them. */
  readonly extraFields?: 'widen' | 'drop';
  /**
   * Columns the sink's schema holds at most, declared ones included (default 256): a record whose
   * new fields would add more goes to dead letters (`SchemaLimitError`, counted in
   * `state_limit_total`), whole; records that fit keep coming.
   */
  readonly maxColumns?: number;
  /** IANA zone of the `year=/month=/day=/hour=` partition (default `UTC`). */
  readonly timeZone?: string;
  /** Rotation: a file is closed at this many rows (default 100,000, `DEFAULT_ROTATION`)… */
  readonly maxFileRows?: number;
  /** …or this many estimated (uncompressed) row bytes (default 64 MiB)… */
  readonly maxFileBytes?: number;
  /** …or this long after it opened, in processing time (default 5 minutes), and always at the hour. */
  readonly maxFileAgeMs?: number;
  /** Rows per row group (default 100,000). */
  readonly rowGroupRows?: number;
  /** Files of at least this size are uploaded in parts (default 16 MiB, at least 5 MiB). */
  readonly multipartThresholdBytes?: number;
  /** Part size of multipart uploads (default 8 MiB, at least 5 MiB). */
  readonly partSizeBytes?: number;
  /** Backpressure: bound on estimated bytes buffered or uploading (default 512 MiB). */
  readonly maxBufferedBytes?: number;
  /** Over the bound, `write` waits for uploads (`wait`, default) or rejects with SinkOverloadError. */
  readonly onOverload?: 'wait' | 'reject';
  /** The `retryAfterMs` of that SinkOverloadError (default 200). */
  readonly overloadRetryAfterMs?: number;
  /**
   * Backoff of the retries of uploads and listings (default base 100 ms, cap 5 s, full jitter).
   * Transient failures are retried until S3 answers again, for up to `unavailableTimeoutMs`.
   */
  readonly retry?: Partial<RetryPolicy>;
  /**
   * How long an upload or listing is retried while S3 does not answer before the sink fails (and
   * the pipeline with it). Default: the runtime's S3 outage timeout (`TRIBUTARY_SINK_UNAVAILABLE_TIMEOUT_MS`), else 300000.
   */
  readonly unavailableTimeoutMs?: number;
  /** Encode in a worker thread (default true): encoding costs far more than uploading. */
  readonly encodeInWorker?: boolean;
  /** Encoder worker threads when `encodeInWorker` (default 1); each file is encoded by one of them. */
  readonly encoderWorkers?: number;
  /**
   * Replay recovery: the (topic, partition, hour) entries whose listed object ranges stay cached
   * (default 10,000); the least recently used is dropped and listed again when needed.
   */
  readonly maxRecoveryEntries?: number;
  /** Processing time and timers (file age, backoff); default `asyncScheduler`. */
  readonly scheduler?: SchedulerLike;
  /** Jitter source in [0, 1) (default Math.random). */
  readonly random?: () => number;
}

export interface ResolvedOptions {
  readonly id: string;
  readonly client: S3Client;
  readonly bucket: string;
  readonly prefix: string;
  readonly partitionBy: readonly string[];
  readonly writer: ParquetWriterName;
  readonly compression: ParquetCompression;
  readonly statistics: ParquetStatistics;
  readonly columns: readonly Column[];
  readonly extraFields: 'widen' | 'drop';
  readonly maxColumns: number;
  readonly timeZone: string;
  readonly maxFileRows: number;
  readonly maxFileBytes: number;
  readonly maxFileAgeMs: number;
  readonly rowGroupRows: number;
  readonly multipartThresholdBytes: number;
  readonly partSizeBytes: number;
  readonly maxBufferedBytes: number;
  readonly onOverload: 'wait' | 'reject';
  readonly overloadRetryAfterMs: number;
  readonly retry: RetryPolicy;
  readonly unavailableTimeoutMs: number | undefined;
  readonly encodeInWorker: boolean;
  readonly encoderWorkers: number;
  readonly maxRecoveryEntries: number;
  readonly scheduler: SchedulerLike;
  readonly random: () => number;
}

/** Applies defaults and checks every option once; a ConfigError lists each problem with the step id. */
export function resolveOptions(options: S3ParquetSinkOptions): Readonly<ResolvedOptions> {
  const id = options.id;
  const problems: string[] = [];
  const positive = (name: string, value: number, min = 1) => {
    if (!Number.isFinite(value) || value < min) problems.push(`${id}: ${name} must be a number >= ${min}, got ${value}`);
    return value;
  };
  if (typeof id !== 'string' || id === '') throw new ConfigError('s3-parquet sink: id must be a non-empty string');
  if (typeof options.bucket !== 'string' || options.bucket === '') problems.push(`${id}: bucket must be a non-empty string`);
  if (options.client === undefined) problems.push(`${id}: client is required (createS3Client from src/config.ts)`);
  const writer = options.writer ?? DEFAULT_PARQUET_WRITER;
  const compression = options.compression ?? 'snappy';
  checkWriter(writer, compression, id);
  if (options.statistics !== undefined && !PARQUET_STATISTICS.includes(options.statistics)) problems.push(`${id}: statistics must be one of ${PARQUET_STATISTICS.join(', ')}, got ${String(options.statistics)}`);
  const retry: RetryPolicy = { ...DEFAULT_RETRY_POLICY, ...options.retry };
  problems.push(...retryPolicyProblems(retry).map((p) => `${id}: ${p}`));
  if (options.unavailableTimeoutMs !== undefined) positive('unavailableTimeoutMs', options.unavailableTimeoutMs, 0);
  const resolved: ResolvedOptions = {
    id,
    client: options.client,
    bucket: options.bucket,
    prefix: options.prefix ?? '',
    partitionBy: [...(options.partitionBy ?? [])],
    writer,
    compression,
    statistics: options.statistics ?? 'numeric',
    columns: validateColumns(options.columns ?? [], id),
    extraFields: options.extraFields ?? 'widen',
    maxColumns: positive('maxColumns', options.maxColumns ?? DEFAULT_MAX_COLUMNS),
    timeZone: options.timeZone ?? 'UTC',
    maxFileRows: positive('maxFileRows', options.maxFileRows ?? DEFAULT_ROTATION.rows),
    maxFileBytes: positive('maxFileBytes', options.maxFileBytes ?? DEFAULT_ROTATION.bytes),
    maxFileAgeMs: positive('maxFileAgeMs', options.maxFileAgeMs ?? DEFAULT_ROTATION.intervalMs),
    rowGroupRows: positive('rowGroupRows', options.rowGroupRows ?? 100_000),
    multipartThresholdBytes: positive('multipartThresholdBytes', options.multipartThresholdBytes ?? 16 * MiB, MIN_PART_BYTES),
    partSizeBytes: positive('partSizeBytes', options.partSizeBytes ?? 8 * MiB, MIN_PART_BYTES),
    maxBufferedBytes: positive('maxBufferedBytes', options.maxBufferedBytes ?? 512 * MiB),
    onOverload: options.onOverload ?? 'wait',
    overloadRetryAfterMs: positive('overloadRetryAfterMs', options.overloadRetryAfterMs ?? 200, 0),
    retry,
    unavailableTimeoutMs: options.unavailableTimeoutMs,
    encodeInWorker: options.encodeInWorker ?? true,
    encoderWorkers: positive('encoderWorkers', options.encoderWorkers ?? 1),
    maxRecoveryEntries: positive('maxRecoveryEntries', options.maxRecoveryEntries ?? 10_000),
    scheduler: options.scheduler ?? asyncScheduler,
    random: options.random ?? Math.random,
  };
  if (!Number.isInteger(resolved.maxColumns)) problems.push(`${id}: maxColumns must be an integer, got ${resolved.maxColumns}`);
  else if (resolved.columns.length > resolved.maxColumns) problems.push(`${id}: ${resolved.columns.length} declared columns exceed maxColumns ${resolved.maxColumns}`);
  if (resolved.extraFields !== 'widen' && resolved.extraFields !== 'drop') problems.push(`${id}: extraFields must be 'widen' or 'drop'`);
  if (resolved.onOverload !== 'wait' && resolved.onOverload !== 'reject') problems.push(`${id}: onOverload must be 'wait' or 'reject'`);
  for (const field of resolved.partitionBy)
    if (typeof field !== 'string' || !/^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$/.test(field))
      problems.push(`${id}: partitionBy: ${JSON.stringify(field)} is not a field path like platform or event_data.game_id`);
  if (new Set(resolved.partitionBy.map((f) => f.replaceAll('.', '_'))).size !== resolved.partitionBy.length) problems.push(`${id}: partitionBy lists a field twice`);
  if (problems.length > 0) throw new ConfigError(problems, { stepId: id });
  return Object.freeze(resolved);
}
