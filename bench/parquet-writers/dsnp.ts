import { createRequire } from 'node:module';
import { parquetjsFactory, type ParquetjsLib } from '../../src/sinks/parquet/parquetjs-shared.ts';
import type { ParquetWriterFactory } from '../../src/sinks/parquet/writer.ts';

/**
 * @dsnp/parquetjs (a maintained parquetjs fork), a bake-off contender: row-oriented like
 * parquetjs-lite; snappy (JavaScript), gzip and brotli, no zstd; timestamps carry only the
 * TIMESTAMP_MILLIS converted type. Pinned to 1.8.9: its 1.9.3 release on npm has no `dist/`.
 */
export function loadDsnpWriter(): ParquetWriterFactory {
  const lib = createRequire(import.meta.url)('@dsnp/parquetjs') as ParquetjsLib;
  return parquetjsFactory('dsnp', lib, ['snappy', 'gzip', 'uncompressed']);
}
