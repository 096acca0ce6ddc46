/**
 * The poison fuzz (issue #13): 10,000 hostile records (nesting 5,000-10,000 levels deep, values
 * over maxBytes, huge strings, invalid UTF-8, `__proto__` and `constructor.prototype` keys, event
 * times out of bounds, numbers as strings, NaN and Infinity spelled out, malformed JSON, a new field
 * name per record) mixed into normal traffic, through the default topology in this process, against
 * the real broker, DynamoDB Local and the S3 server. The pipeline never stops, every hostile record
 * is in the dead-letter topic with its headers, every valid one reaches its sinks, and the committed
 * offsets reach the end of every topic.
 */
import { DeleteTableCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DeleteBucketCommand, DeleteObjectsCommand, type S3Client } from '@aws-sdk/client-s3';
import { describe, expect, it, onTestFinished } from 'vitest';
import { connectionsFromEnv } from '../../src/config.ts';
import { scanTable } from '../../src/sinks/dynamodb-table.ts';
import { DEAD_LETTER_HEADERS } from '../../src/runtime/dead-letters.ts';
import { loadTopologyFile } from '../../src/topology/load.ts';
import { provisionTopology } from '../../src/topology/provision.ts';
import { startTopology } from '../../src/topology/run.ts';
import { query } from '../sinks/parquet/duckdb.ts';
import { download, listKeys } from '../sinks/s3-parquet-s3.ts';
import { committedOffsets, endOffsets, eventually, readTopic, testProducer, type ReadRecord } from '../runtime/support.ts';
import { HOSTILE_COUNTS, poisonInput, TICK_GAME, type PoisonRecord, type SourceTopic } from '../support/poison-input.ts';
import { brokers, dynamoClient, kafkaAdmin, s3Client, uniqueName } from '../support/stack.ts';

const SOURCES: readonly SourceTopic[] = ['game-events', 'user-activity', 'transaction-events'];
const VALID = 5000;
const WARMUP = 1000;

