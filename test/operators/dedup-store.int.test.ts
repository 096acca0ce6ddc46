import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import { asyncScheduler, from, lastValueFrom, toArray } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { dedup } from '../../src/operators/dedup.ts';
import { DynamoDedupStore } from '../../src/operators/dedup-store.ts';
import { createTable, dynamoClient } from '../support/stack.ts';
import { deadLetters, expectAllDone, record } from './record-helpers.ts';

async function dedupTable(): Promise<string> {
  return createTable({
    prefix: 'dedup',
    KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
    AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
  });
}

const origin = (offset: number, partition = 0) => ({ topic: 'game-events', partition, offset });
const HOUR = 3_600_000;

describe('DynamoDedupStore', () => {
  it('lets the first claim win, shows the duplicate to a second instance, and passes a replay of the same record', async () => {
    const tableName = await dedupTable();
    const client = dynamoClient();
    const one = new DynamoDedupStore({ client, tableName, keyPrefix: 'events#' });
    const two = new DynamoDedupStore({ client, tableName, keyPrefix: 'events#' });
    const nowMs = 1_700_000_000_000;

    const first = await one.claim([{ key: 'e1', origin: origin(10) }, { key: 'e2', origin: origin(11) }], { nowMs, ttlMs: HOUR });
    expect(first).toEqual([{ duplicate: false, owner: origin(10) }, { duplicate: false, owner: origin(11) }]);

    const second = await two.claim([{ key: 'e1', origin: origin(3, 1) }, { key: 'e3', origin: origin(4, 1) }], { nowMs, ttlMs: HOUR });
    expect(second).toEqual([{ duplicate: true, owner: origin(10) }, { duplicate: false, owner: origin(4, 1) }]);

    // After a crash the same Kafka record is read again: it still holds its key.
    const replay = await two.claim([{ key: 'e1', origin: origin(10) }], { nowMs: nowMs + 5_000, ttlMs: HOUR });
    expect(replay).toEqual([{ duplicate: false, owner: origin(10) }]);

    const item = await client.send(new GetItemCommand({ TableName: tableName, Key: { pk: { S: 'events#e1' } }, ConsistentRead: true }));
    expect(item.Item).toMatchObject({
      expires_at: { N: String(Math.ceil((nowMs + HOUR) / 1000)) },
      origin_topic: { S: 'game-events' },
      origin_partition: { N: '0' },
      origin_offset: { N: '10' },
    });
  });

  it('treats an expired item DynamoDB has not deleted yet as absent', async () => {
    const tableName = await dedupTable();
    const store = new DynamoDedupStore({ client: dynamoClient(), tableName });
    const nowMs = 1_700_000_000_000;
    await store.claim([{ key: 'e1', origin: origin(1) }], { nowMs, ttlMs: 1_000 });
    const later = await store.claim([{ key: 'e1', origin: origin(2) }], { nowMs: nowMs + 10_000, ttlMs: 1_000 });
    expect(later).toEqual([{ duplicate: false, owner: origin(2) }]);
  });

  it('stores very long keys as a hash under the key size limit', async () => {
    const tableName = await dedupTable();
    const store = new DynamoDedupStore({ client: dynamoClient(), tableName });
    const key = 'k'.repeat(5_000);
    const nowMs = 1_700_000_000_000;
    expect(await store.claim([{ key, origin: origin(1) }], { nowMs, ttlMs: HOUR })).toEqual([{ duplicate: false, owner: origin(1) }]);
    expect(await store.claim([{ key, origin: origin(2) }], { nowMs, ttlMs: HOUR })).toEqual([{ duplicate: true, owner: origin(1) }]);
    expect(store.storedKey(key)).toMatch(/^sha256:[0-9a-f]{64}$/);
  });
});

describe('dedup with DynamoDedupStore', () => {
  it('deduplicates across two pipelines sharing the table, in input order, with every lease moved once', async () => {
    const tableName = await dedupTable();
    const client = dynamoClient();
    const { deadLetter } = deadLetters();
    const ids = Array.from({ length: 60 }, (_, i) => `e${i % 40}`);
    const run = (partition: number) => {
      const records = ids.map((id, offset) => record({ event_id: id }, offset, { topic: 'game-events', partition }));
      const store = new DynamoDedupStore({ client, tableName, keyPrefix: 'dd#' });
      const op = dedup({ id: 'dd', ttlMs: HOUR, maxKeys: 10_000, scheduler: asyncScheduler, deadLetter, store, storeBatchSize: 8, storeConcurrency: 3, duplicates: 'route' });
      return { records, done: lastValueFrom(from(records).pipe(op, toArray())) };
    };

    const first = run(0);
    const firstOut = await first.done;
    expect(firstOut.map((r) => r.envelope.meta.offset)).toEqual(ids.map((_, i) => i));
    expect(firstOut.map((r) => r.output)).toEqual(ids.map((_, i) => (i < 40 ? 'unique' : 'duplicate')));

    // A second instance (another partition, fresh memory) sees every key as taken.
    const second = run(1);
    const secondOut = await second.done;
    expect(secondOut.map((r) => r.envelope.meta.offset)).toEqual(ids.map((_, i) => i));
    expect(secondOut.every((r) => r.output === 'duplicate')).toBe(true);

    // The first instance restarts and reads its partition again: its records still pass.
    const replay = run(0);
    const replayOut = await replay.done;
    expect(replayOut.map((r) => r.output)).toEqual(firstOut.map((r) => r.output));

    for (const r of [...firstOut, ...secondOut, ...replayOut]) r.envelope.lease.release();
    expectAllDone([...first.records, ...second.records, ...replay.records]);
  });
});
