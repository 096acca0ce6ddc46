import { Consumer, MessagesStreamModes, Producer, stringSerializers } from '@platformatic/kafka';
import { describe, expect, it } from 'vitest';
import { connectionsFromEnv } from '../../src/config.ts';
import { loadTopologyFile } from '../../src/topology/load.ts';
import { provisionTopology, topicsOf } from '../../src/topology/provision.ts';
import { startTopology } from '../../src/topology/run.ts';
import { query } from '../sinks/parquet/duckdb.ts';
import { download } from '../sinks/s3-parquet-s3.ts';
import { scanTable } from '../../src/sinks/dynamodb-table.ts';
import { brokers, dynamoClient, kafkaAdmin, s3Client, uniqueName } from '../support/stack.ts';

const T0 = Date.UTC(2026, 10, 23, 10, 0, 0);
const MINUTE = 60_000;

interface Input {
  topic: 'game-events' | 'user-activity' | 'transaction-events';
  id: string;
  user: string;
  type: string;
  data: Record<string, unknown>;
  atS: number;
}

/** A known input: every expected item, alert, row and dead letter below follows from it. */
const INPUT: Input[] = [
  { topic: 'game-events', id: 'gs1', user: 'u1', type: 'game_start', data: { game_id: 'g1' }, atS: 0 },
  { topic: 'game-events', id: 'gs2', user: 'u2', type: 'game_start', data: { game_id: 'g1' }, atS: 5 },
  { topic: 'game-events', id: 'lc1', user: 'u1', type: 'level_complete', data: { game_id: 'g1', score: 100 }, atS: 10 },
  { topic: 'game-events', id: 'lc2', user: 'u1', type: 'level_complete', data: { game_id: 'g1', score: 80 }, atS: 20 },
  { topic: 'game-events', id: 'lc3', user: 'u2', type: 'level_complete', data: { game_id: 'g1', score: 150 }, atS: 30 },
  { topic: 'game-events', id: 'gs3', user: 'u3', type: 'game_start', data: { game_id: 'g2' }, atS: 40 },
  { topic: 'game-events', id: 'gs1', user: 'u1', type: 'game_start', data: { game_id: 'g1' }, atS: 0 }, // a producer retry
  { topic: 'user-activity', id: 'li1', user: 'u1', type: 'user_login', data: { device_id: 'd1', session_id: 's-u1', game_id: 'g5' }, atS: 1 },
  ...[0, 1, 2, 3].map((i) => ({
    topic: 'user-activity' as const,
    id: `li-u4-${i}`,
    user: 'u4',
    type: 'user_login',
    data: { device_id: `d${i}`, session_id: `s-u4-${i}`, game_id: 'g5' },
    atS: 60 + 10 * i,
  })),
  { topic: 'user-activity', id: 'li1', user: 'u1', type: 'user_login', data: { device_id: 'd1', session_id: 's-u1', game_id: 'g5' }, atS: 1 }, // a replay
  { topic: 'user-activity', id: 'lo1', user: 'u1', type: 'user_logout', data: { session_id: 's-u1', game_id: 'g5', session_duration_s: 49 }, atS: 50 },
  { topic: 'user-activity', id: 'lo1', user: 'u1', type: 'user_logout', data: { session_id: 's-u1', game_id: 'g5', session_duration_s: 49 }, atS: 50 }, // a replay
  { topic: 'transaction-events', id: 'p1', user: 'u1', type: 'purchase', data: { amount: 10, currency: 'USD', transaction_id: 't1', item_id: 'sword', game_id: 'g1' }, atS: 15 },
  { topic: 'transaction-events', id: 'p2', user: 'u2', type: 'purchase', data: { amount: 5000, currency: 'USD', transaction_id: 't2', item_id: 'castle', game_id: 'g1' }, atS: 25 },
  { topic: 'transaction-events', id: 'r1', user: 'u1', type: 'refund_request', data: { transaction_id: 't1' }, atS: 45 },
  ...[0, 1, 2, 3, 4, 5].map((i) => ({
    topic: 'transaction-events' as const,
    id: `p-u3-${i}`,
    user: 'u3',
    type: 'purchase',
    data: { amount: 1, currency: 'USD', transaction_id: `t3-${i}`, item_id: 'gem', game_id: 'g2' },
    atS: 100 + i,
  })),
  // Moves event time on, so that the minutes 10:00 and 10:01 close.
  { topic: 'game-events', id: 'tick', user: 'u1', type: 'game_start', data: { game_id: 'g3' }, atS: 200 },
];

