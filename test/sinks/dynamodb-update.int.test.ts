/**
 * `mode: update` and `add` with `applyOnce` against DynamoDB Local: a session's login and logout
 * written by two sinks to one item, and a counter fed +1/-1, stay exact whatever the order in which
 * the sinks land, with duplicates, replays and a second instance taking a partition over.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { describe, expect, it } from 'vitest';
import { CountingLease, envelopeOf, type Envelope } from '../../src/core/envelope.ts';
import type { Metrics } from '../../src/core/metrics.ts';
import { scanTable } from '../../src/sinks/dynamodb-table.ts';
import { dynamoDbSink, type DynamoSinkOptions } from '../../src/sinks/dynamodb.ts';
import { MAX_COMBINED_GUARDS } from '../../src/sinks/dynamodb-update.ts';
import { testContext } from '../support/sink-context.ts';
import { createTable, dynamoClient } from '../support/stack.ts';
import { rng, shuffle } from '../support/random.ts';

const T0 = Date.UTC(2024, 4, 1, 12, 0, 0);

type Sink = ReturnType<typeof dynamoDbSink>;

async function writeInBatches(sink: Sink, records: readonly Envelope<unknown>[], random: () => number): Promise<void> {
  for (let i = 0; i < records.length; ) {
    const size = 1 + Math.floor(random() * 20);
    await sink.write(records.slice(i, i + size));
    i += size;
  }
}

/** Records with their event time from `timestamp` (else T0). */
const leases = (values: readonly { timestamp?: string; [field: string]: unknown }[]) =>
  values.map((v) => envelopeOf<unknown>(v, {}, new CountingLease(), v.timestamp === undefined ? T0 : Date.parse(v.timestamp)));
const allDone = (records: readonly Envelope<unknown>[]) => records.every((e) => (e.lease as CountingLease).done);

describe('dynamoDbSink (update): a session opened and closed by two sinks', () => {
  interface Session { user: string; session: string; game: string; start: string; end?: string; duration?: number }

  const sessionKeys = { partitionKey: { name: 'pk', value: '{user_id}' }, sortKey: { name: 'sk', value: '{session_id}' } };
  const opens = (table: string, client: DynamoDBClient): DynamoSinkOptions => ({
    id: 'sessions-open', table, client, mode: 'update', ...sessionKeys,
    attributes: { session_start_time: 'timestamp', game_id: 'game_id', session_status: "'active'" },
    ifAbsent: ['session_status', 'expires_at'],
    ttl: { attribute: 'expires_at', afterMs: 86_400_000 },
  });
  const closes = (table: string, client: DynamoDBClient): DynamoSinkOptions => ({
    id: 'sessions-close', table, client, mode: 'update', ...sessionKeys,
    attributes: { session_end_time: 'timestamp', duration_s: 'duration_s', session_status: "'closed'" },
    ttl: { attribute: 'expires_at', afterMs: 86_400_000 },
  });

  it.each([21, 22, 23])('logins and logouts shuffled, duplicated and replayed, each sink at its own pace (seed %i), give every session its final item', async (seed) => {
    const random = rng(seed);
    const table = await createTable({ prefix: 'ddb-update' });
    const client = dynamoClient();
    const { context, dead } = testContext();
    const sessions: Session[] = [];
    for (let u = 0; u < 20; u++)
      for (let s = 0; s < 1 + Math.floor(random() * 4); s++) {
        const start = T0 + Math.floor(random() * 3_600_000);
        const closed = random() < 0.7;
        const duration = 1 + Math.floor(random() * 600);
        sessions.push({ user: `u${u}`, session: `s${u}-${s}`, game: `g${Math.floor(random() * 3)}`, start: new Date(start).toISOString(), ...(closed ? { end: new Date(start + duration * 1000).toISOString(), duration } : {}) });
      }
    // One logout carries no duration: the attribute is left out, the item keeps none.
    const noDuration = sessions.find((s) => s.end !== undefined) as Session;
    const logins = sessions.map((s) => ({ user_id: s.user, session_id: s.session, game_id: s.game, timestamp: s.start }));
    const logouts = sessions.filter((s) => s.end !== undefined).map((s) => ({ user_id: s.user, session_id: s.session, timestamp: s.end, ...(s === noDuration ? {} : { duration_s: s.duration }) }));
    const delivery = (values: readonly { timestamp?: string; [field: string]: unknown }[]) => leases(shuffle([...values, ...values.filter(() => random() < 0.3)], random));
    const loginRecords = [delivery(logins), delivery(logins)]; // the second: a replay after a crash
    const logoutRecords = [delivery(logouts), delivery(logouts)];

    const open = dynamoDbSink(opens(table, client), context);
    const close = dynamoDbSink(closes(table, client), context);
    // Logouts may land before their login: the two sinks run side by side, each in random batches.
    await Promise.all([
      (async () => {
        for (const records of loginRecords) await writeInBatches(open, records, random);
      })(),
      (async () => {
        for (const records of logoutRecords) await writeInBatches(close, records, random);
      })(),
    ]);
    await Promise.all([open.close(), close.close()]);

    // A day after the logout (the login's expiry is set only while the item has none), else the login.
    const expiresAt = (s: Session) => Math.floor((Date.parse(s.end ?? s.start) + 86_400_000) / 1000);
    const expected = sessions
      .map((s) => ({
        pk: s.user,
        sk: s.session,
        session_start_time: s.start,
        game_id: s.game,
        expires_at: expiresAt(s),
        ...(s.end === undefined ? { session_status: 'active' } : { session_status: 'closed', session_end_time: s.end, ...(s === noDuration ? {} : { duration_s: s.duration }) }),
      }))
      .sort((a, b) => `${a.pk}|${a.sk}`.localeCompare(`${b.pk}|${b.sk}`));
    const items = (await scanTable(client, table)).sort((a, b) => `${String(a.pk)}|${String(a.sk)}`.localeCompare(`${String(b.pk)}|${String(b.sk)}`));
    expect(items).toEqual(expected);
    expect(dead).toEqual([]);
    expect([...loginRecords, ...logoutRecords].every(allDone)).toBe(true);
  });

  it('a logout landing first is not reopened by its login', async () => {
    const table = await createTable({ prefix: 'ddb-update' });
    const client = dynamoClient();
    const { context } = testContext();
    const open = dynamoDbSink(opens(table, client), context);
    const close = dynamoDbSink(closes(table, client), context);
    await close.write(leases([{ user_id: 'u1', session_id: 's1', timestamp: '2024-05-01T12:10:00.000Z', duration_s: 600 }]));
    await open.write(leases([{ user_id: 'u1', session_id: 's1', game_id: 'g1', timestamp: '2024-05-01T12:00:00.000Z' }]));
    expect(await scanTable(client, table)).toEqual([
      {
        pk: 'u1', sk: 's1', game_id: 'g1', session_status: 'closed', duration_s: 600, expires_at: Math.floor((Date.parse('2024-05-01T12:10:00.000Z') + 86_400_000) / 1000),
        session_start_time: '2024-05-01T12:00:00.000Z', session_end_time: '2024-05-01T12:10:00.000Z',
      },
    ]);
  });
});

