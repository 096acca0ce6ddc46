/** Checks one Tributary run's outputs against the ground truth. */
import { createDynamoClient, createS3Client, localStack } from '../../src/config.ts';
import { FRAUD_KINDS, type FraudKind } from '../generator/fraud.ts';
import type { GroundTruth } from '../generator/ground-truth.ts';
import { countRecords } from '../baselines/common.ts';
import { metricSum, type TributaryRun } from './contenders.ts';
import type { Expected } from './expectations.ts';
import { TICK_GAME } from './input.ts';
import { scanTable } from '../../src/sinks/dynamodb-table.ts';
import { queryParquet, readTopic } from './read-back.ts';
import { HOT_KAFKA_SINK } from './variants.ts';

/** The topology's pattern step for each injected fraud kind. */
export const PATTERN_OF: Record<FraudKind, string> = {
  purchase_burst: 'fraud-velocity',
  amount_spike: 'fraud-amount',
  many_devices: 'fraud-devices',
  refund_after_purchase: 'fraud-refund',
};

export interface Check {
  name: string;
  expected: number | string;
  actual: number | string;
  ok: boolean;
  note?: string;
}

export interface Correctness {
  run: string;
  checks: Check[];
  lost: number;
  fraud: Record<FraudKind, { cases: number; found: number; missed: number; extraAlerts: number }>;
}

const check = (name: string, expected: number, actual: number, note?: string): Check => ({ name, expected, actual, ok: expected === actual, ...(note ? { note } : {}) });

export async function checkRun(run: TributaryRun, truth: GroundTruth, expected: Expected, ticks: number, withDynamo: boolean): Promise<Correctness> {
  const brokers = [...localStack().connections.brokers];
  const topic = (name: string) => `${run.names.topicPrefix}${name}`;
  const checks: Check[] = [];

  const caughtUp = run.progress.end - ticks / 2;
  checks.push({ ...check('consumer caught up (committed >= end offsets less the last tick per partition)', caughtUp, run.progress.committed), ok: run.progress.committed >= caughtUp,
    note: 'the last tick of each partition stays in the one window nothing closes, unless the window idle timeout (1 min) passed' });
  checks.push(check('duplicates removed (duplicates_total)', expected.duplicates, metricSum(run.metrics, 'duplicates_total')));
  checks.push(check('dead letters (topic records)', expected.deadLetters, await countRecords(brokers, [topic('tributary-dead-letters')]),
    `${truth.totals.malformed} malformed + ${expected.undeclaredTypeRecords} records of event types the topology does not declare`));
  const lateTopic = await countRecords(brokers, [topic('late-events')]);
  checks.push({ ...check('late events routed (late-events topic)', expected.lateWithGame, lateTopic),
    note: `truth: ${truth.late.length} late events, ${expected.lateWithGame} with a game_id (the window sees only those); the window judges lateness by its own watermark (the minimum over partitions, minus 5 s, plus 30 s grace), not the generator's stream time, so a truth-late event whose window a slower partition still holds open is counted, not routed late; late_events_total{step=game-minute} ${metricSum(run.metrics, 'late_events_total', ['step', 'game-minute'])}` });

  // Fraud alerts from the topic, per kind.
  const alerts = (await readTopic(brokers, topic('fraud-alerts'))).map((v) => JSON.parse(v) as { pattern_id: string; key: string });
  const fraud = {} as Correctness['fraud'];
  for (const kind of FRAUD_KINDS) {
    const cases = truth.fraud.filter((c) => c.kind === kind);
    const fired = alerts.filter((a) => a.pattern_id === PATTERN_OF[kind]);
    const users = new Set(fired.map((a) => a.key));
    const caseUsers = new Set(cases.map((c) => c.userId));
    const found = cases.filter((c) => users.has(c.userId)).length;
    fraud[kind] = { cases: cases.length, found, missed: cases.length - found, extraAlerts: fired.filter((a) => !caseUsers.has(a.key)).length };
    checks.push({ ...check(`fraud ${kind} cases found`, cases.length, found), note: `${fraud[kind].extraAlerts} alerts for users with no injected case` });
  }

  // Cold storage: every unique valid event once.
  const s3 = createS3Client(localStack().connections);
  const parquet = await queryParquet(s3, run.names.bucket, (glob) => `SELECT event_id FROM ${glob}`);
  s3.destroy();
  const ids = new Set<string>();
  let rows = 0;
  for (const r of parquet.rows) {
    const id = String(r.event_id);
    if (id.startsWith(TICK_GAME)) continue;
    rows++;
    ids.add(id);
  }
  let lost = 0;
  for (const id of expected.uniqueEventIds) if (!ids.has(id)) lost++;
  checks.push({ ...check('Parquet rows = unique valid events', expected.uniqueEventIds.size, rows), note: `${parquet.files} files, ${ids.size} distinct event ids, ${ticks} ticks excluded` });
  checks.push(check('records lost (unique valid events missing from Parquet)', 0, lost));

  if (withDynamo) {
    const dynamo = createDynamoClient(localStack().connections);
    const table = (name: string) => `${run.names.tablePrefix}${name}`;
    checks.push(check('DynamoDB transactions = unique valid purchases', expected.transactions, (await scanTable(dynamo, table('transactions'))).length));
    const metrics = await scanTable(dynamo, table('game_metrics'));
    const byKey = new Map(metrics.map((m) => [`${String(m.game_id)}|${Number(m.minute)}`, m]));
    let matched = 0;
    let wrong = 0;
    let missing = 0;
    for (const row of truth.windows.rows) {
      const item = byKey.get(`${row.gameId}|${Date.parse(row.minute)}`);
      if (item === undefined) missing++;
      else if (Number(item.events) === row.events + row.purchases && Math.round(Number(item.revenue) * 100) === row.revenueCents) matched++;
      else wrong++;
    }
    const extra = metrics.filter((m) => m.game_id !== TICK_GAME).length - (matched + wrong);
    checks.push({ ...check('game_metrics windows equal to truth (events, revenue)', truth.windows.rows.length, matched), note: `${wrong} differ, ${missing} missing, ${extra} not in truth` });
    // Truths written before sessions carried a game have none.
    if (truth.sessions !== undefined) {
      const concurrency = new Map((await scanTable(dynamo, table('game_concurrency'))).map((i) => [String(i.game_id), Number(i.concurrent_users)]));
      const games = Object.entries(truth.sessions.concurrentUsers);
      const equal = games.filter(([game, n]) => concurrency.get(game) === n).length;
      checks.push({ ...check('game_concurrency equal to truth (logins minus logouts per game)', games.length, equal), note: `${concurrency.size} items` });
    }
    dynamo.destroy();
  }
  return { run: run.name, checks, lost, fraud };
}

