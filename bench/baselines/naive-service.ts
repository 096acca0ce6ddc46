/**
 * What a team would write without Tributary: kafkajs `eachMessage`, `JSON.parse`, an in-memory Set
 * for dedup, then per event a DynamoDB PutItem of the event and an UpdateItem of its game's
 * per-minute counter, each awaited in turn. Correct, and naive.
 */
import { CreateTableCommand, DeleteTableCommand, PutItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import { Kafka, logLevel } from 'kafkajs';
import { connectionsFromEnv, createDynamoClient } from '../../src/config.ts';
import { EVENT_TYPES } from '../generator/events.ts';
import { countRecords, deleteGroup, result, runInChild, uniqueId, type BaselineResult } from './common.ts';

export interface NaiveServiceOptions {
  topics: string[];
  brokers?: string[];
  /** Stop after this many records (DynamoDB Local is slow). Default 20 000. */
  maxEvents?: number;
}

const KNOWN = new Set<string>(EVENT_TYPES);

interface Event {
  event_id: string;
  user_id: string;
  event_type: string;
  event_data: Record<string, unknown>;
  timestamp: string;
}

function validate(value: unknown): Event | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const e = value as Partial<Event>;
  if (typeof e.event_id !== 'string' || typeof e.user_id !== 'string' || typeof e.event_type !== 'string' || !KNOWN.has(e.event_type)) return undefined;
  if (typeof e.timestamp !== 'string' || Number.isNaN(Date.parse(e.timestamp))) return undefined;
  if (typeof e.event_data !== 'object' || e.event_data === null) return undefined;
  const data = e.event_data;
  if ('amount' in data && typeof data.amount !== 'number') return undefined;
  if ('score' in data && typeof data.score !== 'number') return undefined;
  return e as Event;
}

/** Runs the naive service over the topics in this process until `maxEvents` records are handled. */
export async function measureNaiveService(options: NaiveServiceOptions): Promise<BaselineResult> {
  const connections = connectionsFromEnv();
  const brokers = options.brokers ?? [...connections.brokers];
  const available = await countRecords(brokers, options.topics);
  const target = Math.min(options.maxEvents ?? 20_000, available);
  const dynamo = createDynamoClient(connections);
  const eventsTable = uniqueId('naive-events');
  const countersTable = uniqueId('naive-counters');
  for (const name of [eventsTable, countersTable]) {
    await dynamo.send(new CreateTableCommand({
      TableName: name,
      BillingMode: 'PAY_PER_REQUEST',
      KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
      AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
    }));
  }
  const kafka = new Kafka({ clientId: uniqueId('naive'), brokers, logLevel: logLevel.NOTHING });
  const groupId = uniqueId('naive');
  const consumer = kafka.consumer({ groupId });
  const seen = new Set<string>();
  let handled = 0;
  let invalid = 0;
  let duplicates = 0;
  let puts = 0;
  let updates = 0;
  const startedMs = performance.now();
  let firstMs = 0;
  try {
    await consumer.connect();
    await consumer.subscribe({ topics: options.topics, fromBeginning: true });
    const endMs = await new Promise<number>((resolve, reject) => {
      consumer.run({
        eachMessage: async ({ message }) => {
          if (handled >= target) return;
          if (handled === 0) firstMs = performance.now();
          let event: Event | undefined;
          try {
            event = validate(JSON.parse(message.value?.toString('utf8') ?? ''));
          } catch {
            event = undefined;
          }
          if (event === undefined) invalid++;
          else if (seen.has(event.event_id)) duplicates++;
          else {
            seen.add(event.event_id);
            await dynamo.send(new PutItemCommand({ TableName: eventsTable, Item: marshall({ pk: event.event_id, ...event }, { removeUndefinedValues: true }) }));
            puts++;
            const gameId = event.event_data.game_id;
            if (typeof gameId === 'string') {
              const minute = new Date(Math.floor(Date.parse(event.timestamp) / 60_000) * 60_000).toISOString();
              const amount = event.event_type === 'purchase' ? (event.event_data.amount as number) : 0;
              await dynamo.send(new UpdateItemCommand({
                TableName: countersTable,
                Key: { pk: { S: `${gameId}#${minute}` } },
                UpdateExpression: 'ADD events :one, revenue :amount',
                ExpressionAttributeValues: { ':one': { N: '1' }, ':amount': { N: String(amount) } },
              }));
              updates++;
            }
          }
          handled++;
          if (handled === target) resolve(performance.now());
        },
      }).catch(reject);
    });
    return result('naive kafkajs + DynamoDB service', handled, { startedMs, firstMs, endMs }, { available, invalid, duplicates, puts, updates });
  } finally {
    await consumer.disconnect().catch(() => {});
    await deleteGroup(brokers, groupId);
    for (const name of [eventsTable, countersTable]) await dynamo.send(new DeleteTableCommand({ TableName: name })).catch(() => {});
    dynamo.destroy();
  }
}

/** {@link measureNaiveService} in a separate process. */
export function naiveService(options: NaiveServiceOptions): Promise<BaselineResult> {
  return runInChild(import.meta.url, 'measureNaiveService', options);
}
