import { isDeepStrictEqual } from 'node:util';
import { DeleteTableCommand } from '@aws-sdk/client-dynamodb';
import { Consumer, MessagesStreamModes, Producer, stringSerializers } from '@platformatic/kafka';
import { describe, expect, it, onTestFinished } from 'vitest';
import { connectionsFromEnv } from '../../src/config.ts';
import { scanTable } from '../../src/sinks/dynamodb-table.ts';
import { provisionTopology, topicsOf } from '../../src/topology/provision.ts';
import { startTopology } from '../../src/topology/run.ts';
import { validateTopology } from '../../src/topology/validate.ts';
import { brokers, dynamoClient, kafkaAdmin, uniqueName } from '../support/stack.ts';

const T0 = Date.UTC(2026, 10, 23, 10, 0, 0);

/** A change as an upstream CDC export sends it: awkward names and the new image as a JSON string. */
interface Change {
  'Player ID': string;
  Op: 'INSERT' | 'MODIFY' | 'REMOVE';
  updatedAt: string;
  'Sequence Number': number;
  NewImage?: string;
}

async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs = 150_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

async function readTopic(topic: string, count: number): Promise<{ value: string; headers: Record<string, string> }[]> {
  const consumer = new Consumer({ groupId: uniqueName('read'), clientId: uniqueName('read'), bootstrapBrokers: brokers });
  const stream = await consumer.consume({ topics: [topic], mode: MessagesStreamModes.EARLIEST, autocommit: false, maxWaitTime: 200 });
  const out: { value: string; headers: Record<string, string> }[] = [];
  const deadline = Date.now() + 30_000;
  const timer = setInterval(() => Date.now() > deadline && void stream.close(), 500);
  for await (const message of stream) {
    out.push({ value: String(message.value), headers: Object.fromEntries([...message.headers].map(([k, v]) => [String(k), String(v)])) });
    if (out.length >= count) break;
  }
  clearInterval(timer);
  await stream.close();
  await consumer.close();
  return out;
}

describe('a CDC topology end to end on the real stack: parse-field, rename and dynamodb mode latest', () => {
  it('applies shuffled and duplicated changes from Kafka as their version order would, with deletes', async () => {
    const tag = uniqueName('cdc');
    const env = { ...process.env, TRIBUTARY_COMMIT_INTERVAL_MS: '1000' };
    const table = `${tag}_players`;
    const topology = validateTopology(
      {
        name: 'cdc',
        sources: [{ id: 'changes', topics: [`${tag}-changes`], group: tag, startFrom: 'earliest' }],
        deadLetters: { topic: `${tag}-dead-letters` },
        steps: [
          { id: 'parse', kind: 'parse', from: 'changes' },
          { id: 'image', kind: 'parse-field', from: 'parse', field: 'NewImage', maxDepth: 8 },
          { id: 'names', kind: 'rename', from: 'image', fields: { NewImage: 'player' }, normalize: 'snake_case' },
        ],
        sinks: [
          {
            id: 'players',
            kind: 'dynamodb',
            from: 'names',
            table,
            partitionKey: { name: 'player_id', value: '{player_id}' },
            mode: 'latest',
            version: ['updated_at', 'sequence_number'],
            delete: "op == 'REMOVE'",
            attributes: { player: 'player', op: 'op' },
          },
        ],
      },
      { env: {} },
    );
    await provisionTopology(topology, connectionsFromEnv(env));
    onTestFinished(async () => {
      const cleanup = dynamoClient();
      await cleanup.send(new DeleteTableCommand({ TableName: table })).catch(() => {});
      const admin = kafkaAdmin();
      try {
        await admin.deleteTopics({ topics: topicsOf(topology) });
      } finally {
        await admin.close();
      }
    });

    const at = (s: number) => new Date(T0 + s * 1000).toISOString();
    const image = (level: number) => JSON.stringify({ levelReached: level, 'Display Name': `P${level}` });
    // p1: inserted, modified twice in one second (the sequence number decides), deleted, and an old
    // modification arrives after the delete. p2: inserted, modified. p3: deleted, then inserted again.
    const changes: Change[] = [
      { 'Player ID': 'p1', Op: 'INSERT', updatedAt: at(0), 'Sequence Number': 1, NewImage: image(1) },
      { 'Player ID': 'p1', Op: 'MODIFY', updatedAt: at(5), 'Sequence Number': 2, NewImage: image(2) },
      { 'Player ID': 'p1', Op: 'MODIFY', updatedAt: at(5), 'Sequence Number': 3, NewImage: image(3) },
      { 'Player ID': 'p1', Op: 'REMOVE', updatedAt: at(9), 'Sequence Number': 4 },
      { 'Player ID': 'p2', Op: 'INSERT', updatedAt: at(1), 'Sequence Number': 1, NewImage: image(5) },
      { 'Player ID': 'p2', Op: 'MODIFY', updatedAt: at(2), 'Sequence Number': 2, NewImage: image(6) },
      { 'Player ID': 'p3', Op: 'REMOVE', updatedAt: at(3), 'Sequence Number': 7 },
      { 'Player ID': 'p3', Op: 'INSERT', updatedAt: at(3), 'Sequence Number': 8, NewImage: image(9) },
    ];
    const delivered = [changes[3], changes[7], changes[2], changes[5], changes[0], changes[2], changes[6], changes[1], changes[4], changes[3], changes[5]] as Change[];
    const malformed = { 'Player ID': 'p4', Op: 'INSERT', updatedAt: at(0), 'Sequence Number': 1, NewImage: '{"levelReached": ' };

    const producer = new Producer({ clientId: tag, bootstrapBrokers: brokers, serializers: stringSerializers, idempotent: true, acks: -1 });
    await producer.send({ messages: [...delivered, malformed].map((c) => ({ topic: `${tag}-changes`, key: c['Player ID'], value: JSON.stringify(c) })) });
    await producer.close();

    // The table applying the changes in version order gives: p1's tombstone, p2's last image, p3 back.
    const expected = [
      { player_id: 'p1', updated_at: at(9), sequence_number: 4, _deleted: true },
      { player_id: 'p2', updated_at: at(2), sequence_number: 2, op: 'MODIFY', player: { level_reached: 6, display_name: 'P6' } },
      { player_id: 'p3', updated_at: at(3), sequence_number: 8, op: 'INSERT', player: { level_reached: 9, display_name: 'P9' } },
    ];
    const client = dynamoClient();
    const items = async () => (await scanTable(client, table)).sort((a, b) => String(a.player_id).localeCompare(String(b.player_id)));
    const started = startTopology(topology, env);
    try {
      // Reaching it is not enough for a wrong sink to pass: every later (older) change must then be refused, checked after shutdown.
      await waitFor('the table of the last versions', async () => isDeepStrictEqual(await items(), expected)).catch(async (error: unknown) => {
        expect(await items()).toEqual(expected);
        throw error;
      });
      const [dead] = await readTopic(`${tag}-dead-letters`, 1);
      expect([dead?.headers['tributary.step'], dead?.headers['tributary.error.code'], JSON.parse(dead?.value ?? '{}')['Player ID']]).toEqual(['image', 'TRIB_DECODE', 'p4']);
    } finally {
      await started.runtime.shutdown('test done');
      await started.done;
      started.close();
    }
    expect(await items()).toEqual(expected);
  });
});