describe('the default topology under a poison fuzz', () => {
  it('dead-letters every hostile record with its headers, delivers every valid one and commits to the end, never stopping', async () => {
    const tag = uniqueName('poison');
    const env = {
      ...process.env,
      TOPIC_PREFIX: `${tag}-`,
      TABLE_PREFIX: `${tag.replace('-', '_')}_`,
      EVENTS_BUCKET: tag,
      CONSUMER_GROUP: tag,
      WINDOW_IDLE_TIMEOUT: '2s',
      PARQUET_ROTATION_INTERVAL: '5s',
      TRIBUTARY_COMMIT_INTERVAL_MS: '1000',
    };
    const topic = (name: string) => `${tag}-${name}`;
    const table = (name: string) => `${env.TABLE_PREFIX}${name}`;
    const topology = await loadTopologyFile('topologies/game-events.yaml', { env });
    const provisioned = await provisionTopology(topology, connectionsFromEnv(env));
    const dynamo = dynamoClient();
    const s3 = s3Client();
    onTestFinished(() => cleanUp(tag, provisioned.tables, dynamo, s3));

    const input = poisonInput({ seed: 13, validCount: VALID, warmupCount: WARMUP, nowMs: Date.now(), partitions: 3 });
    const producer = testProducer(brokers, 'lz4');
    const send = async (records: readonly PoisonRecord[]) => {
      for (let i = 0; i < records.length; i += 500) {
        await producer.send({
          messages: records.slice(i, i + 500).map((r) => ({
            topic: topic(r.topic),
            key: Buffer.from(r.key),
            ...(r.value === null ? {} : { value: r.value }),
            ...(r.partition === undefined ? {} : { partition: r.partition }),
          })),
        });
      }
    };
    let stopped: string | undefined;
    /** Resolves once the group's committed offsets reach the end of every source topic, while the pipeline runs. */
    const committedToEnd = async (ends: Map<SourceTopic, Map<number, number>>, timeoutMs: number) =>
      eventually(async () => {
        expect(stopped, 'the pipeline stopped').toBeUndefined();
        for (const s of SOURCES) {
          const committed = await committedOffsets(brokers, tag, topic(s));
          for (const [partition, end] of ends.get(s) ?? []) if ((committed.get(partition) ?? -1) < end) return false;
        }
        return true;
      }, timeoutMs, 500);
    const endsNow = async () => new Map(await Promise.all(SOURCES.map(async (s) => [s, await endOffsets(brokers, topic(s))] as const)));

    let peakRss = 0;
    const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 250);
    let produceMs = 0;
    let committedMs = 0;
    let ends = new Map<SourceTopic, Map<number, number>>();
    // A running pipeline first: normal traffic, every one of its fields seen.
    await send(input.warmup);
    const started = startTopology(topology, env);
    started.done.then(
      () => (stopped ??= 'ended'),
      (error: unknown) => (stopped ??= `failed: ${String(error)}`),
    );
    const runStarted = performance.now();
    try {
      await committedToEnd(await endsNow(), 60_000);
      const warmupMs = performance.now() - runStarted;
      // Then the hostile traffic, mixed into more normal traffic.
      const produceStarted = performance.now();
      await send([...input.records, ...input.ticks]);
      produceMs = performance.now() - produceStarted;
      ends = await endsNow();
      const produced = [...ends.values()].reduce((sum, m) => sum + [...m.values()].reduce((a, b) => a + b, 0), 0);
      expect(produced).toBe(input.warmup.length + input.records.length + input.ticks.length);
      await committedToEnd(ends, 100_000);
      committedMs = performance.now() - produceStarted;
      console.log(`poison fuzz: warm-up of ${input.warmup.length} normal records committed ${(warmupMs / 1000).toFixed(1)} s after start`);
      // Windows close once every partition is idle; their results land in game_metrics.
      const windowed = input.valid.filter((e) => e.event_data.game_id !== undefined && e.event_data.game_id !== TICK_GAME).length;
      let counted = 0;
      await eventually(async () => (counted = await windowedEvents(dynamo, table('game_metrics'), topic('late-events'))) === windowed, 60_000, 1000).catch((error: unknown) => {
        throw new Error(`windows counted ${counted} events (with the late ones), expected ${windowed}`, { cause: error });
      });
      expect(stopped, 'the pipeline stopped').toBeUndefined();
    } finally {
      clearInterval(sampler);
      await producer.close().catch(() => {});
      await started.runtime.shutdown('test done');
      await started.done.catch(() => {});
      started.close();
    }
    const runMs = performance.now() - runStarted;
    expect(stopped).toBe('ended');
    const metrics = started.runtime.metrics;

    // Every hostile record is a dead letter from its step, with its code, where it came from and why.
    const deadCount = [...(await endOffsets(brokers, topic('tributary-dead-letters'))).values()].reduce((a, b) => a + b, 0);
    const dead = await readTopic(brokers, topic('tributary-dead-letters'), deadCount, 60_000);
    expect(dead).toHaveLength(deadCount);
    const sourceRecords = new Map<string, string>();
    for (const s of SOURCES) {
      const count = [...(ends.get(s)?.values() ?? [])].reduce((a, b) => a + b, 0);
      for (const r of await readTopic(brokers, topic(s), count, 60_000)) sourceRecords.set(`${topic(s)}:${r.partition}:${r.offset}`, String(r.key));
    }
    const byKey = new Map(input.records.filter((r) => r.key.startsWith('h-')).map((r) => [r.key, r] as const));
    const seen = new Map<string, ReadRecord>();
    const schemaLimited = new Set<string>();
    const codes = new Map<string, number>();
    for (const letter of dead) {
      const h = letter.headers;
      const key = String(letter.key);
      codes.set(`${h[DEAD_LETTER_HEADERS.step]}:${h[DEAD_LETTER_HEADERS.code]}`, (codes.get(`${h[DEAD_LETTER_HEADERS.step]}:${h[DEAD_LETTER_HEADERS.code]}`) ?? 0) + 1);
      // The headers name the exact source record.
      expect(sourceRecords.get(`${h[DEAD_LETTER_HEADERS.topic]}:${h[DEAD_LETTER_HEADERS.partition]}:${h[DEAD_LETTER_HEADERS.offset]}`), key).toBe(key);
      expect(JSON.parse(h[DEAD_LETTER_HEADERS.error] ?? '{}'), key).toMatchObject({ code: h[DEAD_LETTER_HEADERS.code], message: h[DEAD_LETTER_HEADERS.message] });
      const expected = input.hostile.get(key);
      if (expected === undefined) {
        // Only a record bringing a new field name past maxColumns may be refused without being hostile.
        const value = JSON.parse(String(letter.value)) as { event_id: string };
        expect(input.newFields.has(value.event_id), `unexpected dead letter ${key} ${h[DEAD_LETTER_HEADERS.code]}`).toBe(true);
        expect(h).toMatchObject({ [DEAD_LETTER_HEADERS.step]: 'cold-storage', [DEAD_LETTER_HEADERS.code]: 'TRIB_SCHEMA_LIMIT' });
        schemaLimited.add(value.event_id);
        continue;
      }
      expect(seen.has(key), `${key} dead-lettered twice`).toBe(false);
      seen.set(key, letter);
      expect({ step: h[DEAD_LETTER_HEADERS.step], code: h[DEAD_LETTER_HEADERS.code] }, `${expected.kind} ${key}`).toEqual({ step: expected.step, code: expected.code });
      // The dead letter carries the record: its bytes from parse, its decoded value (as JSON) from later steps.
      const original = byKey.get(key)?.value ?? null;
      if (expected.step === 'parse') expect(bytesOf(letter.value).equals(bytesOf(original)), key).toBe(true);
      else expect(JSON.parse(String(letter.value)), key).toEqual(JSON.parse(JSON.stringify(JSON.parse(String(original)))));
    }
    expect(seen.size).toBe(input.hostile.size);

    // Every valid record reached its sinks: Parquet once each (bar the ones past maxColumns), DynamoDB items, windows.
    const objects = await listKeys(s3, tag);
    const dir = await download(s3, tag);
    const glob = `${dir}/**/*.parquet`;
    const rows = await query(`SELECT event_id FROM read_parquet('${glob}', union_by_name = true)`);
    const inParquet = rows.map((r) => String(r.event_id));
    expect(new Set(inParquet).size).toBe(inParquet.length);
    const expectedInParquet = input.valid.map((e) => e.event_id).filter((id) => !schemaLimited.has(id));
    expect(new Set(inParquet)).toEqual(new Set(expectedInParquet));
    // The columns of every file (not DuckDB's year=/month=/… hive columns).
    const columns = (await query(`DESCRIBE SELECT * FROM read_parquet('${glob}', union_by_name = true, hive_partitioning = false)`)).map((r) => String(r.column_name));
    expect(columns.length).toBeLessThanOrEqual(256);
    expect(schemaLimited.size).toBeGreaterThan(0);
    expect(schemaLimited.size + columns.filter((c) => c.startsWith('event_data_custom_')).length).toBe(HOSTILE_COUNTS.newField);

    const logins = input.valid.filter((e) => e.event_type === 'user_login');
    const sessions = await scanTable(dynamo, table('user_sessions'));
    expect(new Set(sessions.map((s) => s.event_id))).toEqual(new Set(logins.map((e) => e.event_id)));
    const closed = input.valid.filter((e) => e.event_type === 'user_logout').map((e) => `${e.user_id}|${String(e.event_data.session_id)}`);
    expect(closed.length).toBeGreaterThan(0);
    expect(new Set(sessions.filter((s) => s.session_status === 'closed').map((s) => `${String(s.user_id)}|${String(s.session_id)}`))).toEqual(new Set(closed));
    const purchases = input.valid.filter((e) => e.event_type === 'purchase');
    const transactions = await scanTable(dynamo, table('transactions'));
    expect(transactions.map((t) => t.transaction_id).sort()).toEqual(purchases.map((e) => e.event_data.transaction_id).sort());
    const best = new Map<string, number>();
    for (const e of input.valid.filter((v) => v.event_type === 'level_complete')) {
      const k = `${String(e.event_data.game_id)}/${e.user_id}`;
      best.set(k, Math.max(best.get(k) ?? -1, e.event_data.score as number));
    }
    const leaderboard = await scanTable(dynamo, table('leaderboard'));
    expect(new Map(leaderboard.map((l) => [`${String(l.game_id)}/${String(l.user_id)}`, l.best_score]))).toEqual(best);
    expect(await scanTable(dynamo, table('fraud_alerts'))).toEqual([]);

    const offsetsAtEnd = await Promise.all(SOURCES.map(async (s) => [s, await committedOffsets(brokers, tag, topic(s))] as const));
    for (const [s, committed] of offsetsAtEnd) expect(committed, s).toEqual(ends.get(s));

    const perKind = Object.fromEntries(Object.entries(HOSTILE_COUNTS).map(([kind, n]) => [kind, n]));
    console.log(
      [
        `poison fuzz: ${input.records.length} records produced in ${(produceMs / 1000).toFixed(1)} s after the warm-up (${VALID - WARMUP} normal, ${input.newFields.size} with a new field name, ${input.hostile.size} hostile: ${JSON.stringify(perKind)})`,
        `  all source offsets committed ${(committedMs / 1000).toFixed(1)} s after producing began (${Math.round(input.records.length / (committedMs / 1000))} records/s); run ${(runMs / 1000).toFixed(1)} s in all; peak RSS ${Math.round(peakRss / 2 ** 20)} MiB`,
        `  dead letters: ${dead.length} (${[...codes].map(([c, k]) => `${c} ${k}`).join(', ')}); dead_letters_total ${metrics.total('dead_letters_total')}`,
        `  new field names: ${HOSTILE_COUNTS.newField - schemaLimited.size} widened the Parquet schema, ${schemaLimited.size} refused past maxColumns (state_limit_total ${metrics.total('state_limit_total')}); ${objects.length} Parquet objects, ${columns.length} columns`,
        `  sinks: ${inParquet.length} Parquet rows, ${sessions.length} sessions, ${transactions.length} transactions, ${leaderboard.length} leaderboard items`,
      ].join('\n'),
    );
  });
});

