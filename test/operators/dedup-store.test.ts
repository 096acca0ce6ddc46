import { ConditionalCheckFailedException, GetItemCommand, PutItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { describe, expect, it } from 'vitest';
import { DynamoDedupStore } from '../../src/operators/dedup-store.ts';

const stored = { pk: { S: 'a' }, origin_topic: { S: 't' }, origin_partition: { N: '2' }, origin_offset: { N: '9' } };
const conditionFailed = (item?: object) =>
  Object.assign(new ConditionalCheckFailedException({ message: 'The conditional request failed', $metadata: {} }), item === undefined ? {} : { Item: item });

/** A client whose `send` answers from `reply`, recording the command names. */
function fakeClient(reply: (command: unknown, call: number) => unknown) {
  const sent: string[] = [];
  const client = {
    async send(command: unknown) {
      sent.push((command as object).constructor.name);
      const out = reply(command, sent.length);
      if (out instanceof Error) throw out;
      return out;
    },
  } as unknown as DynamoDBClient;
  return { client, sent };
}

const clock = { nowMs: 1_700_000_000_000, ttlMs: 60_000 };

describe('DynamoDedupStore (unit)', () => {
  it('reads the holder with a consistent GetItem when the failed condition returns no item', async () => {
    const { client, sent } = fakeClient((command) => (command instanceof PutItemCommand ? conditionFailed() : { Item: stored }));
    const store = new DynamoDedupStore({ client, tableName: 'dedup' });
    expect(await store.claim([{ key: 'a', origin: { topic: 't', partition: 2, offset: 10 } }], clock)).toEqual([
      { duplicate: true, owner: { topic: 't', partition: 2, offset: 9 } },
    ]);
    expect(sent).toEqual([PutItemCommand.name, GetItemCommand.name]);
  });

  it('claims again when the holder vanished between the put and the read', async () => {
    const { client, sent } = fakeClient((_command, call) => (call === 1 ? conditionFailed() : {}));
    const store = new DynamoDedupStore({ client, tableName: 'dedup' });
    expect(await store.claim([{ key: 'a', origin: { topic: 't', partition: 0, offset: 1 } }], clock)).toEqual([
      { duplicate: false, owner: { topic: 't', partition: 0, offset: 1 } },
    ]);
    expect(sent).toEqual([PutItemCommand.name, GetItemCommand.name, PutItemCommand.name]);
  });

  it('rejects on any other error, so the pipeline stops', async () => {
    const { client } = fakeClient(() => Object.assign(new Error('Rate exceeded'), { name: 'ProvisionedThroughputExceededException' }));
    const store = new DynamoDedupStore({ client, tableName: 'dedup' });
    await expect(store.claim([{ key: 'a', origin: { topic: 't', partition: 0, offset: 1 } }], clock)).rejects.toThrow('Rate exceeded');
  });

  it('sends a conditional put carrying the origin and an expiry in epoch seconds', async () => {
    let input: PutItemCommand['input'] | undefined;
    const { client } = fakeClient((command) => {
      input = (command as PutItemCommand).input;
      return {};
    });
    await new DynamoDedupStore({ client, tableName: 'dedup', keyPrefix: 'p#', partitionKey: 'id', ttlAttribute: 'ttl' }).claim(
      [{ key: 'a', origin: { topic: 't', partition: 0, offset: 1 } }],
      clock,
    );
    expect(input).toMatchObject({
      TableName: 'dedup',
      Item: { id: { S: 'p#a' }, ttl: { N: '1700000060' }, origin_topic: { S: 't' }, origin_partition: { N: '0' }, origin_offset: { N: '1' } },
      ConditionExpression: 'attribute_not_exists(#pk) OR #ttl < :now',
      ExpressionAttributeNames: { '#pk': 'id', '#ttl': 'ttl' },
      ExpressionAttributeValues: { ':now': { N: '1700000000' } },
      ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
    });
  });
});
