/** Reads a bake-off file back with DuckDB and checks row count, aggregates, types and codec. */
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import type { Expected } from './parquet-writers-data.ts';

export interface DuckCheck {
  ok: boolean;
  problems: string[];
  codec: string;
  /** DuckDB's types of timestamp / event_data_amount / event_data_score / user_id. */
  types: string;
}

let connection: Promise<DuckDBConnection> | undefined;

async function duck(): Promise<DuckDBConnection> {
  connection ??= DuckDBInstance.create(':memory:').then((db) => db.connect());
  return connection;
}

async function rows(sql: string): Promise<Record<string, unknown>[]> {
  return (await (await duck()).runAndReadAll(sql)).getRowObjectsJS() as Record<string, unknown>[];
}

const TIMESTAMP_TYPES = ['TIMESTAMP', 'TIMESTAMP WITH TIME ZONE'];

export async function duckdbCheck(path: string, expected: Expected, compression: string): Promise<DuckCheck> {
  const problems: string[] = [];
  const file = `'${path.replaceAll("'", "''")}'`;
  try {
    const [agg] = await rows(`SELECT count(*) AS n, count(event_data_amount) AS amounts, sum(event_data_amount) AS amount_sum,
        sum(event_data_score) AS score_sum, count(event_data_level) AS levels, count(*) FILTER (is_first_session) AS firsts,
        min(epoch_ms(timestamp)) AS min_ts, max(epoch_ms(timestamp)) AS max_ts FROM read_parquet(${file})`);
    const got = agg as Record<string, unknown>;
    const check = (name: string, actual: unknown, want: number, tolerance = 0) => {
      if (Math.abs(Number(actual) - want) > tolerance) problems.push(`${name} ${String(actual)} != ${want}`);
    };
    check('rows', got.n, expected.rows);
    check('amount count', got.amounts, expected.amountCount);
    check('amount sum', got.amount_sum, expected.amountSum, 1e-6 * Math.max(1, expected.amountSum));
    check('score sum', got.score_sum, expected.scoreSum);
    check('level count', got.levels, expected.levelCount);
    check('first sessions', got.firsts, expected.firstSessions);
    check('min timestamp', got.min_ts, expected.minTimestamp);
    check('max timestamp', got.max_ts, expected.maxTimestamp);
    const described = new Map(
      (await rows(`DESCRIBE SELECT * FROM read_parquet(${file})`)).map((r) => [r.column_name as string, r.column_type as string]),
    );
    const want: Record<string, string[]> = {
      timestamp: TIMESTAMP_TYPES,
      event_data_amount: ['DOUBLE'],
      event_data_score: ['BIGINT'],
      user_id: ['VARCHAR'],
      is_first_session: ['BOOLEAN'],
    };
    for (const [column, types] of Object.entries(want)) {
      const type = described.get(column) ?? 'missing';
      if (!types.includes(type)) problems.push(`${column} is ${type}`);
    }
    const codecs = (await rows(`SELECT DISTINCT compression FROM parquet_metadata(${file})`)).map((r) => String(r.compression));
    if (codecs.length !== 1 || codecs[0] !== compression.toUpperCase()) problems.push(`codec ${codecs.join(',')}`);
    return {
      ok: problems.length === 0,
      problems,
      codec: codecs.join(','),
      types: ['timestamp', 'event_data_amount', 'event_data_score', 'user_id'].map((c) => described.get(c)).join(' / '),
    };
  } catch (error) {
    return { ok: false, problems: [error instanceof Error ? error.message : String(error)], codec: '?', types: '' };
  }
}