const BAD = [
  { topic: 'game-events', user: 'x1', value: '{"event_id": "broken"' },
  { topic: 'game-events', user: 'x2', value: JSON.stringify({ event_id: 'unk', user_id: 'x2', event_type: 'teleport', event_data: {}, timestamp: new Date(T0).toISOString() }) },
  { topic: 'game-events', user: 'x3', value: JSON.stringify({ event_id: 'bad-score', user_id: 'x3', event_type: 'level_complete', event_data: { game_id: 'g1', score: 'abc' }, timestamp: new Date(T0).toISOString() }) },
];

const UNIQUE_VALID = new Set(INPUT.map((e) => e.id)).size;

const scan = (table: string): Promise<Record<string, unknown>[]> => scanTable(dynamoClient(), table);

async function readTopic(topic: string, count: number): Promise<{ key: string; value: string; headers: Record<string, string> }[]> {
  const consumer = new Consumer({ groupId: uniqueName('read'), clientId: uniqueName('read'), bootstrapBrokers: brokers });
  const stream = await consumer.consume({ topics: [topic], mode: MessagesStreamModes.EARLIEST, autocommit: false, maxWaitTime: 200 });
  const out: { key: string; value: string; headers: Record<string, string> }[] = [];
  const deadline = Date.now() + 30_000;
  const timer = setInterval(() => Date.now() > deadline && void stream.close(), 500);
  for await (const message of stream) {
    const headers = Object.fromEntries([...message.headers].map(([k, v]) => [String(k), String(v)]));
    out.push({ key: String(message.key), value: String(message.value), headers });
    if (out.length >= count) break;
  }
  clearInterval(timer);
  await stream.close();
  await consumer.close();
  return out;
}

async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

