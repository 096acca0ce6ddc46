import {
  BatchWriteItemCommand,
  DeleteTableCommand,
  DescribeTableCommand,
  DescribeTimeToLiveCommand,
  GetItemCommand,
  ProvisionedThroughputExceededException,
  PutItemCommand,
  QueryCommand,
  type DynamoDBClient,
  type WriteRequest,
} from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import { describe, expect, it } from 'vitest';
import { SinkPermanentError, UnavailableError } from '../../src/core/errors.ts';
import { CountingLease, envelopeOf, type Envelope } from '../../src/core/envelope.ts';
import { shardKeys, shardOf } from '../../src/sinks/dynamodb-item.ts';
import { countItems, ensureTable, scanTable, tableDefinitionOf } from '../../src/sinks/dynamodb-table.ts';
import { dynamoDbSink, type DynamoSender, type DynamoSinkOptions } from '../../src/sinks/dynamodb.ts';
import { testContext } from '../support/sink-context.ts';
import { createTable, dynamoClient, uniqueName } from '../support/stack.ts';

const DAY_MS = 86_400_000;
const T0 = Date.UTC(2024, 4, 1, 12, 0, 0, 500);


interface Session {
  user_id: string;
  session_id: string;
  score: number;
  event_data?: { level: number };
  [field: string]: unknown;
}

function sessions(n: number, users = 20): Envelope<Session>[] {
  return Array.from({ length: n }, (_, i) =>
    envelopeOf({ user_id: `u${i % users}`, session_id: `s${String(i).padStart(5, '0')}`, score: i, event_data: { level: i % 7 } }, { offset: i }, new CountingLease(), T0 + i),
  );
}

const keyOptions = (table: string, client: DynamoSender): DynamoSinkOptions => ({
  id: 'sessions',
  table,
  client,
  partitionKey: { name: 'pk', value: 'USER#{user_id}' },
  sortKey: { name: 'sk', value: '{session_id}' },
  sleep: async () => {},
});

async function scanAll(client: DynamoDBClient, table: string): Promise<Record<string, unknown>[]> {
  return (await scanTable(client, table)).sort((a, b) => String(a.sk).localeCompare(String(b.sk)));
}

const leases = (batch: readonly Envelope<unknown>[]) => batch.map((e) => e.lease as CountingLease);
const allDone = (batch: readonly Envelope<unknown>[]) => leases(batch).every((l) => l.done);

/** `send` without the SDK's per-command overloads, for a union of commands. */
const send = (real: DynamoDBClient, command: unknown) => (real.send as (c: unknown) => Promise<unknown>).call(real, command);

type Forward = (command: BatchWriteItemCommand | PutItemCommand) => Promise<unknown>;

/**
 * Wraps the real client, recording every command and the sort key of every item it forwards;
 * `intercept` may answer instead (returning a promise) or pass (returning undefined).
 */
function spy(real: DynamoDBClient, intercept?: (command: unknown, forward: Forward) => Promise<unknown> | undefined) {
  const forwarded: string[] = [];
  const commands: string[] = [];
  const forward: Forward = (command) => {
    if (command instanceof BatchWriteItemCommand)
      for (const requests of Object.values(command.input.RequestItems ?? {})) for (const r of requests) forwarded.push(r.PutRequest?.Item?.sk?.S as string);
    else forwarded.push(command.input.Item?.sk?.S as string);
    return send(real, command);
  };
  const client: DynamoSender = {
    send: async (command) => {
      commands.push(command.constructor.name);
      const intercepted = intercept?.(command, forward);
      if (intercepted !== undefined) return intercepted;
      if (command instanceof BatchWriteItemCommand || command instanceof PutItemCommand) return forward(command);
      return send(real, command);
    },
  };
  return { client, forwarded, commands };
}