/** A tombstone and an empty value alike, as bytes. */
function bytesOf(value: Buffer | null): Buffer {
  return value ?? Buffer.alloc(0);
}

/** Events counted by the closed windows in game_metrics (the ticks' windows stay open), plus the events routed late. */
async function windowedEvents(dynamo: DynamoDBClient, metricsTable: string, lateTopic: string): Promise<number> {
  const items = (await scanTable(dynamo, metricsTable)).filter((item) => item.game_id !== TICK_GAME);
  const late = [...(await endOffsets(brokers, lateTopic)).values()].reduce((a, b) => a + b, 0);
  return items.reduce((sum, item) => sum + Number(item.events), 0) + late;
}

/** Deletes what the test made: its topics (internal ones included), tables and bucket. */
async function cleanUp(tag: string, tables: readonly string[], dynamo: DynamoDBClient, s3: S3Client): Promise<void> {
  const admin = kafkaAdmin();
  try {
    const topics = (await admin.listTopics()).filter((t) => t.startsWith(tag));
    if (topics.length > 0) await admin.deleteTopics({ topics });
  } finally {
    await admin.close();
  }
  for (const name of tables) await dynamo.send(new DeleteTableCommand({ TableName: name })).catch(() => {});
  const keys = await listKeys(s3, tag).catch(() => []);
  for (let i = 0; i < keys.length; i += 1000) {
    await s3.send(new DeleteObjectsCommand({ Bucket: tag, Delete: { Objects: keys.slice(i, i + 1000).map((Key) => ({ Key })) } })).catch(() => {});
  }
  await s3.send(new DeleteBucketCommand({ Bucket: tag })).catch(() => {});
}