describe('the default game-events topology, end to end on the real stack', () => {
  it('turns a known input into the expected DynamoDB items, alerts, dead letters and Parquet rows', async () => {
    const tag = uniqueName('e2e');
    const env = {
      ...process.env,
      TOPIC_PREFIX: `${tag}-`,
      TABLE_PREFIX: `${tag.replace('-', '_')}_`,
      EVENTS_BUCKET: tag,
      CONSUMER_GROUP: tag,
      WINDOW_IDLE_TIMEOUT: '2s',
      TRIBUTARY_COMMIT_INTERVAL_MS: '1000',
    };
    const table = (name: string) => `${env.TABLE_PREFIX}${name}`;
    const topology = await loadTopologyFile('topologies/game-events.yaml', { env });
    await provisionTopology(topology, connectionsFromEnv(env));

    const producer = new Producer({ clientId: tag, bootstrapBrokers: brokers, serializers: stringSerializers, idempotent: true, acks: -1 });
    await producer.send({
      messages: [
        ...INPUT.map((e) => ({
          topic: `${tag}-${e.topic}`,
          key: e.user,
          value: JSON.stringify({ event_id: e.id, user_id: e.user, event_type: e.type, event_data: e.data, timestamp: new Date(T0 + e.atS * 1000).toISOString(), game_version: '1.4.2', platform: 'ios' }),
        })),
        ...BAD.map((b) => ({ topic: `${tag}-${b.topic}`, key: b.user, value: b.value })),
      ],
    });
    await producer.close();

    const started = startTopology(topology, env);
    try {
      await waitFor('DynamoDB items', async () => {
        const [sessions, transactions, alerts, metrics, concurrency] = await Promise.all(
          ['user_sessions', 'transactions', 'fraud_alerts', 'game_metrics', 'game_concurrency'].map((t) => scan(table(t))),
        );
        const closed = sessions?.some((s) => s.session_status === 'closed');
        return sessions?.length === 5 && closed && concurrency?.[0]?.concurrent_users === 4 && transactions?.length === 8 && alerts?.length === 4 && (metrics?.length ?? 0) >= 3;
      });
    } finally {
      await started.runtime.shutdown('test done');
      await started.done;
      started.close();
    }

    // Hot storage.
    const sessions = await scan(table('user_sessions'));
    const at = (seconds: number) => new Date(T0 + seconds * 1000).toISOString();
    // The replayed login is deduplicated: one session per distinct login event.
    expect(sessions.map((s) => `${s.user_id}@${s.session_id}@${s.session_start_time}@${s.session_status}`).sort()).toEqual(
      [`u1@s-u1@${at(1)}@closed`, ...[0, 1, 2, 3].map((i) => `u4@s-u4-${i}@${at(60 + 10 * i)}@active`)].sort(),
    );
    // Opened by the login, closed by the logout: one item; its TTL from the later of the two.
    expect(sessions.find((s) => s.user_id === 'u1')).toEqual({
      user_id: 'u1', session_id: 's-u1', session_start_time: at(1), game_id: 'g5', platform: 'ios', game_version: '1.4.2', device_id: 'd1', event_id: 'li1',
      session_status: 'closed', session_end_time: at(50), duration_s: 49,
      // 30 days after the logout, whichever sink landed first (the login's is set only while absent).
      expires_at: Math.floor((T0 + 50_000 + 30 * 86_400_000) / 1000),
    });
    expect(sessions.find((s) => s.session_id === 's-u4-0')?.expires_at).toBe(Math.floor((T0 + 60_000 + 30 * 86_400_000) / 1000));
    // Users in g5 now: five logins, one logout (the replays deduplicated).
    expect(await scan(table('game_concurrency'))).toEqual([
      expect.objectContaining({ game_id: 'g5', concurrent_users: 4 }),
    ]);

    const transactions = await scan(table('transactions'));
    expect(transactions.map((t) => t.transaction_id).sort()).toEqual(['t1', 't2', 't3-0', 't3-1', 't3-2', 't3-3', 't3-4', 't3-5']);
    expect(transactions.find((t) => t.transaction_id === 't2')).toMatchObject({ user_id: 'u2', amount: 5000, currency: 'USD', event_id: 'p2' });

    const leaderboard = await scan(table('leaderboard'));
    expect(Object.fromEntries(leaderboard.map((l) => [`${l.game_id}/${l.user_id}`, l.best_score]))).toEqual({ 'g1/u1': 100, 'g1/u2': 150 });

    const metrics = await scan(table('game_metrics'));
    const minute = (game: string, m: number) => metrics.find((x) => x.game_id === game && x.minute === T0 + m * MINUTE);
    expect(minute('g1', 0)).toMatchObject({ events: 7, active_users: 2, revenue: 5010, window_end: T0 + MINUTE });
    expect(minute('g2', 0)).toMatchObject({ events: 1, active_users: 1, revenue: 0 });
    expect(minute('g2', 1)).toMatchObject({ events: 6, active_users: 1, revenue: 6 });

    // Fraud: one alert per injected case, in the table and on the topic.
    const alerts = await scan(table('fraud_alerts'));
    expect(alerts.map((a) => `${a.pattern_id}:${a.user_id}`).sort()).toEqual([
      'fraud-amount:u2',
      'fraud-devices:u4',
      'fraud-refund:u1',
      'fraud-velocity:u3',
    ]);
    expect(alerts.find((a) => a.pattern_id === 'fraud-refund')?.event_ids).toEqual(['p1', 'r1']);
    const alertRecords = await readTopic(`${tag}-fraud-alerts`, 4);
    expect(alertRecords.map((r) => (JSON.parse(r.value) as { alert_id: string }).alert_id).sort()).toEqual(alerts.map((a) => a.alert_id).sort());
    // Keyed by alert_id, so that a consumer can deduplicate an alert sent again after a replay.
    for (const r of alertRecords) expect(r.key).toBe((JSON.parse(r.value) as { alert_id: string }).alert_id);

    // Dead letters: the three bad records, each with where it came from and which step refused it.
    const deadLetters = await readTopic(`${tag}-tributary-dead-letters`, 3);
    expect(deadLetters.map((d) => `${d.headers['tributary.step']}:${d.headers['tributary.error.code']}`).sort()).toEqual([
      'parse:TRIB_DECODE',
      'validate:TRIB_VALIDATION',
      'validate:TRIB_VALIDATION',
    ]);
    for (const d of deadLetters) expect(d.headers['tributary.source.topic']).toBe(`${tag}-game-events`);

    // Cold storage: every valid event once, flattened, under its topic's platform and hourly partition.
    const dir = await download(s3Client(), tag);
    const rows = await query(
      `SELECT event_id, event_type, event_data_game_id, event_data_amount, platform, filename FROM read_parquet('${dir}/events/**/*.parquet', union_by_name = true, filename = true)`,
    );
    expect(rows).toHaveLength(UNIQUE_VALID);
    expect(new Set(rows.map((r) => r.event_id)).size).toBe(UNIQUE_VALID);
    for (const row of rows)
      expect(String(row.filename)).toMatch(
        new RegExp(`/events/${tag}-(game-events|user-activity|transaction-events)/platform=${row.platform ?? '__missing__'}/year=2026/month=11/day=23/hour=10/`),
      );
    expect(rows.find((r) => r.event_id === 'p2')).toMatchObject({ event_type: 'purchase', event_data_amount: 5000, event_data_game_id: 'g1' });
    const [types] = await query(
      `SELECT typeof("timestamp") AS ts, typeof(event_data_amount) AS amount, typeof(event_data_score) AS score FROM read_parquet('${dir}/**/*.parquet', union_by_name = true) LIMIT 1`,
    );
    expect(types).toEqual({ ts: expect.stringMatching(/^TIMESTAMP/), amount: 'DOUBLE', score: 'BIGINT' });

    const admin = kafkaAdmin();
    try {
      await admin.deleteTopics({ topics: topicsOf(topology) });
    } finally {
      await admin.close();
    }
  });
});