/** The hot-Kafka-path run: every unique valid event (ticks included) once on its one Kafka topic. */
export async function checkHotKafka(run: TributaryRun, expected: Expected, ticks: number): Promise<Correctness> {
  const brokers = [...localStack().connections.brokers];
  const topic = (name: string) => `${run.names.topicPrefix}${name}`;
  const checks: Check[] = [];
  checks.push({ ...check('consumer caught up (committed = end offsets)', run.progress.end, run.progress.committed), ok: run.progress.committed >= run.progress.end });
  checks.push(check('duplicates removed (duplicates_total)', expected.duplicates, metricSum(run.metrics, 'duplicates_total')));
  checks.push(check('dead letters (topic records)', expected.deadLetters, await countRecords(brokers, [topic('tributary-dead-letters')])));
  const ids = new Set<string>();
  let records = 0;
  for (const value of await readTopic(brokers, topic(HOT_KAFKA_SINK))) {
    records++;
    const id = (JSON.parse(value) as { event_id: string }).event_id;
    if (!id.startsWith(TICK_GAME)) ids.add(id);
  }
  let lost = 0;
  for (const id of expected.uniqueEventIds) if (!ids.has(id)) lost++;
  checks.push({ ...check(`${HOT_KAFKA_SINK} topic records = unique valid events + ticks`, expected.uniqueEventIds.size + ticks, records), note: `${ids.size} distinct event ids` });
  checks.push(check(`records lost (unique valid events missing from ${HOT_KAFKA_SINK})`, 0, lost));
  // No fraud step on this path: nothing to find.
  const fraud = Object.fromEntries(FRAUD_KINDS.map((k) => [k, { cases: 0, found: 0, missed: 0, extraAlerts: 0 }])) as Correctness['fraud'];
  return { run: run.name, checks, lost, fraud };
}
