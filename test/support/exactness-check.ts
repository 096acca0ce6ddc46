/**
 * Reads back what a run wrote (DynamoDB tables, Parquet on S3, dead letters) and compares it,
 * item by item, with the ground truth: every difference is named with expected and actual.
 */
import { rmSync } from 'node:fs';
import { zstdDecompressSync, gunzipSync } from 'node:zlib';
import { DeleteBucketCommand, DeleteObjectsCommand, GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { DeleteTableCommand, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { Admin, Consumer, MessagesStreamModes } from '@platformatic/kafka';
import { scanTable } from '../../src/sinks/dynamodb-table.ts';
import { query } from '../sinks/parquet/duckdb.ts';
import { download, listKeys } from '../sinks/s3-parquet-s3.ts';
import type { FraudAlert } from '../../src/operators/fraud-alert.ts';
import type { Truth } from './exactness-input.ts';
import { createDynamoClient, createS3Client } from '../../src/config.ts';
import { brokers, connections, dynamoClient, s3Client, uniqueName } from './stack.ts';

type Item = Record<string, unknown>;

export interface Actual {
  readonly tables: Record<'game_metrics' | 'transactions' | 'leaderboard' | 'user_sessions' | 'game_concurrency', Item[]>;
  /** event_id -> rows with it, over every Parquet file of the bucket. */
  readonly parquet: Map<string, number>;
  readonly parquetFiles: number;
  /** Distinct source records (topic/partition/offset headers) among `records` dead letters. */
  readonly deadLetters: { records: number; distinct: Set<string> };
  /** Distinct event ids among `records` on the late-events topic. */
  readonly late: { records: number; distinct: Set<string> };
  /** The raw tier (`raw/`): lines, and distinct topic/partition/offset among them; `expected`: records the input topics hold. */
  readonly raw: { records: number; distinct: Set<string>; expected: number };
  /** Fraud alerts: the `fraud_alerts` table's items, and every record of the fraud-alerts topic (values parsed). */
  readonly alerts: { table: Item[]; topic: Item[] };
  /** The S3 error archive (`errors/`): lines, and distinct dead-letter partition/offset among them; `expected`: records the dead-letter topic holds. */
  readonly errors: { records: number; distinct: Set<string>; expected: number };
}

/** Everything a run wrote, read back after it stopped. */
export async function readBack(names: { tablePrefix: string; bucket: string; deadLetterTopic: string; lateTopic: string; alertTopic: string; inputTopics: readonly string[] }): Promise<Actual> {
  const dynamo = dynamoClient();
  const alertItems = await scanTable(dynamo, `${names.tablePrefix}fraud_alerts`);
  const tableNames = ['game_metrics', 'transactions', 'leaderboard', 'user_sessions', 'game_concurrency'] as const;
  const scanned = await Promise.all(tableNames.map((n) => scanTable(dynamo, `${names.tablePrefix}${n}`)));
  const tables = Object.fromEntries(tableNames.map((n, i) => [n, scanned[i] ?? []])) as Actual['tables'];
  const s3 = s3Client();
  const files = (await listKeys(s3, names.bucket)).filter((k) => k.endsWith('.parquet'));
  const parquet = new Map<string, number>();
  if (files.length > 0) {
    const dir = await download(s3, names.bucket);
    const rows = await query(`SELECT event_id, count(*)::INTEGER AS n FROM read_parquet('${dir}/**/*.parquet', union_by_name = true) GROUP BY event_id`);
    for (const r of rows) parquet.set(String(r.event_id), Number(r.n));
    rmSync(dir, { recursive: true, force: true });
  }
  const deadLetters = await readTopic(names.deadLetterTopic, (_, h) => `${h['tributary.source.topic']}/${h['tributary.source.partition']}/${h['tributary.source.offset']}`);
  const late = await readTopic(names.lateTopic, (value) => String((JSON.parse(value) as { event_id?: unknown }).event_id));
  const alertRecords: Item[] = [];
  await readTopic(names.alertTopic, (value) => (alertRecords.push(JSON.parse(value) as Item), ''));
  const raw = { ...(await readLines(s3, names.bucket, 'raw/')), expected: await endOffsets(names.inputTopics) };
  const errors = { ...(await readLines(s3, names.bucket, 'errors/')), expected: deadLetters.records };
  return { tables, parquet, parquetFiles: files.length, deadLetters, late, raw, errors, alerts: { table: alertItems, topic: alertRecords } };
}

/** The JSON lines of the s3-raw objects under `prefix`: how many, and distinct topic/partition/offset. */
async function readLines(s3: S3Client, bucket: string, prefix: string): Promise<{ records: number; distinct: Set<string> }> {
  const distinct = new Set<string>();
  let records = 0;
  for (const key of (await listKeys(s3, bucket)).filter((k) => k.startsWith(prefix))) {
    const object = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    const bytes = await (object.Body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray();
    const text = (key.endsWith('.zst') ? zstdDecompressSync(bytes) : key.endsWith('.gz') ? gunzipSync(bytes) : Buffer.from(bytes)).toString('utf8');
    for (const line of text.split('\n')) {
      if (line === '') continue;
      const { topic, partition, offset } = JSON.parse(line) as { topic: string; partition: number; offset: number };
      distinct.add(`${topic}/${partition}/${offset}`);
      records++;
    }
  }
  return { records, distinct };
}

/** Records the topics hold: the sum of their end offsets. */
async function endOffsets(topics: readonly string[]): Promise<number> {
  const admin = new Admin({ clientId: uniqueName('exact-read'), bootstrapBrokers: brokers });
  let total = 0;
  try {
    for (const topic of topics) {
      const partitions = (await admin.metadata({ topics: [topic] })).topics.get(topic)?.partitionsCount ?? 0;
      const listed = await admin.listOffsets({ topics: [{ name: topic, partitions: Array.from({ length: partitions }, (_, partitionIndex) => ({ partitionIndex, timestamp: -1n })) }] });
      for (const t of listed) for (const p of t.partitions) total += Number(p.offset);
    }
  } finally {
    await admin.close();
  }
  return total;
}

/** Reads a topic from the start to its end offsets; `keyOf` names what makes two records the same. */
async function readTopic(topic: string, keyOf: (value: string, headers: Record<string, string>) => string): Promise<{ records: number; distinct: Set<string> }> {
  const admin = new Admin({ clientId: uniqueName('exact-read'), bootstrapBrokers: brokers });
  let total = 0;
  try {
    const partitions = (await admin.metadata({ topics: [topic] })).topics.get(topic)?.partitionsCount ?? 0;
    const listed = await admin.listOffsets({ topics: [{ name: topic, partitions: Array.from({ length: partitions }, (_, partitionIndex) => ({ partitionIndex, timestamp: -1n })) }] });
    for (const t of listed) for (const p of t.partitions) total += Number(p.offset);
  } finally {
    await admin.close();
  }
  const distinct = new Set<string>();
  if (total === 0) return { records: 0, distinct };
  const consumer = new Consumer({ groupId: uniqueName('exact-read'), clientId: uniqueName('exact-read'), bootstrapBrokers: brokers });
  const stream = await consumer.consume({ topics: [topic], mode: MessagesStreamModes.EARLIEST, autocommit: false, maxWaitTime: 200 });
  const timer = setTimeout(() => void stream.close(), 30_000);
  let records = 0;
  try {
    for await (const message of stream) {
      const headers = Object.fromEntries([...message.headers].map(([k, v]) => [String(k), String(v)]));
      distinct.add(keyOf(String(message.value), headers));
      if (++records >= total) break;
    }
  } finally {
    clearTimeout(timer);
    await stream.close().catch(() => {});
    await consumer.close().catch(() => {});
  }
  return { records, distinct };
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

/** Distinct ids on a topic against the expected ones (a count, or the ids themselves). */
function diffSet(table: string, expected: number | ReadonlySet<string>, actual: { records: number; distinct: Set<string> }): TableDiff {
  const examples: string[] = [];
  let missing = Math.max(0, (typeof expected === 'number' ? expected : 0) - actual.distinct.size);
  let unexpected = typeof expected === 'number' ? Math.max(0, actual.distinct.size - expected) : 0;
  if (typeof expected !== 'number') {
    const absent = [...expected].filter((id) => !actual.distinct.has(id));
    const extra = [...actual.distinct].filter((id) => !expected.has(id));
    [missing, unexpected] = [absent.length, extra.length];
    examples.push(...absent.slice(0, EXAMPLES).map((id) => `${id}: expected, absent`), ...extra.slice(0, EXAMPLES).map((id) => `${id}: not expected, present`));
  }
  const size = typeof expected === 'number' ? expected : expected.size;
  if (actual.records > actual.distinct.size) examples.push(`${actual.records - actual.distinct.size} records repeat one already there (${actual.records} in all); not counted as a difference`);
  return { table, expected: size, actual: actual.distinct.size, missing, unexpected, different: 0, examples };
}

/** JSON with object keys sorted at every level: DynamoDB gives maps back in any order. */
const canonical = (x: unknown): string => JSON.stringify(x, (_, v: unknown) => (v !== null && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : 1))) : v));

const ALERT_FIELDS = ['pattern_id', 'pattern', 'key', 'severity', 'event_ids', 'first_event_time', 'last_event_time', 'details'] as const;
const alertText = (a: Item): string => canonical(Object.fromEntries(ALERT_FIELDS.map((f) => [f, a[f]])));
/** What one detection is: its step, key and newest event. Two alerts for one detection are a duplicate. */
const detection = (a: Item): string => `${String(a.pattern_id)}|${String(a.key)}|${String((a.event_ids as unknown[] | undefined)?.at(-1))}`;

/**
 * Alerts by `alert_id` against the expected ones, every field compared. `different` counts alerts
 * whose fields differ and alerts of a detection already alerted under another id (duplicated);
 * `unexpected`, other alerts. Records repeating an alert (same id, same fields) are only noted:
 * the Kafka sink is at least once, its consumers deduplicate by key (`alert_id`).
 */
function diffAlerts(table: string, expected: ReadonlyMap<string, FraudAlert>, got: readonly Item[]): TableDiff {
  const actual = new Map<string, Item>();
  const examples: string[] = [];
  let different = 0;
  let repeats = 0;
  for (const a of got) {
    const id = String(a.alert_id);
    const before = actual.get(id);
    if (before === undefined) actual.set(id, a);
    else if (alertText(before) === alertText(a)) repeats++;
    else {
      different++;
      examples.push(`${id}: two different alerts with this id: ${alertText(before)} and ${alertText(a)}`);
    }
  }
  let missing = 0;
  for (const [id, want] of expected) {
    const have = actual.get(id);
    if (have === undefined) missing++;
    else if (alertText(have) !== alertText(want as unknown as Item)) different++;
    else continue;
    if (examples.length < EXAMPLES) examples.push(`${id}: expected ${alertText(want as unknown as Item)}, actual ${have === undefined ? 'missing' : alertText(have)}`);
  }
  const detections = new Set([...expected.values()].map((a) => detection(a as unknown as Item)));
  const extra = [...actual].filter(([id]) => !expected.has(id));
  const duplicated = extra.filter(([, a]) => detections.has(detection(a)));
  different += duplicated.length;
  for (const [id, a] of extra.slice(0, EXAMPLES)) examples.push(`${id}: ${detections.has(detection(a)) ? 'a second alert of an expected detection' : 'not expected'}: ${alertText(a)}`);
  if (repeats > 0) examples.push(`${repeats} records repeat an alert already there (${got.length} in all); not counted as a difference`);
  return { table, expected: expected.size, actual: actual.size, missing, unexpected: extra.length - duplicated.length, different, examples };
}

/** Every comparison of a run with the truth; a clean run has all counts of differences 0. */
export function compare(truth: Truth, actual: Actual): TableDiff[] {
  const t = actual.tables;
  const diffs = [
    diffTable('game_metrics', truth.metrics, t.game_metrics, (i) => `${i.game_id}|${new Date(Number(i.minute)).toISOString()}`),
    diffTable('transactions', truth.transactions, t.transactions, (i) => String(i.transaction_id)),
    diffTable('leaderboard', new Map([...truth.leaderboard].map(([k, v]) => [k, { best_score: v }])), t.leaderboard, (i) => `${i.game_id}|${i.user_id}`),
    diffTable('user_sessions', truth.sessions, t.user_sessions, (i) => `${i.user_id}|${i.session_id}`),
    diffTable('game_concurrency', new Map([...truth.concurrency].map(([k, v]) => [k, { concurrent_users: v }])), t.game_concurrency, (i) => String(i.game_id)),
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
  diffs.push(diffSet('dead letters (distinct source records)', truth.deadLetters, actual.deadLetters));
  diffs.push(diffSet('late events (distinct event ids)', truth.lateIds, actual.late));
  diffs.push(diffAlerts('fraud_alerts (table)', truth.alerts, actual.alerts.table));
  diffs.push(diffAlerts('fraud-alerts (topic, distinct alert ids)', truth.alerts, actual.alerts.topic));
  // S3 objects, unlike topics, must not repeat a record: a repeat counts as a difference.
  for (const [table, got] of [['raw tier (source records)', actual.raw], ['error archive (dead-letter records)', actual.errors]] as const) {
    const diff = diffSet(table, got.expected, got);
    diffs.push({ ...diff, different: got.records - got.distinct.size });
  }
  return diffs;
}

export const isExact = (d: TableDiff): boolean => d.missing === 0 && d.unexpected === 0 && d.different === 0 && d.expected === d.actual;

/** One line per comparison, then the examples of those that differ. */
export function formatDiffs(diffs: readonly TableDiff[]): string {
  const lines = diffs.map(
    (d) => `${isExact(d) ? 'OK  ' : 'DIFF'} ${d.table}: expected ${d.expected}, actual ${d.actual}; missing ${d.missing}, unexpected ${d.unexpected}, ${d.table === 'parquet rows' ? 'duplicated' : d.table.startsWith('fraud') ? 'different or duplicated' : 'different'} ${d.different}`,
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
