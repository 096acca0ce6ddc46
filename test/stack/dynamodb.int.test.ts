import { BatchWriteItemCommand, GetItemCommand, QueryCommand } from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import { describe, expect, it } from 'vitest';
import { createTable, dynamoClient } from '../support/stack.ts';

describe('DynamoDB Local', () => {
  it('writes items in batches and queries them back by key', async () => {
    const table = await createTable({ prefix: 'stack' });
    const client = dynamoClient();
    const items = Array.from({ length: 60 }, (_, i) => ({ pk: `USER#${i % 3}`, sk: `S#${String(i).padStart(3, '0')}`, score: i }));
    for (let i = 0; i < items.length; i += 25) {
      const chunk = items.slice(i, i + 25).map((item) => ({ PutRequest: { Item: marshall(item) } }));
      const result = await client.send(new BatchWriteItemCommand({ RequestItems: { [table]: chunk } }));
      expect(Object.keys(result.UnprocessedItems ?? {})).toHaveLength(0);
    }

    const page = await client.send(
      new QueryCommand({
        TableName: table,
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :s)',
        ExpressionAttributeValues: marshall({ ':pk': 'USER#1', ':s': 'S#' }),
      }),
    );
    const got = (page.Items ?? []).map((i) => unmarshall(i));
    expect(got).toHaveLength(20);
    expect(got.map((i) => i.score)).toEqual(items.filter((i) => i.pk === 'USER#1').map((i) => i.score));

    const one = await client.send(new GetItemCommand({ TableName: table, Key: marshall({ pk: 'USER#2', sk: 'S#005' }) }));
    expect(unmarshall(one.Item ?? {})).toEqual({ pk: 'USER#2', sk: 'S#005', score: 5 });
  });
});
