import { createRequire } from 'node:module';
import { parquetjsFactory, type ParquetjsLib } from './parquetjs-shared.ts';
import { WRITER_COMPRESSIONS } from './writer.ts';

const lib = createRequire(import.meta.url)('parquetjs-lite') as ParquetjsLib;

/**
 * parquetjs-lite 0.8: row-oriented, one awaited `appendRow` per row; snappy (JavaScript) and gzip,
 * no zstd; timestamps carry only the legacy TIMESTAMP_MILLIS converted type (no UTC flag).
 */
export const parquetjsLiteWriter = parquetjsFactory('parquetjs-lite', lib, WRITER_COMPRESSIONS['parquetjs-lite']);