/** A login of game g1 (one more concurrent user) read at `offset` of user-activity's `partition`. */
const login = (partition: number, offset: number) => envelopeOf<unknown>({ game_id: 'g1', delta: 1 }, { topic: 'user-activity', partition, offset }, new CountingLease());

/** DynamoDB requests the `users` sink sent so far. */
function requestCount(metrics: Metrics): number {
  const series = metrics.snapshot().find((m) => m.name === 'sink_request_latency_ms' && m.labels.step === 'users');
  return series === undefined || typeof series.value === 'number' ? 0 : series.value.count;
}

describe('dynamoDbSink (add, applyOnce): a counter exact under replay', () => {
  const counter = (table: string, client: DynamoDBClient, id: string): DynamoSinkOptions => ({
    id, table, client, mode: 'add', applyOnce: true, update: { attribute: 'concurrent_users', value: 'delta' },
    partitionKey: { name: 'pk', value: '{game_id}' }, attributes: [], sleep: async () => {},
  });
  const hashTable = () => createTable({ prefix: 'ddb-once', KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }], AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }] });

  it.each([31, 32, 33])(
    'two partitions, batches sent twice, a replay from an earlier commit and the old owner landing late (seed %i): each offset is added once',
    async (seed) => {
      const random = rng(seed);
      const table = await hashTable();
      const client = dynamoClient();
      const { context, metrics } = testContext();
      // Per partition, offsets 0..n-1 in order: +1 (a login) or -1 (a logout), for three games.
      const partitions = [0, 1].map((partition) =>
        Array.from({ length: 150 }, (_, offset) => ({ partition, offset, value: { game_id: `g${Math.floor(random() * 3)}`, delta: random() < 0.6 ? 1 : -1 } })),
      );
      const expected = new Map<string, number>();
      for (const p of partitions) for (const r of p) expected.set(r.value.game_id, (expected.get(r.value.game_id) ?? 0) + r.value.delta);
      const records = (from: number, to: number, partition: number) =>
        (partitions[partition] as { partition: number; offset: number; value: object }[]).slice(from, to).map((r) => envelopeOf<unknown>(r.value, { topic: 'user-activity', partition: r.partition, offset: r.offset }, new CountingLease()));
      const sent: Envelope<unknown>[][] = [];
      const write = async (sink: Sink, batch: Envelope<unknown>[]) => {
        sent.push(batch);
        await sink.write(batch);
      };

      // The first owner writes both partitions up to some offset, sending some batches twice.
      const first = dynamoDbSink(counter(table, client, 'users'), context);
      const reached = [60 + Math.floor(random() * 60), 60 + Math.floor(random() * 60)];
      for (const partition of [0, 1]) {
        for (let at = 0; at < (reached[partition] as number); ) {
          const size = 1 + Math.floor(random() * 15);
          const batch = records(at, Math.min(at + size, reached[partition] as number), partition);
          await write(first, batch);
          if (random() < 0.3) await write(first, records(at, Math.min(at + size, reached[partition] as number), partition));
          at += size;
        }
      }
      // A crash: the next owner replays each partition from an earlier commit, while the old owner's
      // last batch (already applied above) lands again, late.
      const next = dynamoDbSink(counter(table, client, 'users'), context);
      const late = Promise.all([0, 1].map((p) => write(first, records(Math.max(0, (reached[p] as number) - 10), reached[p] as number, p))));
      await Promise.all(
        [0, 1].map(async (partition) => {
          for (let at = Math.floor((reached[partition] as number) / 2); at < 150; ) {
            const size = 1 + Math.floor(random() * 15);
            await write(next, records(at, at + size, partition));
            at += size;
          }
        }),
      );
      await late;
      await Promise.all([first.close(), next.close()]);

      const items = await scanTable(client, table);
      expect(Object.fromEntries(items.map((i) => [i.pk, i.concurrent_users]))).toEqual(Object.fromEntries(expected));
      // Nothing but the key, the counter and one guard per partition that fed the item.
      for (const item of items) expect(Object.keys(item).filter((k) => k !== 'pk' && k !== 'concurrent_users').sort()).toEqual(['tributary_offset_users_user-activity_0', 'tributary_offset_users_user-activity_1']);
      expect(sent.every(allDone)).toBe(true);
      expect(metrics.value('sink_records_total', { step: 'users', outcome: 'already_applied' })).toBeGreaterThan(0);
    },
  );

  it("writes one item's records of a batch as one update, and what was partly applied before in smaller steps", async () => {
    const table = await hashTable();
    const client = dynamoClient();
    const { context, metrics } = testContext();
    const sink = dynamoDbSink(counter(table, client, 'users'), context);
    const at = (offset: number, partition = 0) => login(partition, offset);
    const requests = () => requestCount(metrics);
    const count = async () => (await scanTable(client, table)).map((i) => i.concurrent_users);
    // Offsets 1-3 one by one, then a replay from 2 (partly applied) to 5: the combined update
    // refused (2 and 3 were applied), then one request per record.
    for (const offset of [1, 2, 3]) await sink.write([at(offset)]);
    let before = requests();
    await sink.write([at(2), at(3), at(4), at(5)]);
    expect(requests() - before).toBe(5);
    expect(await count()).toEqual([5]);
    // Two source partitions in one batch: one update.
    before = requests();
    await sink.write([at(6, 1), at(7, 1), at(6), at(7)]);
    expect(requests() - before).toBe(1);
    expect(await count()).toEqual([9]);
    // A replay of partition 0 beside new records of partition 1: the combined update refused, then
    // partition 0's run refused and its records one by one (6, 7 applied before), partition 1's run as one.
    before = requests();
    await sink.write([at(6), at(7), at(8), at(8, 1), at(9, 1)]);
    expect(requests() - before).toBe(1 + 1 + 3 + 1);
    expect(await count()).toEqual([12]);
    expect(metrics.value('sink_records_total', { step: 'users', outcome: 'already_applied' })).toBe(4);
  });

  it('takes the combined update of as many source partitions as it combines (DynamoDB accepts the expression)', async () => {
    const table = await hashTable();
    const client = dynamoClient();
    const { context, metrics } = testContext();
    const sink = dynamoDbSink(counter(table, client, 'users'), context);
    const batch = () => Array.from({ length: MAX_COMBINED_GUARDS }, (_, partition) => login(partition, 3));
    await sink.write(batch());
    await sink.write(batch());
    // One update, then its replay refused as one and each partition's record refused alone.
    expect(requestCount(metrics)).toBe(1 + 1 + MAX_COMBINED_GUARDS);
    expect((await scanTable(client, table)).map((i) => i.concurrent_users)).toEqual([MAX_COMBINED_GUARDS]);
  });

  it('two sinks on one item (in and out) keep guards of their own', async () => {
    const table = await hashTable();
    const client = dynamoClient();
    const { context } = testContext();
    const plus = dynamoDbSink(counter(table, client, 'users-in'), context);
    const minus = dynamoDbSink(counter(table, client, 'users-out'), context);
    const at = (offset: number, delta: number) => envelopeOf<unknown>({ game_id: 'g1', delta }, { topic: 'user-activity', partition: 0, offset }, new CountingLease());
    // One partition, two sinks: the logins at offsets 1, 2, 4; the logout at 3.
    await Promise.all([plus.write([at(1, 1), at(2, 1), at(4, 1)]), minus.write([at(3, -1)])]);
    await Promise.all([plus.write([at(2, 1), at(4, 1)]), minus.write([at(3, -1)])]);
    expect((await scanTable(client, table)).map((i) => i.concurrent_users)).toEqual([2]);
  });
});
