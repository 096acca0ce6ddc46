import { ConfigError } from '../../core/errors.ts';
import type { ColumnBatch } from './columns.ts';
import type { Column } from './schema.ts';

/**
 * The Parquet writers a topology can select: runtime dependencies only (the production image omits
 * dev dependencies). The bake-off's other contenders live in bench/parquet-writers/.
 */
export const PARQUET_WRITERS = ['hyparquet', 'parquetjs-lite'] as const;

/** A selectable Parquet writer. */
export type ParquetWriterName = (typeof PARQUET_WRITERS)[number];

/**
 * The default writer: the bake-off's fastest with the smallest files (bench/RESULTS.md,
 * bench/parquet-writers.bench.ts).
 */
export const DEFAULT_PARQUET_WRITER: ParquetWriterName = 'hyparquet';

/** Codecs by name; which writer supports which is in `WRITER_COMPRESSIONS`. */
export type ParquetCompression = 'snappy' | 'zstd' | 'gzip' | 'uncompressed';

/** The codecs each writer can produce (zstd: hyparquet through node:zlib). */
export const WRITER_COMPRESSIONS: Readonly<Record<ParquetWriterName, readonly ParquetCompression[]>> = {
  hyparquet: ['snappy', 'zstd', 'gzip', 'uncompressed'],
  'parquetjs-lite': ['snappy', 'gzip', 'uncompressed'],
};

/** What a file is made of. */
export interface ParquetFileOptions {
  readonly columns: readonly Column[];
  /** Default `snappy`. */
  readonly compression?: ParquetCompression;
  /**
   * Rows per row group (default 100,000). hyparquet and parquetjs encode a row group as soon as it is
   * full.
   */
  readonly rowGroupRows?: number;
  /**
   * Which columns get min/max statistics (and null counts): `numeric` (default) the number,
   * timestamp and boolean columns, `all` the string columns too. hyparquet only; parquetjs-lite
   * writes its own.
   */
  readonly statistics?: ParquetStatistics;
}

/** See `ParquetFileOptions.statistics`. */
export const PARQUET_STATISTICS = ['numeric', 'all'] as const;
export type ParquetStatistics = (typeof PARQUET_STATISTICS)[number];

/**
 * One Parquet file being built in memory: columns of rows go in, the file's bytes come out.
 *
 * @example
 * const file = factory.open({ columns, compression: 'snappy' });
 * await file.write(toColumns([{ event_id: 'e1', timestamp: 1700000000000 }], columns));
 * const bytes = await file.finish();
 */
export interface ParquetFileWriter {
  /** Appends a batch whose vectors follow the file's columns (see `toColumns`). */
  write(batch: ColumnBatch): void | Promise<void>;
  /** Encodes what is left and returns the whole file. The writer is unusable afterwards. */
  finish(): Promise<Uint8Array>;
}

/** A Parquet writer implementation and what it can do. */
export interface ParquetWriterFactory {
  /** A `ParquetWriterName`, or a bench contender's label. */
  readonly name: string;
  /** Codecs the writer can produce. */
  readonly compressions: readonly ParquetCompression[];
  /** `true` if timestamps carry the TIMESTAMP(MILLIS, UTC) logical type, not only TIMESTAMP_MILLIS. */
  readonly timestampLogicalType: boolean;
  open(options: ParquetFileOptions): ParquetFileWriter;
}

/** Rows per row group unless a file says otherwise. */
export const DEFAULT_ROW_GROUP_ROWS = 100_000;

/**
 * Loads a writer by name; each implementation is imported only when asked for.
 *
 * @example
 * const factory = await loadParquetWriter('hyparquet');
 */
export async function loadParquetWriter(name: ParquetWriterName): Promise<ParquetWriterFactory> {
  switch (name) {
    case 'hyparquet':
      return (await import('./hyparquet.ts')).hyparquetWriter;
    case 'parquetjs-lite':
      return (await import('./parquetjs-lite.ts')).parquetjsLiteWriter;
    default:
      throw new ConfigError(`unknown Parquet writer '${String(name)}' (one of ${PARQUET_WRITERS.join(', ')})`);
  }
}

/** Whether `name` is a selectable writer. */
export function isParquetWriterName(name: unknown): name is ParquetWriterName {
  return (PARQUET_WRITERS as readonly unknown[]).includes(name);
}

/** Throws a ConfigError naming the step if `writer` is not selectable or cannot produce `compression`. */
export function checkWriter(writer: string, compression: ParquetCompression, stepId: string): asserts writer is ParquetWriterName {
  if (!isParquetWriterName(writer)) {
    throw new ConfigError(`${stepId}: writer must be one of ${PARQUET_WRITERS.join(', ')}, got '${String(writer)}'`, { stepId });
  }
  const supported = WRITER_COMPRESSIONS[writer];
  if (!supported.includes(compression)) {
    throw new ConfigError(`${stepId}: Parquet writer '${writer}' cannot write ${compression} (it supports ${supported.join(', ')})`, {
      stepId,
    });
  }
}
