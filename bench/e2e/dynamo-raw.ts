/** The raw BatchWriteItem rate and request latency of the DynamoDB server, as in bench/dynamodb.bench.ts: the ceiling of any DynamoDB sink. */
import { BatchWriteItemCommand, CreateTableCommand, DeleteTableCommand, type WriteRequest } from '@aws-sdk/client-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import { createDynamoClient, localStack } from '../../src/config.ts';
import { uniqueId } from '../baselines/common.ts';

/** The server's own figures: items/s, and each BatchWriteItem request's latency. */
export interface RawDynamo {
  readonly itemsPerSec: number;
  readonly requestP50Ms: number;
  readonly requestP99Ms: number;
}

/** Writes `items` small items as BatchWriteItem(25), `concurrency` in flight; returns items/s and request latencies. */
export async function rawBatchWrite(items = 4000, concurrency = 8): Promise<RawDynamo> {
  const client = createDynamoClient(localStack().connections);
  const table = uniqueId('e2e-raw');
  await client.send(new CreateTableCommand({ TableName: table, BillingMode: 'PAY_PER_REQUEST', KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }], AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }] }));
  try {
    const chunks: WriteRequest[][] = [];
    for (let i = 0; i < items; i += 25) {
      chunks.push(Array.from({ length: Math.min(25, items - i) }, (_, j) => ({ PutRequest: { Item: marshall({ pk: `k${i + j}`, user_id: `u${(i + j) % 5000}`, amount: (i + j) % 100, currency: 'USD', timestamp: new Date().toISOString() }) } })));
    }
    const started = performance.now();
    const latencies: number[] = [];
    let next = 0;
    const worker = async () => {
      while (next < chunks.length) {
        let requests = chunks[next++] as WriteRequest[];
        while (requests.length > 0) {
          const sent = performance.now();
          const out = await client.send(new BatchWriteItemCommand({ RequestItems: { [table]: requests } }));
          latencies.push(performance.now() - sent);
          requests = out.UnprocessedItems?.[table] ?? [];
        }
      }
    };
    await Promise.all(Array.from({ length: concurrency }, worker));
    const itemsPerSec = items / ((performance.now() - started) / 1000);
    const sorted = Float64Array.from(latencies).sort();
    const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] as number;
    return { itemsPerSec, requestP50Ms: at(0.5), requestP99Ms: at(0.99) };
  } finally {
    await client.send(new DeleteTableCommand({ TableName: table })).catch(() => {});
    client.destroy();
  }
}
