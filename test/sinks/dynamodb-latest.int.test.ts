import { GetItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import { describe, expect, it } from 'vitest';
import { CountingLease, envelopeOf, type Envelope } from '../../src/core/envelope.ts';
import { scanTable } from '../../src/sinks/dynamodb-table.ts';
import { dynamoDbSink, type DynamoSinkOptions } from '../../src/sinks/dynamodb.ts';
import { testContext } from '../support/sink-context.ts';
import { createTable, dynamoClient } from '../support/stack.ts';
import { rng, shuffle } from '../support/random.ts';

const T0 = Date.UTC(2024, 4, 1, 12, 0, 0);
const DAY_MS = 86_400_000;

/** A CDC change: the full new image (or the key, for a REMOVE) with its version. */
interface Change {
  id: string;
  op: 'INSERT' | 'MODIFY' | 'REMOVE';
  updatedAt: string;
  sequence_number: number;
  [field: string]: unknown;
}

/**
 * Per key, a history of changes with strictly increasing versions: `updatedAt` often repeats (a
 * burst within one millisecond), so `sequence_number` decides; attribute sets vary (a later image
 * drops `nickname`), deletes come and go, and a key may be re-inserted after a delete.
 */
function histories(keys: number, random: () => number): Change[] {
  const changes: Change[] = [];
  for (let k = 0; k < keys; k++) {
    let at = T0 + Math.floor(random() * 1000);
    let sequence = Math.floor(random() * 50);
    let live = false;
    const n = 1 + Math.floor(random() * 8);
    for (let i = 0; i < n; i++) {
      if (random() < 0.6) at += 1 + Math.floor(random() * 5000);
      sequence += 1 + Math.floor(random() * 3);
      const op: Change['op'] = !live ? 'INSERT' : random() < 0.3 ? 'REMOVE' : 'MODIFY';
      const version = { updatedAt: new Date(at).toISOString(), sequence_number: sequence };
      if (op === 'REMOVE') changes.push({ id: `p${k}`, op, ...version });
      else changes.push({ id: `p${k}`, op, ...version, level: Math.floor(random() * 100), ...(random() < 0.5 ? { nickname: `n${i}` } : {}) });
      live = op !== 'REMOVE';
    }
  }
  return changes;
}

const compare = (a: Change, b: Change) => (a.updatedAt < b.updatedAt ? -1 : a.updatedAt > b.updatedAt ? 1 : a.sequence_number - b.sequence_number);

/**
 * The table that applying `changes` in version order gives: per key, the last change's image, or
 * its tombstone when it is a REMOVE.
 */
function expectedTable(changes: readonly Change[]): Record<string, unknown>[] {
  const last = new Map<string, Change>();
  for (const c of [...changes].sort(compare)) last.set(c.id, c);
  return [...last.values()]
    .map((c) => (c.op === 'REMOVE' ? { pk: c.id, updatedAt: c.updatedAt, sequence_number: c.sequence_number, _deleted: true } : { pk: c.id, ...c }))
    .sort((a, b) => a.pk.localeCompare(b.pk));
}

const envelopes = (changes: readonly Change[]) => changes.map((c, i) => envelopeOf<unknown>(c, { offset: i }, new CountingLease(), T0));

async function writeInBatches(sink: ReturnType<typeof dynamoDbSink>, batch: readonly Envelope<unknown>[], random: () => number): Promise<void> {
  for (let i = 0; i < batch.length; ) {
    const size = 1 + Math.floor(random() * 40);
    await sink.write(batch.slice(i, i + size));
    i += size;
  }
}

const options = (table: string, client: DynamoDBClient): DynamoSinkOptions => ({
  id: 'players',
  table,
  client,
  mode: 'latest',
  latest: { version: ['updatedAt', 'sequence_number'], delete: "op == 'REMOVE'" },
  partitionKey: { name: 'pk', value: '{id}' },
  sleep: async () => {},
});

const hashTable = () => createTable({ prefix: 'ddb-latest', KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }], AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }] });
const scanSorted = async (client: DynamoDBClient, table: string) => (await scanTable(client, table)).sort((a, b) => String(a.pk).localeCompare(String(b.pk)));

