/** DuckDB read-back for the Parquet tests: local files, no extension downloads. */
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';

let connection: Promise<DuckDBConnection> | undefined;

function duck(): Promise<DuckDBConnection> {
  connection ??= DuckDBInstance.create(':memory:').then((db) => db.connect());
  return connection;
}

export async function query(sql: string): Promise<Record<string, unknown>[]> {
  return (await (await duck()).runAndReadAll(sql)).getRowObjectsJS() as Record<string, unknown>[];
}

const quote = (path: string) => `'${path.replaceAll("'", "''")}'`;

/** Column name -> DuckDB type of a file or glob. */
export async function columnTypes(path: string, unionByName = false): Promise<Record<string, string>> {
  const rows = await query(`DESCRIBE SELECT * FROM read_parquet(${quote(path)}, union_by_name = ${unionByName})`);
  return Object.fromEntries(rows.map((r) => [r.column_name as string, r.column_type as string]));
}

/** The distinct compression codecs of a file or glob's column chunks. */
export async function codecs(path: string): Promise<string[]> {
  return (await query(`SELECT DISTINCT compression FROM parquet_metadata(${quote(path)}) ORDER BY 1`)).map((r) => String(r.compression));
}

/** Rows of a file or glob, `select` applied, ordered by `orderBy`. */
export async function readRows(path: string, select = '*', orderBy = '1', unionByName = false): Promise<Record<string, unknown>[]> {
  return query(`SELECT ${select} FROM read_parquet(${quote(path)}, union_by_name = ${unionByName}) ORDER BY ${orderBy}`);
}
