import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../../src/core/errors.ts';
import { toColumns } from '../../../src/sinks/parquet/columns.ts';
import type { Column, ParquetRow } from '../../../src/sinks/parquet/schema.ts';
import { encoderHeaps, WorkerParquetEncoder } from '../../../src/sinks/parquet/worker-writer.ts';
import {
  checkWriter,
  loadParquetWriter,
  PARQUET_WRITERS,
  WRITER_COMPRESSIONS,
  type ParquetCompression,
  type ParquetWriterFactory,
} from '../../../src/sinks/parquet/writer.ts';
import { codecs, columnTypes, query, readRows } from './duckdb.ts';

const dir = mkdtempSync(join(tmpdir(), 'tributary-parquet-'));
const col = (name: string, type: Column['type'], nullable = true): Column => ({ name, type, nullable, declared: true });
const COLUMNS = [
  col('id', 'string', false),
  col('ts', 'timestamp', false),
  col('amount', 'double'),
  col('score', 'int64'),
  col('paying', 'boolean'),
];
const T = Date.UTC(2025, 5, 1, 12, 30, 15, 250);
const ROWS: ParquetRow[] = [
  { id: 'a', ts: T, amount: 4.99, score: 2 ** 40 + 1, paying: true },
  { id: 'b', ts: T + 1, amount: null, score: -7, paying: false },
  { id: 'c', ts: T + 2, score: null },
];

async function roundTrip(factory: ParquetWriterFactory, compression: ParquetCompression, name: string) {
  const file = factory.open({ columns: COLUMNS, compression, rowGroupRows: 2 });
  await file.write(toColumns(ROWS.slice(0, 1), COLUMNS));
  await file.write(toColumns(ROWS.slice(1), COLUMNS));
  const path = join(dir, `${name}-${compression}.parquet`);
  writeFileSync(path, await file.finish());
  return path;
}

const cases = PARQUET_WRITERS.flatMap((name) =>
  (['snappy', 'zstd'] as const).filter((c) => WRITER_COMPRESSIONS[name].includes(c)).map((c) => [name, c] as const),
);

describe.each(cases)('%s writer, %s', (name, compression) => {
  it('writes a file DuckDB reads back with the values, types and codec', async () => {
    const factory = await loadParquetWriter(name);
    const path = await roundTrip(factory, compression, name);
    expect(await codecs(path)).toEqual([compression.toUpperCase()]);
    const types = await columnTypes(path);
    expect(types).toMatchObject({ id: 'VARCHAR', amount: 'DOUBLE', score: 'BIGINT', paying: 'BOOLEAN' });
    // DuckDB reads TIMESTAMP(isAdjustedToUTC) as TIMESTAMPTZ and the legacy converted type as TIMESTAMP.
    expect(types.ts).toBe(factory.timestampLogicalType ? 'TIMESTAMP WITH TIME ZONE' : 'TIMESTAMP');
    const rows = await readRows(path, 'id, epoch_ms(ts) AS ts, amount, score, paying', 'id');
    expect(rows).toEqual([
      { id: 'a', ts: BigInt(T), amount: 4.99, score: BigInt(2 ** 40 + 1), paying: true },
      { id: 'b', ts: BigInt(T + 1), amount: null, score: -7n, paying: false },
      { id: 'c', ts: BigInt(T + 2), amount: null, score: null, paying: null },
    ]);
  });
});

describe('hyparquet writer statistics', () => {
  const statsOf = async (statistics: 'numeric' | 'all' | undefined) => {
    const factory = await loadParquetWriter('hyparquet');
    const file = factory.open({ columns: COLUMNS, compression: 'snappy', ...(statistics === undefined ? {} : { statistics }) });
    await file.write(toColumns(ROWS, COLUMNS));
    const path = join(dir, `stats-${statistics ?? 'default'}.parquet`);
    writeFileSync(path, await file.finish());
    const rows = await query(`SELECT path_in_schema AS col, stats_min_value AS min, stats_max_value AS max FROM parquet_metadata('${path}') ORDER BY 1`);
    return Object.fromEntries(rows.map((r) => [String(r.col), r.min === null ? null : `${String(r.min)}..${String(r.max)}`]));
  };

  it('gives min/max to numbers, timestamps and booleans only by default: string statistics cost the encoder CPU and prune nothing for ids', async () => {
    const stats = await statsOf(undefined);
    expect(stats.id).toBeNull();
    expect(stats.amount).toBe('4.99..4.99');
    expect(stats.score).toBe(`-7..${2 ** 40 + 1}`);
    expect(stats.ts).not.toBeNull();
    expect(await statsOf('numeric')).toEqual(stats);
  });

  it('gives string columns min/max too with statistics: all', async () => {
    expect((await statsOf('all')).id).toBe('a..c');
  });
});

