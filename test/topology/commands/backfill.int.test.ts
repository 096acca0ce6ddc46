import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DeleteItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import { describe, expect, it } from 'vitest';
import { scanTable } from '../../../src/sinks/dynamodb-table.ts';
import { KafkaProducer } from '../../../src/sinks/kafka-producer.ts';
import { backfill } from '../../../src/topology/commands/backfill.ts';
import { deleteObjects, listHourObjects, readHourObject } from '../../../src/topology/commands/parquet-hour.ts';
import { reconcile } from '../../../src/topology/commands/reconcile.ts';
import { loadTopologyFile } from '../../../src/topology/load.ts';
import { startTopology } from '../../../src/topology/run.ts';
import type { S3ParquetSink } from '../../../src/topology/types.ts';
import { brokers, createBucket, createTable, dynamoClient, kafkaAdmin, s3Client, topicPrefix } from '../../support/stack.ts';

const HOUR = 3_600_000;
// Recent hours: records older than the topic's retention (7 days) could be deleted under the test.
const H0 = Math.floor(Date.now() / HOUR) * HOUR - 5 * HOUR;
const hourText = (ms: number) => new Date(ms).toISOString().slice(0, 13);

function topologyYaml(prefix: string, bucket: string, purchases: string, minutes: string): string {
  return `
name: backfill-test
sources:
  - { id: events, topics: ["${prefix}events"], group: ${prefix}group, eventTime: { field: timestamp } }
deadLetters: { topic: "${prefix}dlq" }
steps:
  - { id: parse, kind: parse, from: events, eventTime: { maxFutureSkew: 1h } }
  - { id: dedup, kind: dedup, from: parse, key: event_id, ttl: 1h }
  - { id: purchases, kind: filter, from: dedup, when: "event_type == 'purchase'" }
  - id: per-minute
    kind: window
    from: dedup
    window: { type: tumbling, size: 1m }
    key: game_id
    aggregate: { events: { fn: count }, users: { fn: distinct, field: user_id } }
    grace: 10s
    maxOutOfOrderness: 5s
    idleTimeout: 30s
  - { id: flatten, kind: flatten, from: dedup }
sinks:
  - id: cold
    kind: s3-parquet
    from: flatten
    bucket: ${bucket}
    prefix: events
    partitionBy: [platform]
    rotation: { rows: 50, interval: 1s }
  - id: transactions
    kind: dynamodb
    from: purchases
    table: ${purchases}
    partitionKey: { name: transaction_id, value: "{transaction_id}" }
    attributes: [user_id, amount, timestamp, event_id]
  - id: game-minutes
    kind: dynamodb
    from: per-minute
    table: ${minutes}
    partitionKey: { name: game_id, value: "{key}" }
    sortKey: { name: minute, value: "{window_start}", type: number }
    attributes: [events, users]
`;
}

/** Three hours of events, one every 20 s, keyed by user; every 7th a purchase; a few producer retries. */
function events(): { key: string; value: string; at: number }[] {
  const out: { key: string; value: string; at: number }[] = [];
  for (let i = 0; i < 540; i++) {
    const at = H0 + i * 20_000;
    const user = `u${i % 7}`;
    const purchase = i % 7 === 3;
    const value = JSON.stringify({
      event_id: `e${i}`,
      user_id: user,
      event_type: purchase ? 'purchase' : 'game_start',
      game_id: `g${i % 3}`,
      platform: ['ios', 'android'][i % 2],
      timestamp: new Date(at).toISOString(),
      ...(purchase ? { transaction_id: `t${i}`, amount: i } : {}),
    });
    out.push({ key: user, value, at });
    // A producer retry, 2 s later: the same event again.
    if (i % 50 === 10) out.push({ key: user, value, at: at + 2000 });
    // Just before hour 11: an event of 11:00:01 sent by a producer whose clock ran 11 s behind, and
    // its retry 15 s later; a backfill of hour 11 with no lead-in would not see the first copy. Alone in
    // its directory (platform=web), so the retry's offset lies in no object's range.
    if (i === 179) {
      const skewed = JSON.stringify({ event_id: 'skewed', user_id: 'u1', event_type: 'game_start', game_id: 'g0', platform: 'web', timestamp: new Date(H0 + HOUR + 1000).toISOString() });
      out.push({ key: 'u1', value: skewed, at: H0 + HOUR - 10_000 }, { key: 'u1', value: skewed, at: H0 + HOUR + 5000 });
    }
  }
  return out;
}