describe('dynamoDbSink (latest)', () => {
  it.each([11, 12, 13])(
    'shuffled, duplicated and replayed CDC changes (seed %i) leave the table that applying them in version order gives',
    async (seed) => {
      const random = rng(seed);
      const table = await hashTable();
      const client = dynamoClient();
      const { context, dead } = testContext();
      const sink = dynamoDbSink(options(table, client), context);
      const changes = histories(60, random);
      // Every change at least once, a quarter of them twice, in a random order; then the whole
      // stream again in another order (a replay after a crash, say).
      const delivered = shuffle([...changes, ...changes.filter(() => random() < 0.25)], random);
      const first = envelopes(delivered);
      await writeInBatches(sink, first, random);
      const expected = expectedTable(changes);
      expect(expected.some((i) => i._deleted === true)).toBe(true);
      expect(await scanSorted(client, table)).toEqual(expected);

      const replay = envelopes(shuffle(changes, random));
      await writeInBatches(sink, replay, random);
      expect(await scanSorted(client, table)).toEqual(expected);
      expect(dead).toEqual([]);
      expect([...first, ...replay].every((e) => (e.lease as CountingLease).done)).toBe(true);
      await sink.close();
    },
  );

  it('a tombstone refuses an older update arriving later, expires with the TTL attribute, and a newer insert brings the item back', async () => {
    const table = await hashTable();
    const client = dynamoClient();
    const { context, metrics } = testContext();
    const sink = dynamoDbSink({ ...options(table, client), ttl: { attribute: 'expires_at', afterMs: 7 * DAY_MS } }, context);
    const at = (ms: number) => new Date(T0 + ms).toISOString();
    const change = (c: Change, eventTimeMs: number) => envelopeOf<unknown>(c, {}, new CountingLease(), eventTimeMs);
    const get = async () => unmarshall((await client.send(new GetItemCommand({ TableName: table, Key: marshall({ pk: 'p1' }) }))).Item ?? {});

    await sink.write([change({ id: 'p1', op: 'INSERT', updatedAt: at(0), sequence_number: 1, level: 1 }, T0)]);
    await sink.write([change({ id: 'p1', op: 'REMOVE', updatedAt: at(2000), sequence_number: 3 }, T0 + 2000)]);
    const tombstone = { pk: 'p1', updatedAt: at(2000), sequence_number: 3, _deleted: true, expires_at: Math.floor((T0 + 2000 + 7 * DAY_MS) / 1000) };
    expect(await get()).toEqual(tombstone);

    // The update the delete followed, delivered late: refused, a counted and acknowledged outcome.
    const late = change({ id: 'p1', op: 'MODIFY', updatedAt: at(1000), sequence_number: 2, level: 2 }, T0 + 1000);
    await sink.write([late]);
    expect(await get()).toEqual(tombstone);
    expect((late.lease as CountingLease).done).toBe(true);
    expect(metrics.value('sink_records_total', { step: 'players', outcome: 'condition_failed' })).toBe(1);

    // Same updatedAt, higher sequence number: newer, so the item is live again with only its image.
    await sink.write([change({ id: 'p1', op: 'INSERT', updatedAt: at(2000), sequence_number: 4, level: 3 }, T0 + 2000)]);
    expect(await get()).toEqual({ pk: 'p1', id: 'p1', op: 'INSERT', updatedAt: at(2000), sequence_number: 4, level: 3, expires_at: tombstone.expires_at });
    await sink.close();
  });

  it('equal versions: skip keeps the first (a replay is a no-op), overwrite takes the last', async () => {
    const table = await hashTable();
    const client = dynamoClient();
    const { context } = testContext();
    const skip = dynamoDbSink(options(table, client), context);
    const overwrite = dynamoDbSink({ ...options(table, client), id: 'players-overwrite', latest: { version: ['updatedAt', 'sequence_number'], onEqualVersion: 'overwrite' } }, context);
    const v = { updatedAt: new Date(T0).toISOString(), sequence_number: 1 };
    const a = (level: number) => envelopeOf<unknown>({ id: 'p1', op: 'MODIFY', ...v, level }, {}, new CountingLease());
    const b = (level: number) => envelopeOf<unknown>({ id: 'p2', op: 'MODIFY', ...v, level }, {}, new CountingLease());
    await skip.write([a(1), a(2)]);
    await overwrite.write([b(1), b(2)]);
    const levels = (await scanSorted(client, table)).map((i) => [i.pk, i.level]);
    expect(levels).toEqual([['p1', 1], ['p2', 2]]);
  });

  it('sends a change without a usable version to dead letters and writes the rest', async () => {
    const table = await hashTable();
    const client = dynamoClient();
    const { context, dead } = testContext();
    const sink = dynamoDbSink(options(table, client), context);
    await sink.write([
      envelopeOf<unknown>({ id: 'p1', op: 'INSERT', updatedAt: new Date(T0).toISOString() }, {}, new CountingLease()),
      envelopeOf<unknown>({ id: 'p2', op: 'INSERT', updatedAt: new Date(T0).toISOString(), sequence_number: 1 }, {}, new CountingLease()),
    ]);
    expect(dead.map((d) => d.error.message)).toEqual([`version field sequence_number is missing, not a number or string (table ${table}, key pk=p1)`]);
    expect((await scanSorted(client, table)).map((i) => i.pk)).toEqual(['p2']);
  });
});
