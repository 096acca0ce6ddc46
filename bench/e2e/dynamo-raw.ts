/** The raw BatchWriteItem rate of the DynamoDB server, as in bench/dynamodb.bench.ts: the ceiling of any DynamoDB sink. */
import { BatchWriteItemCommand, CreateTableCommand, DeleteTableCommand, type WriteRequest } from '@aws-sdk/client-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import { createDynamoClient, localStack } from '../../src/config.ts';
import { uniqueId } from '../baselines/common.ts';

/** Writes `items` small items as BatchWriteItem(25), `concurrency` in flight; returns items/s. */
export async function rawBatchWriteRate(items = 4000, concurrency = 8): Promise<number> {
  const client = createDynamoClient(localStack().connections);
  const table = uniqueId('e2e-raw');
  await client.send(new CreateTableCommand({ TableName: table, BillingMode: 'PAY_PER_REQUEST', KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }], AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }] }));
  try {
    const chunks: WriteRequest[][] = [];
    for (let i = 0; i < items; i += 25) {
      chunks.push(Array.from({ length: Math.min(25, items - i) }, (_, j) => ({ PutRequest: { Item: marshall({ pk: `k${i + j}`, user_id: `u${(i + j) % 5000}`, amount: (i + j) % 100, currency: 'USD', timestamp: new Date().toISOString() }) } })));
    }
    const started = performance.now();
    let next = 0;
    const worker = async () => {
      while (next < chunks.length) {
        let requests = chunks[next++] as WriteRequest[];
        while (requests.length > 0) {
          const out = await client.send(new BatchWriteItemCommand({ RequestItems: { [table]: requests } }));
          requests = out.UnprocessedItems?.[table] ?? [];
        }
      }
    };
    await Promise.all(Array.from({ length: concurrency }, worker));
    return items / ((performance.now() - started) / 1000);
  } finally {
    await client.send(new DeleteTableCommand({ TableName: table })).catch(() => {});
    client.destroy();
  }
}
