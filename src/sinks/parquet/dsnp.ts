import { createRequire } from 'node:module';
import { ConfigError } from '../../core/errors.ts';
import type { ParquetWriterFactory } from './writer.ts';
import { parquetjsFactory, type ParquetjsLib } from './parquetjs-shared.ts';

/**
 * @dsnp/parquetjs (a maintained parquetjs fork): row-oriented like parquetjs-lite; snappy
 * (JavaScript), gzip and brotli, no zstd; timestamps carry only the TIMESTAMP_MILLIS converted type.
 *
 * Its 1.9.3 release on npm was published without its `dist/` folder and cannot be loaded; 1.8.9 is
 * the last complete release. `TRIBUTARY_DSNP_PARQUETJS` may name another copy to load (the bench
 * uses it until the dependency is pinned).
 */
export function loadDsnpWriter(env: NodeJS.ProcessEnv = process.env): ParquetWriterFactory {
  const specifier = env.TRIBUTARY_DSNP_PARQUETJS ?? '@dsnp/parquetjs';
  let lib: ParquetjsLib;
  try {
    lib = createRequire(import.meta.url)(specifier) as ParquetjsLib;
  } catch (error) {
    throw new ConfigError(
      `cannot load the 'dsnp' Parquet writer from '${specifier}' (@dsnp/parquetjs 1.9.3 ships without dist/; pin 1.8.9)`,
      { cause: error },
    );
  }
  return parquetjsFactory('dsnp', lib);
}
