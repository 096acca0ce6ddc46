/**
 * DynamoDB sink against the raw `BatchWriteItem` rate of the same DynamoDB Local, in one run.
 * DynamoDB Local bounds both (STACK.md), so the ratio sink / raw is the figure that matters; the
 * no-op client row is the sink's own CPU cost per item (mapping, marshalling, chunking, leases).
 * Raw and sink rounds alternate so JVM warm-up favours neither.
 *
 *   node_modules/.bin/node bench/dynamodb.bench.ts                          # 4,000 items, 3 rounds
 *   BENCH_ITEMS=20000 BENCH_ROUNDS=3 node_modules/.bin/node bench/dynamodb.bench.ts
 *
 * Writes bench/out/dynamodb.json and prints a Markdown table.
 */
import { BatchWriteItemCommand, CreateTableCommand, DeleteTableCommand, type WriteRequest } from '@aws-sdk/client-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { createDynamoClient, localStack } from '../src/config.ts';
import { CountingLease, envelopeOf, type Envelope } from '../src/core/envelope.ts';
import { silentLogger } from '../src/core/logger.ts';
import { Metrics } from '../src/core/metrics.ts';
import { MARSHALL_OPTIONS } from '../src/sinks/dynamodb-item.ts';
import { dynamoDbSink, type DynamoSender } from '../src/sinks/dynamodb.ts';
import { Rng } from './generator/random.ts';

const ITEMS = Number(process.env.BENCH_ITEMS ?? 4_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const CONCURRENCY = 8;
const OUT = fileURLToPath(new URL('./out/', import.meta.url));

interface Session {
  user_id: string;
  session_id: string;
  platform: string;
  country: string;
  duration_ms: number;
  events: number;
  revenue: number;
  event_data: { level: number; build: string };
}

function sessions(n: number, round: number): Session[] {
  const rng = new Rng(round + 1);
  return Array.from({ length: n }, (_, i) => ({
    user_id: `u${rng.int(5_000)}`,
    session_id: `r${round}-${rng.hex(8)}-${i}`,
    platform: rng.pick(['ios', 'android', 'pc', 'console']),
    country: rng.pick(['US', 'DE', 'BR', 'JP', 'KR', 'FR']),
    duration_ms: Math.round(rng.exponential(600_000)),
    events: rng.between(1, 400),
    revenue: Math.round(rng.exponential(2) * 100) / 100,
    event_data: { level: rng.between(1, 80), build: `1.${rng.int(40)}.${rng.int(10)}` },
  }));
}

const connections = localStack().connections;
const client = createDynamoClient(connections);

async function createTable(): Promise<string> {
  const name = `bench-ddb-${randomBytes(4).toString('hex')}`;
  await client.send(
    new CreateTableCommand({
      TableName: name,
      BillingMode: 'PAY_PER_REQUEST',
      KeySchema: [
        { AttributeName: 'pk', KeyType: 'HASH' },
        { AttributeName: 'sk', KeyType: 'RANGE' },
      ],
      AttributeDefinitions: [
        { AttributeName: 'pk', AttributeType: 'S' },
        { AttributeName: 'sk', AttributeType: 'S' },
      ],
    }),
  );
  return name;
}

/** The hand-written rival: marshall, 25-item BatchWriteItem, 8 in flight, resend what comes back unprocessed. */
async function raw(table: string, rows: readonly Session[]): Promise<void> {
  const chunks: Session[][] = [];
  for (let i = 0; i < rows.length; i += 25) chunks.push(rows.slice(i, i + 25));
  let next = 0;
  const worker = async () => {
    while (next < chunks.length) {
      const chunk = chunks[next++] as Session[];
      let requests: WriteRequest[] = chunk.map((s) => ({ PutRequest: { Item: marshall({ pk: `USER#${s.user_id}`, sk: s.session_id, ...s }, MARSHALL_OPTIONS) } }));
      while (requests.length > 0) {
        const out = await client.send(new BatchWriteItemCommand({ RequestItems: { [table]: requests } }));
        requests = out.UnprocessedItems?.[table] ?? [];
      }
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
}

async function viaSink(table: string, rows: readonly Session[], batchSize: number, sender: DynamoSender = client): Promise<void> {
  const context = { metrics: new Metrics(), logger: silentLogger, deadLetter: () => {} };
  const sink = dynamoDbSink(
    { id: 'bench', table, client: sender, concurrency: CONCURRENCY, partitionKey: { name: 'pk', value: 'USER#{user_id}' }, sortKey: { name: 'sk', value: '{session_id}' } },
    context,
  );
  const envelopes: Envelope<Session>[] = rows.map((s, i) => envelopeOf(s, { offset: i }, new CountingLease()));
  for (let i = 0; i < envelopes.length; i += batchSize) await sink.write(envelopes.slice(i, i + batchSize));
  await sink.close();
  if (!envelopes.every((e) => (e.lease as CountingLease).done)) throw new Error('sink left leases held');
}

const noopClient: DynamoSender = { send: async () => ({ UnprocessedItems: {} }) };

interface Row {
  contender: string;
  itemsPerSecond: number[];
}

const rows: Row[] = [
  { contender: `raw BatchWriteItem(25), concurrency ${CONCURRENCY}`, itemsPerSecond: [] },
  { contender: 'sink, write batches of 1000', itemsPerSecond: [] },
  { contender: 'sink, write batches of 100', itemsPerSecond: [] },
  { contender: 'sink, no-op client (own CPU cost)', itemsPerSecond: [] },
];

async function timed(row: Row, run: () => Promise<void>): Promise<void> {
  const started = performance.now();
  await run();
  row.itemsPerSecond.push(Math.round(ITEMS / ((performance.now() - started) / 1000)));
}

const median = (xs: readonly number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

const tables: string[] = [];
try {
  const warm = await createTable();
  tables.push(warm);
  await raw(warm, sessions(Math.min(ITEMS, 1_000), 99));
  for (let round = 0; round < ROUNDS; round++) {
    const [rawRow, big, small, cpu] = rows as [Row, Row, Row, Row];
    const order = round % 2 === 0 ? [rawRow, big, small] : [small, big, rawRow];
    for (const row of order) {
      const table = await createTable();
      tables.push(table);
      const data = sessions(ITEMS, round);
      if (row === rawRow) await timed(row, () => raw(table, data));
      else await timed(row, () => viaSink(table, data, row === big ? 1_000 : 100));
    }
    const data = sessions(ITEMS, round);
    await timed(cpu, () => viaSink('none', data, 1_000, noopClient));
  }
} finally {
  for (const table of tables) await client.send(new DeleteTableCommand({ TableName: table })).catch(() => {});
  client.destroy();
}

const rawMedian = median((rows[0] as Row).itemsPerSecond);
const results = rows.map((r) => ({ ...r, median: median(r.itemsPerSecond), ratioToRaw: Math.round((median(r.itemsPerSecond) / rawMedian) * 100) / 100 }));
console.log(`\n${ITEMS} items per round, ${ROUNDS} rounds, DynamoDB Local at ${connections.dynamodbEndpoint}\n`);
console.log('| contender | items/s (median) | per round | ratio to raw |');
console.log('|---|---:|---|---:|');
for (const r of results) console.log(`| ${r.contender} | ${r.median} | ${r.itemsPerSecond.join(', ')} | ${r.ratioToRaw} |`);
mkdirSync(OUT, { recursive: true });
writeFileSync(`${OUT}dynamodb.json`, JSON.stringify({ items: ITEMS, rounds: ROUNDS, concurrency: CONCURRENCY, at: new Date().toISOString(), results }, null, 2));