const inHour = (iso: unknown, hour: number) => Date.parse(String(iso)) >= hour && Date.parse(String(iso)) < hour + HOUR;

describe('tributary backfill, on the real stack', () => {
  it('rewrites a deleted hour of Parquet objects and DynamoDB items as they were, and nothing twice', async () => {
    const prefix = topicPrefix('bf');
    const bucket = await createBucket('backfill');
    const purchases = await createTable({ prefix: 'bf-tx', KeySchema: [{ AttributeName: 'transaction_id', KeyType: 'HASH' }], AttributeDefinitions: [{ AttributeName: 'transaction_id', AttributeType: 'S' }] });
    const minutes = await createTable({
      prefix: 'bf-min',
      KeySchema: [{ AttributeName: 'game_id', KeyType: 'HASH' }, { AttributeName: 'minute', KeyType: 'RANGE' }],
      AttributeDefinitions: [{ AttributeName: 'game_id', AttributeType: 'S' }, { AttributeName: 'minute', AttributeType: 'N' }],
    });
    const admin = kafkaAdmin();
    try {
      await admin.createTopics({ topics: [`${prefix}events`], partitions: 3, replicas: 1 });
      await admin.createTopics({ topics: [`${prefix}dlq`], partitions: 1, replicas: 1 });
    } finally {
      await admin.close();
    }
    const dir = await mkdtemp(join(tmpdir(), 'backfill-'));
    const file = join(dir, 'topology.yaml');
    await writeFile(file, topologyYaml(prefix, bucket, purchases, minutes));
    const topology = await loadTopologyFile(file);
    const sink = topology.sinks.find((s) => s.id === 'cold') as S3ParquetSink;
    const topic = `${prefix}events`;

    const input = events();
    const producer = new KafkaProducer({ brokers, clientId: 'backfill-test' });
    await producer.send(input.map((e) => ({ topic, key: Buffer.from(e.key), value: Buffer.from(e.value), headers: {}, timestamp: e.at })));
    await producer.close();
    const purchaseCount = new Set(input.filter((e) => e.value.includes('"purchase"')).map((e) => e.value)).size;

    const s3 = s3Client();
    const dynamo = dynamoClient();
    const hourRows = async (hour: number) => {
      const ids: string[] = [];
      for (const o of await listHourObjects(s3, sink, topic, hour)) ids.push(...((await readHourObject(s3, bucket, o.key, 'event_id')).values ?? []).map(String));
      return ids.sort();
    };
    const started = startTopology(topology, { ...process.env, TRIBUTARY_LOCAL: '1', TRIBUTARY_COMMIT_INTERVAL_MS: '500' });
    try {
      const deadline = Date.now() + 90_000;
      // Hour 11's last windows close on hour 12's events.
      let tx = 0;
      let mins = 0;
      while ((tx = (await scanTable(dynamo, purchases)).length) < purchaseCount || (mins = (await scanTable(dynamo, minutes)).filter((m) => Number(m.minute) < H0 + 2 * HOUR).length) < 120 * 3) {
        if (Date.now() > deadline) throw new Error(`the first run did not write its items: ${tx} transactions, ${mins} minutes`);
        await new Promise((r) => setTimeout(r, 500));
      }
    } finally {
      await started.runtime.shutdown('test done');
      await started.done;
      started.close();
    }
    const H1 = H0 + HOUR;
    const rowsBefore = await hourRows(H1);
    expect(rowsBefore).toHaveLength(181);
    const keysOther = [...(await listHourObjects(s3, sink, topic, H0)), ...(await listHourObjects(s3, sink, topic, H0 + 2 * HOUR))].map((o) => o.key).sort();
    const txBefore = (await scanTable(dynamo, purchases)).filter((t) => inHour(t.timestamp, H1));
    const minutesBefore = (await scanTable(dynamo, minutes)).filter((m) => Number(m.minute) >= H1 && Number(m.minute) < H1 + HOUR);
    expect(txBefore.length).toBeGreaterThan(20);
    expect(minutesBefore).toHaveLength(180);

    // Lose hour 11: its Parquet objects and its items.
    await deleteObjects(s3, bucket, (await listHourObjects(s3, sink, topic, H1)).map((o) => o.key));
    for (const t of txBefore) await dynamo.send(new DeleteItemCommand({ TableName: purchases, Key: marshall({ transaction_id: t.transaction_id }) }));
    for (const m of minutesBefore) await dynamo.send(new DeleteItemCommand({ TableName: minutes, Key: marshall({ game_id: m.game_id, minute: m.minute }) }));
    expect(await hourRows(H1)).toEqual([]);
    // Items outside the interval, changed by hand: a backfill that wrote outside [from, to) would put them back.
    const outside = (await scanTable(dynamo, purchases)).find((t) => inHour(t.timestamp, H0)) as Record<string, unknown>;
    await dynamo.send(new PutItemCommand({ TableName: purchases, Item: marshall({ ...outside, amount: -1 }) }));
    await dynamo.send(new PutItemCommand({ TableName: minutes, Item: marshall({ game_id: 'g0', minute: H1 - 60_000, events: -1, users: -1 }) }));

    const out: string[] = [];
    const io = { stdout: (t: string) => void out.push(t), stderr: (t: string) => void out.push(t), env: { ...process.env, TRIBUTARY_LOCAL: '1' }, isTTY: true };
    const code = await backfill({ topology: file, from: hourText(H0 + HOUR), to: hourText(H0 + 2 * HOUR) }, io);
    console.log(out.join(''));
    expect(code).toBe(0);
    expect(out.join('')).toMatch(/\rbackfill: read (\d+) \/ \1 records \(100%\)/);

    expect(await hourRows(H1)).toEqual(rowsBefore);
    const others = [...(await listHourObjects(s3, sink, topic, H0)), ...(await listHourObjects(s3, sink, topic, H0 + 2 * HOUR))].map((o) => o.key).sort();
    expect(others).toEqual(keysOther);
    const byId = (items: Record<string, unknown>[], key: (i: Record<string, unknown>) => string) => Object.fromEntries(items.map((i) => [key(i), i]));
    const txAfter = (await scanTable(dynamo, purchases)).filter((t) => inHour(t.timestamp, H1));
    expect(byId(txAfter, (t) => String(t.transaction_id))).toEqual(byId(txBefore, (t) => String(t.transaction_id)));
    expect((await scanTable(dynamo, purchases)).length).toBe(purchaseCount);
    const minutesAfter = (await scanTable(dynamo, minutes)).filter((m) => Number(m.minute) >= H1 && Number(m.minute) < H1 + HOUR);
    expect(byId(minutesAfter, (m) => `${m.game_id}@${m.minute}`)).toEqual(byId(minutesBefore, (m) => `${m.game_id}@${m.minute}`));

    expect((await scanTable(dynamo, purchases)).find((t) => t.transaction_id === outside.transaction_id)?.amount).toBe(-1);
    expect((await scanTable(dynamo, minutes)).find((m) => m.game_id === 'g0' && m.minute === H1 - 60_000)?.events).toBe(-1);

    // Again over the complete hour: nothing is written twice; the skewed event's retry is a duplicate
    // only for a dedup that saw its first copy, before 11:00 in Kafka time (the lead-in).
    const again: string[] = [];
    expect(await backfill({ topology: file, from: hourText(H0 + HOUR), to: hourText(H0 + 2 * HOUR) }, { ...io, stdout: (t: string) => void again.push(t), isTTY: false })).toBe(0);
    expect(await hourRows(H1)).toEqual(rowsBefore);

    const check: string[] = [];
    expect(await reconcile({ topology: file, hour: hourText(H0 + HOUR) }, { ...io, stdout: (t: string) => void check.push(t) })).toBe(0);
    console.log(check.join(''));
  });
});