/** Rows as JSON parsing makes them: a `__proto__` field is own, a missing one inherited. */
const INHERITED_NAMES = [col('id', 'string', false), col('constructor', 'int64'), col('__proto__', 'string'), col('toString', 'boolean')];
const INHERITED_ROWS = JSON.parse('[{"id":"a","constructor":3,"__proto__":"p","toString":true},{"id":"b"}]') as ParquetRow[];

// Only hyparquet: parquetjs-lite fails inside the library on a `__proto__` column, whatever the rows.
describe.each(['hyparquet'] as const)('%s writer with columns named like inherited properties', (name) => {
  it('reads a row without them as nulls, not as Object.prototype (regression: a constructor column failed the whole file)', async () => {
    const factory = await loadParquetWriter(name);
    const file = factory.open({ columns: INHERITED_NAMES });
    await file.write(toColumns(INHERITED_ROWS, INHERITED_NAMES));
    const path = join(dir, `${name}-inherited.parquet`);
    writeFileSync(path, await file.finish());
    expect(await readRows(path, 'id, "constructor" AS c, "__proto__" AS p, "toString" AS t', 'id')).toEqual([
      { id: 'a', c: 3n, p: 'p', t: true },
      { id: 'b', c: null, p: null, t: null },
    ]);
  });
});

describe('WorkerParquetEncoder', () => {
  it('encodes in a worker thread the same file as in the main thread', async () => {
    const encoder = new WorkerParquetEncoder('hyparquet');
    try {
      const path = await roundTrip(encoder.factory, 'zstd', 'worker');
      const inline = await roundTrip(await loadParquetWriter('hyparquet'), 'zstd', 'inline');
      expect(await readRows(path)).toEqual(await readRows(inline));
      expect(await codecs(path)).toEqual(['ZSTD']);
    } finally {
      await encoder.terminate();
    }
  });

  it('reports the heaps of the encoder threads running, none once they stop', async () => {
    const before = await encoderHeaps();
    const encoder = new WorkerParquetEncoder('hyparquet', 2);
    await roundTrip(encoder.factory, 'snappy', 'heaps');
    const running = await encoderHeaps();
    expect(running.totalBytes - before.totalBytes).toBeGreaterThan(2 * 2 ** 20);
    expect(running.usedBytes).toBeLessThanOrEqual(running.totalBytes);
    await encoder.terminate();
    expect(await encoderHeaps()).toEqual(before);
  });

  it('spreads files over its workers, each file whole', async () => {
    const encoder = new WorkerParquetEncoder('hyparquet', 2);
    try {
      const paths = await Promise.all([0, 1, 2].map((i) => roundTrip(encoder.factory, 'snappy', `workers-${i}`)));
      const inline = await readRows(await roundTrip(await loadParquetWriter('hyparquet'), 'snappy', 'workers-inline'));
      for (const path of paths) expect(await readRows(path)).toEqual(inline);
    } finally {
      await encoder.terminate();
    }
  });

  it('rejects finish when the worker cannot encode', async () => {
    const encoder = new WorkerParquetEncoder('hyparquet');
    try {
      const columns = [col('n', 'int64', false)];
      const file = encoder.factory.open({ columns });
      file.write(toColumns([{ n: null }], columns));
      await expect(file.finish()).rejects.toThrow(/Parquet encoder worker/);
    } finally {
      await encoder.terminate();
    }
  });
});

describe('checkWriter', () => {
  it('refuses a codec the writer cannot produce, naming the step', () => {
    expect(() => checkWriter('parquetjs-lite', 'zstd', 'to-s3')).toThrow(ConfigError);
    expect(() => checkWriter('parquetjs-lite', 'zstd', 'to-s3')).toThrow(/to-s3: Parquet writer 'parquetjs-lite' cannot write zstd/);
    expect(() => checkWriter('nope', 'snappy', 'to-s3')).toThrow(/writer must be one of hyparquet, parquetjs-lite, got 'nope'/);
    expect(() => checkWriter('hyparquet', 'zstd', 'to-s3')).not.toThrow();
  });

  it('refuses the bench-only writers: they are not runtime dependencies', () => {
    for (const name of ['dsnp', 'parquet-wasm', 'duckdb']) expect(() => checkWriter(name, 'snappy', 'to-s3')).toThrow(ConfigError);
  });
});
