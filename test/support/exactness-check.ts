/**
 * Reads back what a run wrote (DynamoDB tables, Parquet on S3, dead letters) and compares it,
 * item by item, with the ground truth: every difference is named with expected and actual.
 */
import { DeleteBucketCommand, DeleteObjectsCommand } from '@aws-sdk/client-s3';
import { DeleteTableCommand, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { Consumer, MessagesStreamModes } from '@platformatic/kafka';
import { scanTable } from '../../src/sinks/dynamodb-table.ts';
import { query } from '../sinks/parquet/duckdb.ts';
import { download, listKeys } from '../sinks/s3-parquet-s3.ts';
import type { Truth } from './exactness-input.ts';
import { createDynamoClient, createS3Client } from '../../src/config.ts';
import { brokers, connections, dynamoClient, s3Client, uniqueName } from './stack.ts';

type Item = Record<string, unknown>;

export interface Actual {
  readonly tables: Record<'game_metrics' | 'transactions' | 'leaderboard' | 'user_sessions', Item[]>;
  /** event_id -> rows with it, over every Parquet file of the bucket. */
  readonly parquet: Map<string, number>;
  readonly parquetFiles: number;
  readonly deadLetters: { records: number; distinct: number };
}

/** Everything the run wrote, read back after it stopped. */
export async function readBack(tablePrefix: string, bucket: string, deadLetterTopic: string, expectedDeadLetters: number): Promise<Actual> {
  const dynamo = dynamoClient();
  const names = ['game_metrics', 'transactions', 'leaderboard', 'user_sessions'] as const;
  const scanned = await Promise.all(names.map((n) => scanTable(dynamo, `${tablePrefix}${n}`)));
  const tables = Object.fromEntries(names.map((n, i) => [n, scanned[i] ?? []])) as Actual['tables'];
  const s3 = s3Client();
  const files = (await listKeys(s3, bucket)).filter((k) => k.endsWith('.parquet'));
  const parquet = new Map<string, number>();
  if (files.length > 0) {
    const dir = await download(s3, bucket);
    const rows = await query(`SELECT event_id, count(*)::INTEGER AS n FROM read_parquet('${dir}/**/*.parquet', union_by_name = true) GROUP BY event_id`);
    for (const r of rows) parquet.set(String(r.event_id), Number(r.n));
  }
  return { tables, parquet, parquetFiles: files.length, deadLetters: await readDeadLetters(deadLetterTopic, expectedDeadLetters) };
}

/** Dead letters on the topic: all records, and distinct source records (topic/partition/offset headers). */
async function readDeadLetters(topic: string, expected: number): Promise<{ records: number; distinct: number }> {
  const consumer = new Consumer({ groupId: uniqueName('dlq-read'), clientId: uniqueName('dlq-read'), bootstrapBrokers: brokers });
  const stream = await consumer.consume({ topics: [topic], mode: MessagesStreamModes.EARLIEST, autocommit: false, maxWaitTime: 200 });
  const sources = new Set<string>();
  let records = 0;
  // Reads until `expected` distinct ones came and nothing more for 2 s, or 20 s passed.
  let quietSince = performance.now();
  const deadline = performance.now() + 20_000;
  const timer = setInterval(() => {
    if (performance.now() > deadline || (sources.size >= expected && performance.now() - quietSince > 2000)) void stream.close();
  }, 250);
  try {
    for await (const message of stream) {
      records++;
      quietSince = performance.now();
      const h = Object.fromEntries([...message.headers].map(([k, v]) => [String(k), String(v)]));
      sources.add(`${h['tributary.source.topic']}/${h['tributary.source.partition']}/${h['tributary.source.offset']}`);
    }
  } finally {
    clearInterval(timer);
    await stream.close().catch(() => {});
    await consumer.close().catch(() => {});
  }
  return { records, distinct: sources.size };
}

export interface TableDiff {
  readonly table: string;
  readonly expected: number;
  readonly actual: number;
  readonly missing: number;
  readonly unexpected: number;
  readonly different: number;
  /** The first few differences, `key: expected ... actual ...`. */
  readonly examples: string[];
}

const EXAMPLES = 5;

/** Compares `actual` items, keyed by `keyOf`, with `expected` on the expected objects' fields. */
function diffTable(table: string, expected: ReadonlyMap<string, Item>, items: readonly Item[], keyOf: (item: Item) => string): TableDiff {
  const actual = new Map(items.map((i) => [keyOf(i), i]));
  const examples: string[] = [];
  let missing = 0;
  let different = 0;
  const direction = { lower: 0, higher: 0 };
  for (const [key, want] of expected) {
    const got = actual.get(key);
    const picked = got === undefined ? undefined : Object.fromEntries(Object.keys(want).map((f) => [f, got[f]]));
    if (picked === undefined) missing++;
    else if (Object.keys(want).some((f) => want[f] !== picked[f])) {
      different++;
      const numbers = Object.keys(want).filter((f) => typeof want[f] === 'number' && typeof picked[f] === 'number' && want[f] !== picked[f]);
      if (numbers.length > 0 && numbers.every((f) => (picked[f] as number) < (want[f] as number))) direction.lower++;
      if (numbers.length > 0 && numbers.every((f) => (picked[f] as number) > (want[f] as number))) direction.higher++;
    } else continue;
    if (examples.length < EXAMPLES) examples.push(`${key}: expected ${JSON.stringify(want)}, actual ${picked === undefined ? 'missing' : JSON.stringify(picked)}`);
  }
  const extra = [...actual.keys()].filter((k) => !expected.has(k));
  for (const key of extra.slice(0, Math.max(0, EXAMPLES - examples.length))) examples.push(`${key}: expected nothing, actual ${JSON.stringify(actual.get(key))}`);
  if (different > 0) examples.unshift(`of ${different} different: ${direction.lower} with every differing number lower than expected, ${direction.higher} higher`);
  return { table, expected: expected.size, actual: actual.size, missing, unexpected: extra.length, different, examples };
}

/** Every comparison of a run with the truth; a clean run has all counts of differences 0. */
export function compare(truth: Truth, actual: Actual): TableDiff[] {
  const t = actual.tables;
  const diffs = [
    diffTable('game_metrics', truth.metrics, t.game_metrics, (i) => `${i.game_id}|${new Date(Number(i.minute)).toISOString()}`),
    diffTable('transactions', truth.transactions, t.transactions, (i) => String(i.transaction_id)),
    diffTable('leaderboard', new Map([...truth.leaderboard].map(([k, v]) => [k, { best_score: v }])), t.leaderboard, (i) => `${i.game_id}|${i.user_id}`),
    diffTable('user_sessions', truth.sessions, t.user_sessions, (i) => `${i.user_id}|${i.session_start_time}`),
  ];
  const examples: string[] = [];
  let missing = 0;
  let duplicated = 0;
  for (const id of truth.eventIds) {
    const n = actual.parquet.get(id) ?? 0;
    if (n === 1) continue;
    if (n === 0) missing++;
    else duplicated++;
    if (examples.length < EXAMPLES) examples.push(`event ${id}: expected 1 row, actual ${n}`);
  }
  const extra = [...actual.parquet.keys()].filter((id) => !truth.eventIds.has(id));
  for (const id of extra.slice(0, Math.max(0, EXAMPLES - examples.length))) examples.push(`event ${id}: expected no row, actual ${actual.parquet.get(id)}`);
  const rows = [...actual.parquet.values()].reduce((a, b) => a + b, 0);
  diffs.push({ table: 'parquet rows', expected: truth.eventIds.size, actual: rows, missing, unexpected: extra.length, different: duplicated, examples });
  const dl = actual.deadLetters;
  diffs.push({
    table: 'dead letters (distinct source records)',
    expected: truth.deadLetters,
    actual: dl.distinct,
    missing: Math.max(0, truth.deadLetters - dl.distinct),
    unexpected: Math.max(0, dl.distinct - truth.deadLetters),
    different: 0,
    examples: dl.records === dl.distinct ? [] : [`${dl.records - dl.distinct} dead letters written more than once (${dl.records} records), not counted as a difference`],
  });
  return diffs;
}

export const isExact = (d: TableDiff): boolean => d.missing === 0 && d.unexpected === 0 && d.different === 0 && d.expected === d.actual;

/** One line per comparison, then the examples of those that differ. */
export function formatDiffs(diffs: readonly TableDiff[]): string {
  const lines = diffs.map(
    (d) => `${isExact(d) ? 'OK  ' : 'DIFF'} ${d.table}: expected ${d.expected}, actual ${d.actual}; missing ${d.missing}, unexpected ${d.unexpected}, ${d.table === 'parquet rows' ? 'duplicated' : 'different'} ${d.different}`,
  );
  for (const d of diffs) if (d.examples.length > 0) lines.push(`  ${d.table}:`, ...d.examples.map((e) => `    ${e}`));
  return lines.join('\n');
}

/** Deletes the run's tables (by prefix) and its bucket with everything in it. */
export async function dropStores(bucket: string, tablePrefix: string): Promise<void> {
  const dynamo = createDynamoClient(connections);
  const s3 = createS3Client(connections);
  try {
    const tables = (await dynamo.send(new ListTablesCommand({ Limit: 100, ExclusiveStartTableName: tablePrefix.slice(0, -1) }))).TableNames ?? [];
    for (const table of tables.filter((t) => t.startsWith(tablePrefix))) await dynamo.send(new DeleteTableCommand({ TableName: table })).catch(() => {});
    const keys = await listKeys(s3, bucket).catch(() => []);
    for (let i = 0; i < keys.length; i += 1000) {
      await s3.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: keys.slice(i, i + 1000).map((Key) => ({ Key })) } }));
    }
    await s3.send(new DeleteBucketCommand({ Bucket: bucket })).catch(() => {});
  } finally {
    dynamo.destroy();
    s3.destroy();
  }
}
