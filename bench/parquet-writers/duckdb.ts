import { readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BOOLEAN, DOUBLE, DuckDBDataChunk, DuckDBInstance, VARCHAR, type DuckDBAppender, type DuckDBConnection, type DuckDBType, type DuckDBVector } from '@duckdb/node-api';
import type { ColumnBatch, ColumnVector } from '../../src/sinks/parquet/columns.ts';
import type { Column } from '../../src/sinks/parquet/schema.ts';
import { DEFAULT_ROW_GROUP_ROWS, type ParquetFileOptions, type ParquetFileWriter, type ParquetWriterFactory } from '../../src/sinks/parquet/writer.ts';

/** DuckDB's vector size: a data chunk holds at most this many rows. */
const CHUNK_ROWS = 2048;

/** Staging types: numbers stay doubles in the table (no bigint per cell) and are cast in the COPY. */
const STAGING: Record<Column['type'], DuckDBType> = { string: VARCHAR, int64: DOUBLE, double: DOUBLE, boolean: BOOLEAN, timestamp: DOUBLE };

const quote = (name: string) => `"${name.replaceAll('"', '""')}"`;

function selectOf(column: Column, i: number): string {
  const c = `c${i}`;
  switch (column.type) {
    case 'int64':
      return `${c}::BIGINT AS ${quote(column.name)}`;
    case 'timestamp':
      // TIMESTAMPTZ: DuckDB writes INT64 TIMESTAMP(MICROS, isAdjustedToUTC) (hyparquet: MILLIS).
      return `epoch_ms(${c}::BIGINT)::TIMESTAMPTZ AS ${quote(column.name)}`;
    default:
      return `${c} AS ${quote(column.name)}`;
  }
}

/**
 * Copies rows `start` to `end` of a column into a chunk's vector. Values first, nulls last: the
 * vector's validity mask is only created at the first null, and each valid item set after that
 * costs BigInt arithmetic.
 */
function fillVector(target: DuckDBVector, vector: ColumnVector, start: number, end: number): void {
  if (vector.type === 'string') {
    const { text, ends } = vector;
    let from = start === 0 ? 0 : (ends[start - 1] as number);
    for (let i = start; i < end; i++) {
      const to = ends[i] as number;
      if (vector.nulls?.[i] !== 1) target.setItem(i - start, text.slice(from, to));
      from = to;
    }
  } else if (vector.type === 'boolean') {
    for (let i = start; i < end; i++) if (vector.nulls?.[i] !== 1) target.setItem(i - start, vector.values[i] === 1);
  } else {
    for (let i = start; i < end; i++) if (vector.nulls?.[i] !== 1) target.setItem(i - start, vector.values[i] as number);
  }
  if (vector.nulls !== null) for (let i = start; i < end; i++) if (vector.nulls[i] === 1) target.setItem(i - start, null);
  target.flush();
}

let nextTable = 0;

class DuckdbFile implements ParquetFileWriter {
  readonly #options: ParquetFileOptions;
  readonly #table = `f${process.pid}_${nextTable++}`;
  readonly #types: DuckDBType[];
  readonly #ready: Promise<{ connection: DuckDBConnection; appender: DuckDBAppender }>;

  constructor(connection: Promise<DuckDBConnection>, options: ParquetFileOptions) {
    this.#options = options;
    this.#types = options.columns.map((c) => STAGING[c.type]);
    const ddl = options.columns.map((c, i) => `c${i} ${STAGING[c.type].toString()}`).join(', ');
    this.#ready = connection.then(async (conn) => {
      await conn.run(`CREATE TABLE ${this.#table} (${ddl})`);
      return { connection: conn, appender: await conn.createAppender(this.#table) };
    });
    this.#ready.catch(() => {});
  }

  async write(batch: ColumnBatch): Promise<void> {
    const { appender } = await this.#ready;
    for (let start = 0; start < batch.length; start += CHUNK_ROWS) {
      const end = Math.min(batch.length, start + CHUNK_ROWS);
      const chunk = DuckDBDataChunk.create(this.#types, end - start);
      batch.vectors.forEach((vector, c) => fillVector(chunk.getColumnVector(c), vector, start, end));
      appender.appendDataChunk(chunk);
    }
  }

  async finish(): Promise<Uint8Array> {
    const { connection, appender } = await this.#ready;
    appender.closeSync();
    const path = join(tmpdir(), `${this.#table}.parquet`);
    const codec = (this.#options.compression ?? 'snappy').toUpperCase();
    const select = this.#options.columns.map(selectOf).join(', ');
    try {
      await connection.run(
        `COPY (SELECT ${select} FROM ${this.#table}) TO '${path}' (FORMAT parquet, COMPRESSION ${codec}, ROW_GROUP_SIZE ${this.#options.rowGroupRows ?? DEFAULT_ROW_GROUP_ROWS})`,
      );
      return new Uint8Array(await readFile(path));
    } finally {
      await connection.run(`DROP TABLE ${this.#table}`);
      await rm(path, { force: true });
    }
  }
}

/**
 * A bake-off contender: DuckDB (`@duckdb/node-api`, a native addon). Batches go into a temporary table
 * through the appender (data chunks of 2,048 rows), then `COPY … TO … (FORMAT parquet)` writes the file
 * to a temporary path, read back as the file's bytes. `threads` bounds DuckDB's own worker threads.
 */
export async function loadDuckdbWriter(threads = 1): Promise<ParquetWriterFactory> {
  const connection = DuckDBInstance.create(':memory:', { threads: String(threads) }).then(async (db) => {
    const conn = await db.connect();
    await conn.run("SET TimeZone = 'UTC'");
    return conn;
  });
  await connection;
  return {
    name: 'duckdb',
    compressions: ['snappy', 'zstd', 'gzip', 'uncompressed'],
    timestampLogicalType: true,
    open: (options) => new DuckdbFile(connection, options),
  };
}
