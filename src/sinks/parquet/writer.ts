import { ConfigError } from '../../core/errors.ts';
import type { Column, ParquetRow, ParquetValue } from './schema.ts';

/** The Parquet writers Tributary can use; `hyparquet` won the bake-off (see bench/RESULTS.md). */
export type ParquetWriterName = 'hyparquet' | 'parquetjs-lite' | 'dsnp' | 'parquet-wasm';

/** Every writer name, for validation and the bake-off. */
export const PARQUET_WRITERS: readonly ParquetWriterName[] = ['hyparquet', 'parquetjs-lite', 'dsnp', 'parquet-wasm'];

/**
 * The default writer: the bake-off's fastest (1M game events: 7.4× parquetjs-lite, 4.1× @dsnp/parquetjs,
 * 2.8× parquet-wasm) with the smallest files; bench/RESULTS.md, bench/parquet-writers.bench.ts.
 */
export const DEFAULT_PARQUET_WRITER: ParquetWriterName = 'hyparquet';

/** Codecs by name; which writer supports which is in `WRITER_COMPRESSIONS`. */
export type ParquetCompression = 'snappy' | 'zstd' | 'gzip' | 'uncompressed';

/** The codecs each writer can produce (zstd: hyparquet through node:zlib, parquet-wasm natively). */
export const WRITER_COMPRESSIONS: Readonly<Record<ParquetWriterName, readonly ParquetCompression[]>> = {
  hyparquet: ['snappy', 'zstd', 'gzip', 'uncompressed'],
  'parquetjs-lite': ['snappy', 'gzip', 'uncompressed'],
  dsnp: ['snappy', 'gzip', 'uncompressed'],
  'parquet-wasm': ['snappy', 'zstd', 'gzip', 'uncompressed'],
};

/** What a file is made of. */
export interface ParquetFileOptions {
  readonly columns: readonly Column[];
  /** Default `snappy`. */
  readonly compression?: ParquetCompression;
  /**
   * Rows per row group (default 100,000). hyparquet and parquetjs encode a row group as soon as it is
   * full; parquet-wasm keeps compact Arrow columns and encodes the whole file in `finish`.
   */
  readonly rowGroupRows?: number;
}

/**
 * One Parquet file being built in memory: rows go in, the file's bytes come out.
 *
 * @example
 * const file = factory.open({ columns, compression: 'snappy' });
 * await file.write([{ event_id: 'e1', timestamp: 1700000000000 }]);
 * const bytes = await file.finish();
 */
export interface ParquetFileWriter {
  /** Appends rows whose values already have their column's type (see `coerce`). */
  write(rows: readonly ParquetRow[]): void | Promise<void>;
  /** Encodes what is left and returns the whole file. The writer is unusable afterwards. */
  finish(): Promise<Uint8Array>;
}

/** A Parquet writer implementation and what it can do. */
export interface ParquetWriterFactory {
  readonly name: ParquetWriterName;
  /** Codecs the writer can produce. */
  readonly compressions: readonly ParquetCompression[];
  /** `true` if timestamps carry the TIMESTAMP(MILLIS, UTC) logical type, not only TIMESTAMP_MILLIS. */
  readonly timestampLogicalType: boolean;
  open(options: ParquetFileOptions): ParquetFileWriter;
}

/**
 * Whether an object inherits a value under this name (`constructor`, `toString`, `__proto__`, …): a
 * row without such a field must not be read as having the inherited function (a `constructor`
 * column once failed the whole file).
 */
export function inheritedName(name: string): boolean {
  return name in Object.prototype;
}

/** A row's own value for a column, `null` when it has none: never an inherited one. */
export function ownCell(row: ParquetRow, name: string): ParquetValue {
  return Object.hasOwn(row, name) ? (row[name] ?? null) : null;
}

/** Rows per row group unless a file says otherwise. */
export const DEFAULT_ROW_GROUP_ROWS = 100_000;

/**
 * Loads a writer by name. The rivals kept for the bake-off (`dsnp`, `parquet-wasm`) are dev
 * dependencies, so each implementation is imported only when asked for.
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
    case 'dsnp':
      return (await import('./dsnp.ts')).loadDsnpWriter();
    case 'parquet-wasm':
      return (await import('./parquet-wasm.ts')).loadParquetWasmWriter();
    default:
      throw new ConfigError(`unknown Parquet writer '${String(name)}' (one of ${PARQUET_WRITERS.join(', ')})`);
  }
}

/** Throws a ConfigError naming the step if `writer` is unknown or cannot produce `compression`. */
export function checkWriter(writer: ParquetWriterName, compression: ParquetCompression, stepId: string): void {
  const supported = WRITER_COMPRESSIONS[writer];
  if (supported === undefined) {
    throw new ConfigError(`${stepId}: writer must be one of ${PARQUET_WRITERS.join(', ')}, got '${String(writer)}'`, { stepId });
  }
  if (!supported.includes(compression)) {
    throw new ConfigError(`${stepId}: Parquet writer '${writer}' cannot write ${compression} (it supports ${supported.join(', ')})`, {
      stepId,
    });
  }
}
