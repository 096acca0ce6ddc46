import {
  CreateTableCommand,
  DescribeTableCommand,
  DescribeTimeToLiveCommand,
  ScanCommand,
  UpdateTimeToLiveCommand,
  type AttributeDefinition,
  type DynamoDBClient,
  type KeySchemaElement,
} from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { setTimeout as delay } from 'node:timers/promises';
import type { DynamoItemOptions } from './dynamodb-item.ts';

/** The shape of a table as the sink writes it. */
export interface TableDefinition {
  readonly table: string;
  readonly partitionKey: { readonly name: string; readonly type?: 'string' | 'number' };
  readonly sortKey?: { readonly name: string; readonly type?: 'string' | 'number' };
  /** Enables DynamoDB TTL on this attribute. */
  readonly ttlAttribute?: string;
}

/** The table a sink's options imply. */
export function tableDefinitionOf(options: DynamoItemOptions & { readonly table: string }): TableDefinition {
  return {
    table: options.table,
    partitionKey: { name: options.partitionKey.name, type: options.partitionKey.type ?? 'string' },
    ...(options.sortKey ? { sortKey: { name: options.sortKey.name, type: options.sortKey.type ?? 'string' } } : {}),
    ...(options.ttl ? { ttlAttribute: options.ttl.attribute } : {}),
  };
}

/**
 * Creates the table (on-demand, `PAY_PER_REQUEST`) if it is missing and enables TTL when asked.
 * For the local stack and the demo: in production tables belong to infrastructure code, and the
 * sink never creates them.
 *
 * ```ts
 * await ensureTable(client, tableDefinitionOf(sinkOptions));
 * ```
 * @returns whether the table was created
 */
export async function ensureTable(client: DynamoDBClient, definition: TableDefinition, timeoutMs = 60_000): Promise<boolean> {
  const { table } = definition;
  let created = false;
  if (!(await tableStatus(client, table))) {
    const keys: KeySchemaElement[] = [{ AttributeName: definition.partitionKey.name, KeyType: 'HASH' }];
    const attributes: AttributeDefinition[] = [{ AttributeName: definition.partitionKey.name, AttributeType: scalar(definition.partitionKey.type) }];
    if (definition.sortKey) {
      keys.push({ AttributeName: definition.sortKey.name, KeyType: 'RANGE' });
      attributes.push({ AttributeName: definition.sortKey.name, AttributeType: scalar(definition.sortKey.type) });
    }
    try {
      await client.send(new CreateTableCommand({ TableName: table, BillingMode: 'PAY_PER_REQUEST', KeySchema: keys, AttributeDefinitions: attributes }));
      created = true;
    } catch (error) {
      // Someone else created it meanwhile.
      if ((error as Error).name !== 'ResourceInUseException') throw error;
    }
  }
  const deadline = performance.now() + timeoutMs;
  while ((await tableStatus(client, table)) !== 'ACTIVE') {
    if (performance.now() > deadline) throw new Error(`table ${table} did not become ACTIVE within ${timeoutMs} ms`);
    await delay(200);
  }
  if (!created) await checkKeys(client, definition);
  if (definition.ttlAttribute !== undefined) {
    const ttl = await client.send(new DescribeTimeToLiveCommand({ TableName: table }));
    const status = ttl.TimeToLiveDescription?.TimeToLiveStatus;
    if (status !== 'ENABLED' && status !== 'ENABLING') {
      await client.send(new UpdateTimeToLiveCommand({ TableName: table, TimeToLiveSpecification: { AttributeName: definition.ttlAttribute, Enabled: true } }));
    }
  }
  return created;
}

/** An existing table keyed otherwise would refuse every write: say so now, not in dead letters. */
async function checkKeys(client: DynamoDBClient, definition: TableDefinition): Promise<void> {
  const out = await client.send(new DescribeTableCommand({ TableName: definition.table }));
  const schema = out.Table?.KeySchema;
  if (schema === undefined) return;
  const has = [schema.find((k) => k.KeyType === 'HASH')?.AttributeName, schema.find((k) => k.KeyType === 'RANGE')?.AttributeName];
  const wants = [definition.partitionKey.name, definition.sortKey?.name];
  if (has[0] === wants[0] && has[1] === wants[1]) return;
  const text = (k: (string | undefined)[]) => k.filter(Boolean).join(', ');
  throw new Error(`table ${definition.table} exists with key (${text(has)}), but is written with key (${text(wants)}): delete it or use another table name`);
}

const scalar = (type: 'string' | 'number' | undefined) => (type === 'number' ? 'N' : 'S');

async function tableStatus(client: DynamoDBClient, table: string): Promise<string | undefined> {
  try {
    const out = await client.send(new DescribeTableCommand({ TableName: table }));
    return out.Table?.TableStatus ?? 'ACTIVE';
  } catch (error) {
    if ((error as Error).name === 'ResourceNotFoundException') return undefined;
    throw error;
  }
}

/** Every item of a table, unmarshalled, across all Scan pages (tooling and tests: the sinks never scan). */
export async function scanTable(client: DynamoDBClient, table: string): Promise<Record<string, unknown>[]> {
  const items: Record<string, unknown>[] = [];
  let start: Record<string, never> | undefined;
  do {
    const page = await client.send(new ScanCommand({ TableName: table, ExclusiveStartKey: start }));
    for (const item of page.Items ?? []) items.push(unmarshall(item));
    start = page.LastEvaluatedKey as Record<string, never> | undefined;
  } while (start);
  return items;
}

/** The number of items of a table, across all Scan pages (one page stops at 1 MB read). */
export async function countItems(client: DynamoDBClient, table: string): Promise<number> {
  let count = 0;
  let start: Record<string, never> | undefined;
  do {
    const page = await client.send(new ScanCommand({ TableName: table, Select: 'COUNT', ExclusiveStartKey: start }));
    count += page.Count ?? 0;
    start = page.LastEvaluatedKey as Record<string, never> | undefined;
  } while (start);
  return count;
}