describe('dynamoDbSink (put)', () => {
  it('writes 1,000 records in chunks of 25 with TTL in epoch seconds, releasing every lease', async () => {
    const table = await createTable({ prefix: 'ddb-put' });
    const real = dynamoClient();
    const { client, commands } = spy(real);
    const { metrics, dead, context } = testContext();
    const sink = dynamoDbSink({ ...keyOptions(table, client), ttl: { attribute: 'expires_at', afterMs: 30 * DAY_MS } }, context);
    const batch = sessions(1000);

    await sink.write(batch);
    await sink.close();

    const items = await scanAll(real, table);
    expect(items).toHaveLength(1000);
    expect(commands.filter((c) => c === 'BatchWriteItemCommand')).toHaveLength(40);
    for (const [i, item] of items.entries()) {
      expect(item).toEqual({
        pk: `USER#u${i % 20}`,
        sk: `s${String(i).padStart(5, '0')}`,
        user_id: `u${i % 20}`,
        session_id: `s${String(i).padStart(5, '0')}`,
        score: i,
        event_data: { level: i % 7 },
        expires_at: Math.floor((T0 + i + 30 * DAY_MS) / 1000),
      });
    }
    expect(allDone(batch)).toBe(true);
    expect(dead).toEqual([]);
    expect(metrics.value('sink_records_total', { step: 'sessions' })).toBe(1000);
    expect(metrics.snapshot().find((s) => s.name === 'sink_request_latency_ms')?.value).toMatchObject({ count: 40 });
  });

  it('retries unprocessed items and throttling with backoff; every item lands exactly once', async () => {
    const table = await createTable({ prefix: 'ddb-retry' });
    const real = dynamoClient();
    let batchCalls = 0;
    const { client, forwarded } = spy(real, (command, forward) => {
      if (!(command instanceof BatchWriteItemCommand)) return undefined;
      batchCalls++;
      if (batchCalls === 1) throw new ProvisionedThroughputExceededException({ message: 'injected', $metadata: { httpStatusCode: 400 } });
      if (batchCalls > 3) return undefined;
      // Send the first half for real and hand the rest back unprocessed.
      const requests = command.input.RequestItems?.[table] as WriteRequest[];
      const half = Math.ceil(requests.length / 2);
      return (async () => {
        await forward(new BatchWriteItemCommand({ RequestItems: { [table]: requests.slice(0, half) } }));
        return { UnprocessedItems: { [table]: requests.slice(half) } };
      })();
    });
    const slept: number[] = [];
    const { metrics, context } = testContext();
    const sink = dynamoDbSink({ ...keyOptions(table, client), concurrency: 3, sleep: async (ms) => void slept.push(ms), random: () => 0.5 }, context);
    const batch = sessions(200);

    await sink.write(batch);

    const items = await scanAll(real, table);
    expect(items.map((i) => i.sk)).toEqual(batch.map((e) => e.value.session_id));
    expect(forwarded.sort()).toEqual(batch.map((e) => e.value.session_id));
    expect(metrics.value('sink_retries_total', { step: 'sessions' })).toBe(3);
    expect(slept).toHaveLength(3);
    expect(slept.every((ms) => ms >= 0 && ms < 100)).toBe(true);
    expect(allDone(batch)).toBe(true);
  });

  it('sends refused records to dead letters with the reason and writes the rest', async () => {
    const table = await createTable({ prefix: 'ddb-dlq' });
    const real = dynamoClient();
    const { client, commands } = spy(real);
    const { dead, context } = testContext();
    const sink = dynamoDbSink(keyOptions(table, client), context);
    const batch: Envelope<Record<string, unknown>>[] = sessions(30);
    batch[3] = envelopeOf({ ...batch[3]?.value, blob: 'x'.repeat(410_000) }, {}, new CountingLease());
    batch[7] = envelopeOf({ ...batch[7]?.value, user_id: undefined }, {}, new CountingLease());
    // Passes every local check; DynamoDB refuses it (number overflow), failing its whole chunk.
    batch[12] = envelopeOf({ ...batch[12]?.value, huge: 1e200 }, {}, new CountingLease());

    await sink.write(batch);

    const items = await scanAll(real, table);
    expect(items.map((i) => i.sk)).toEqual(batch.filter((_, i) => ![3, 7, 12].includes(i)).map((e) => e.value.session_id));
    expect(dead.map((d) => d.envelope)).toEqual([batch[3], batch[7], batch[12]]);
    for (const d of dead) {
      expect(d.error).toBeInstanceOf(SinkPermanentError);
      expect(d.error.code).toBe('TRIB_SINK_PERMANENT');
      expect(d.stepId).toBe('sessions');
      expect(d.error.message).toContain(`table ${table}`);
    }
    expect(dead[0]?.error.message).toMatch(/item of \d+ bytes is over DynamoDB's 409600-byte limit \(table .*, key pk=USER#u3, sk=s00003\)/);
    expect(dead[1]?.error.message).toContain('partition key template "USER#{user_id}" has a missing field');
    expect(dead[2]?.error.message).toMatch(/DynamoDB refused the item: Number overflow.*key pk=USER#u12, sk=s00012/);
    // The chunk that held the overflow was rewritten item by item to isolate it.
    expect(commands.filter((c) => c === 'PutItemCommand')).toHaveLength(25);
    expect(allDone(batch)).toBe(true);
  });

  it('replaying a batch leaves the same items', async () => {
    const table = await createTable({ prefix: 'ddb-replay' });
    const real = dynamoClient();
    const { context } = testContext();
    const sink = dynamoDbSink(keyOptions(table, real), context);
    await sink.write(sessions(120));
    const first = await scanAll(real, table);
    await sink.write(sessions(120));
    expect(await scanAll(real, table)).toEqual(first);
    expect(first).toHaveLength(120);
  });

  it('keeps the last record per key within a batch and acknowledges the ones it replaces', async () => {
    const table = await createTable({ prefix: 'ddb-dup' });
    const real = dynamoClient();
    const { client, commands } = spy(real);
    const { metrics, dead, context } = testContext();
    const sink = dynamoDbSink(keyOptions(table, client), context);
    const batch = sessions(40);
    const same = (score: number) => envelopeOf({ user_id: 'u1', session_id: 's00001', score }, {}, new CountingLease());
    batch.splice(5, 0, same(100));
    batch.splice(30, 0, same(200));
    batch.push(same(300));

    const pending = sink.write(batch);
    expect(leases(batch).some((l) => l.done)).toBe(false);
    await pending;

    const items = await scanAll(real, table);
    expect(items).toHaveLength(40);
    expect(items.find((i) => i.sk === 's00001')).toEqual({ pk: 'USER#u1', sk: 's00001', user_id: 'u1', session_id: 's00001', score: 300 });
    expect(commands.filter((c) => c !== 'BatchWriteItemCommand')).toEqual([]);
    expect(metrics.value('sink_records_total', { step: 'sessions', outcome: 'superseded' })).toBe(3);
    expect(dead).toEqual([]);
    expect(allDone(batch)).toBe(true);
  });

  it('spreads a hot key over n shards deterministically; querying every shard finds every item', async () => {
    const table = await createTable({ prefix: 'ddb-shard' });
    const real = dynamoClient();
    const { context } = testContext();
    const sink = dynamoDbSink({ ...keyOptions(table, real), shards: 4 }, context);
    const batch = sessions(100, 1);
    await sink.write(batch);
    await sink.write(sessions(100, 1));

    const found: Record<string, unknown>[] = [];
    for (const pk of shardKeys('USER#u0', 4)) {
      const page = await real.send(new QueryCommand({ TableName: table, KeyConditionExpression: 'pk = :pk', ExpressionAttributeValues: marshall({ ':pk': pk }) }));
      const items = (page.Items ?? []).map((i) => unmarshall(i));
      expect(items.length).toBeGreaterThan(0);
      for (const item of items) expect(item.pk).toBe(`USER#u0#${shardOf(item.sk as string, 4)}`);
      found.push(...items);
    }
    expect(found.map((i) => i.sk).sort()).toEqual(batch.map((e) => e.value.session_id));
    expect(await scanAll(real, table)).toHaveLength(100);
  });
});

describe('dynamoDbSink (leases and failures)', () => {
  it('releases no lease before the write lands', async () => {
    const table = await createTable({ prefix: 'ddb-lease' });
    const real = dynamoClient();
    let entered!: () => void;
    const sent = new Promise<void>((r) => (entered = r));
    let open!: () => void;
    const gate = new Promise<void>((r) => (open = r));
    const { client } = spy(real, (command) => {
      if (!(command instanceof BatchWriteItemCommand)) return undefined;
      entered();
      return gate.then(() => real.send(command));
    });
    const { context } = testContext();
    const sink = dynamoDbSink(keyOptions(table, client), context);
    const batch = sessions(60);
    let resolved = false;
    const pending = sink.write(batch).then(() => (resolved = true));

    await sent;
    expect(leases(batch).map((l) => l.refs)).toEqual(batch.map(() => 1));
    expect(resolved).toBe(false);
    open();
    await pending;
    expect(allDone(batch)).toBe(true);
  });

  it('rejects with UnavailableError when a write failed for the outage timeout, leaving unwritten leases held', async () => {
    const table = await createTable({ prefix: 'ddb-exhaust' });
    const real = dynamoClient();
    const { client } = spy(real, (command) => {
      if (!(command instanceof BatchWriteItemCommand)) return undefined;
      const sks = (command.input.RequestItems?.[table] ?? []).map((r) => unmarshall(r.PutRequest?.Item ?? {}).sk);
      if (sks.includes('s00030')) throw Object.assign(new Error('injected'), { name: 'ThrottlingException', $metadata: { httpStatusCode: 400 } });
      return undefined;
    });
    const { metrics, dead, context } = testContext();
    // A virtual clock: each retry waits 50 ms, so the third failure comes 100 ms after the first.
    let now = 0;
    const clock = { now: () => now, sleep: async (ms: number) => void (now += ms), random: () => 0.5 };
    const sink = dynamoDbSink({ ...keyOptions(table, client), concurrency: 1, retry: { baseDelayMs: 100, maxDelayMs: 100 }, unavailableTimeoutMs: 100, ...clock }, context);
    const batch = sessions(60);

    const error = await sink.write(batch).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(UnavailableError);
    expect((error as UnavailableError).message).toMatch(/^dynamodb unavailable for 0 s, longer than its outage timeout; giving up: table .*: ThrottlingException: injected/);
    expect(leases(batch.slice(0, 25)).every((l) => l.done)).toBe(true);
    expect(leases(batch.slice(25, 50)).map((l) => l.refs)).toEqual(Array(25).fill(1));
    expect(leases(batch.slice(50)).map((l) => l.refs)).toEqual(Array(10).fill(1));
    expect((await scanAll(real, table)).map((i) => i.sk)).toEqual(batch.slice(0, 25).map((e) => e.value.session_id));
    expect(metrics.value('sink_retries_total', { step: 'sessions' })).toBe(2);
    expect(dead).toEqual([]);
  });

  it('rejects at once, dead-lettering nothing, when the table does not exist', async () => {
    const real = dynamoClient();
    const { dead, context } = testContext();
    const sink = dynamoDbSink(keyOptions('no-such-table', real), context);
    const batch = sessions(5);
    const error = await sink.write(batch).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SinkPermanentError);
    expect((error as Error).message).toContain('ResourceNotFoundException');
    expect(dead).toEqual([]);
    expect(leases(batch).every((l) => l.refs === 1)).toBe(true);
  });
});

describe('dynamoDbSink (max and add)', () => {
  const board = (user: string, score: number) => envelopeOf({ board: 'weekly', user_id: user, score }, {}, new CountingLease());

  it('max keeps the best score; a lower one is a counted, acknowledged no-op (the condition refuses it)', async () => {
    const table = await createTable({ prefix: 'ddb-max' });
    const real = dynamoClient();
    const { metrics, dead, context } = testContext();
    const sink = dynamoDbSink(
      {
        id: 'best',
        table,
        client: real,
        mode: 'max',
        update: { attribute: 'best', value: 'score' },
        partitionKey: { name: 'pk', value: 'BOARD#{board}' },
        sortKey: { name: 'sk', value: '{user_id}' },
        attributes: { last_score: 'score' },
        knownMaxKeys: 0,
      },
      context,
    );
    const get = async (user: string) =>
      unmarshall((await real.send(new GetItemCommand({ TableName: table, Key: marshall({ pk: 'BOARD#weekly', sk: user }) }))).Item ?? {});

    const all = [board('ann', 50), board('bob', 10)];
    await sink.write(all);
    expect(await get('ann')).toEqual({ pk: 'BOARD#weekly', sk: 'ann', best: 50, last_score: 50 });

    const lower = [board('ann', 30)];
    await sink.write(lower);
    expect(await get('ann')).toEqual({ pk: 'BOARD#weekly', sk: 'ann', best: 50, last_score: 50 });
    expect(metrics.value('sink_records_total', { step: 'best', outcome: 'condition_failed' })).toBe(1);

    // Same key several times in one write: only each key's highest is written (as applying them in
    // order would leave it), the others are acknowledged with it.
    const mixed = [board('ann', 60), board('bob', 5), board('ann', 90), board('ann', 70), board('bob', 40)];
    await sink.write(mixed);
    expect(await get('ann')).toMatchObject({ best: 90, last_score: 90 });
    expect(await get('bob')).toMatchObject({ best: 40, last_score: 40 });
    expect(metrics.value('sink_records_total', { step: 'best', outcome: 'condition_failed' })).toBe(1);
    expect(metrics.value('sink_records_total', { step: 'best', outcome: 'superseded' })).toBe(3);
    expect(metrics.value('sink_records_total', { step: 'best' })).toBe(4);
    expect(dead).toEqual([]);
    expect(allDone([...all, ...lower, ...mixed])).toBe(true);
  });

  it('max skips the request for a value not above the maximum it knows is stored, and forgets nothing it should not', async () => {
    const table = await createTable({ prefix: 'ddb-max-known' });
    const real = dynamoClient();
    const sent: string[] = [];
    const counting: DynamoSender = { send: (command) => (sent.push(command.constructor.name), real.send(command as never)) };
    const { metrics, context } = testContext();
    const options = {
      table,
      mode: 'max',
      update: { attribute: 'best', value: 'score' },
      partitionKey: { name: 'pk', value: 'BOARD#{board}' },
      sortKey: { name: 'sk', value: '{user_id}' },
    } as const;
    const sink = dynamoDbSink({ ...options, id: 'best', client: counting, knownMaxKeys: 2 }, context);
    const get = async (user: string) => unmarshall((await real.send(new GetItemCommand({ TableName: table, Key: marshall({ pk: 'BOARD#weekly', sk: user }) }))).Item ?? {});

    await sink.write([board('ann', 50)]);
    await sink.write([board('ann', 20), board('bob', 10)]);
    await sink.write([board('ann', 50)]);
    expect(sent).toHaveLength(2);
    expect(metrics.value('sink_records_total', { step: 'best', outcome: 'below_known_max' })).toBe(2);
    // Another writer raises ann to 80: the sink's 50 is still a floor; 70 is sent and refused by the condition.
    await real.send(new PutItemCommand({ TableName: table, Item: marshall({ pk: 'BOARD#weekly', sk: 'ann', best: 80 }) }));
    const later = [board('ann', 70), board('ann', 90)];
    for (const record of later) await sink.write([record]);
    expect(sent).toHaveLength(4);
    expect(metrics.value('sink_records_total', { step: 'best', outcome: 'condition_failed' })).toBe(1);
    expect(await get('ann')).toMatchObject({ best: 90 });
    // Bounded: with two keys remembered, a third pushes out the least recently used (bob), whose next value is sent.
    await sink.write([board('cat', 1)]);
    await sink.write([board('bob', 5)]);
    expect(sent).toHaveLength(6);
    expect(allDone(later)).toBe(true);

    // With a TTL on the table an item can expire with its maximum: nothing is skipped.
    const expiring = dynamoDbSink({ ...options, id: 'expiring', client: counting, ttl: { attribute: 'expires_at', afterMs: DAY_MS } }, context);
    const before = sent.length;
    await expiring.write([board('dan', 50)]);
    await expiring.write([board('dan', 20)]);
    expect(sent.length - before).toBe(2);
  });

  it('max writes strings of one key in order (no coalescing: DynamoDB orders strings by UTF-8 bytes)', async () => {
    const table = await createTable({ prefix: 'ddb-max-str' });
    const real = dynamoClient();
    const sent: string[] = [];
    const counting: DynamoSender = { send: (command) => (sent.push(command.constructor.name), real.send(command as never)) };
    const { context } = testContext();
    const sink = dynamoDbSink(
      { id: 'latest', table, client: counting, mode: 'max', update: { attribute: 'latest', value: 'at' }, partitionKey: { name: 'pk', value: 'U#{user_id}' }, sortKey: { name: 'sk', value: 'profile' } },
      context,
    );
    const at = (value: string) => envelopeOf({ user_id: 'ann', at: value }, {}, new CountingLease());
    const batch = [at('2024-05-01'), at('2024-06-01'), at('2024-05-15')];
    await sink.write(batch);
    expect(sent).toHaveLength(3);
    const item = unmarshall((await real.send(new GetItemCommand({ TableName: table, Key: marshall({ pk: 'U#ann', sk: 'profile' }) }))).Item ?? {});
    expect(item).toMatchObject({ latest: '2024-06-01' });
    expect(allDone(batch)).toBe(true);
  });

  it('add sums a counter (not idempotent: a replay adds again)', async () => {
    const table = await createTable({ prefix: 'ddb-add' });
    const real = dynamoClient();
    const { context } = testContext();
    const sink = dynamoDbSink(
      { id: 'totals', table, client: real, mode: 'add', update: { attribute: 'total', value: 'score' }, attributes: ['board'], partitionKey: { name: 'pk', value: 'BOARD#{board}' }, sortKey: { name: 'sk', value: '{user_id}' } },
      context,
    );
    const batch = [board('ann', 5), board('ann', 7), board('bob', 1)];
    await sink.write(batch);
    await sink.write([board('ann', 5)]);
    const items = await scanAll(real, table);
    // Each update also leaves its write id (what makes a retry after a timeout safe).
    const writeId = expect.stringMatching(/^[0-9a-f-]{36}$/);
    expect(items).toEqual([
      { pk: 'BOARD#weekly', sk: 'ann', board: 'weekly', total: 17, tributary_write_id: writeId },
      { pk: 'BOARD#weekly', sk: 'bob', board: 'weekly', total: 1, tributary_write_id: writeId },
    ]);
    expect(allDone(batch)).toBe(true);
  });
});

describe('scanTable and countItems', () => {
  it('read every page of a table larger than one Scan page (1 MB)', async () => {
    const table = await createTable({ prefix: 'ddb-scan' });
    const client = dynamoClient();
    const pad = 'x'.repeat(8000);
    const items = Array.from({ length: 200 }, (_, i) => ({ pk: 'p', sk: String(i).padStart(3, '0'), pad }));
    for (let i = 0; i < items.length; i += 25) {
      await client.send(new BatchWriteItemCommand({ RequestItems: { [table]: items.slice(i, i + 25).map((item) => ({ PutRequest: { Item: marshall(item) } })) } }));
    }
    expect(await countItems(client, table)).toBe(200);
    expect((await scanTable(client, table)).map((item) => item.sk).sort()).toEqual(items.map((item) => item.sk));
  });
});

describe('ensureTable', () => {
  it('creates a missing on-demand table with TTL once, then leaves it be', async () => {
    const real = dynamoClient();
    const table = uniqueName('ddb-ensure');
    const definition = tableDefinitionOf({
      table,
      partitionKey: { name: 'user_id', value: '{user_id}' },
      sortKey: { name: 'session_start_time', value: '{timestamp}', type: 'number' },
      ttl: { attribute: 'expires_at', afterMs: DAY_MS },
    });
    try {
      expect(await ensureTable(real, definition)).toBe(true);
      expect(await ensureTable(real, definition)).toBe(false);
      const described = (await real.send(new DescribeTableCommand({ TableName: table }))).Table;
      expect(described?.KeySchema).toEqual([
        { AttributeName: 'user_id', KeyType: 'HASH' },
        { AttributeName: 'session_start_time', KeyType: 'RANGE' },
      ]);
      expect(described?.AttributeDefinitions).toContainEqual({ AttributeName: 'session_start_time', AttributeType: 'N' });
      expect(described?.BillingModeSummary?.BillingMode).toBe('PAY_PER_REQUEST');
      const ttl = (await real.send(new DescribeTimeToLiveCommand({ TableName: table }))).TimeToLiveDescription;
      expect(ttl).toMatchObject({ AttributeName: 'expires_at', TimeToLiveStatus: 'ENABLED' });
      // The same table keyed otherwise (user_sessions before sessions had ids): refused, by name.
      await expect(ensureTable(real, { ...definition, sortKey: { name: 'session_id', type: 'string' } })).rejects.toThrow(
        `table ${table} exists with key (user_id, session_start_time), but is written with key (user_id, session_id): delete it or use another table name`,
      );
    } finally {
      await real.send(new DeleteTableCommand({ TableName: table })).catch(() => {});
    }
  });
});
