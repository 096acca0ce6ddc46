/**
 * `add` mode (counters) against DynamoDB Local when a write's answer is lost: the request landed but
 * the client saw a timeout. The sink's retry is conditional on the write's own id, so the counter is
 * added once, and the refused retry is counted (`outcome: retry_already_applied`), never silent.
 */
import { GetItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { describe, expect, it } from 'vitest';
import { CountingLease, envelopeOf } from '../../src/core/envelope.ts';
import { dynamoDbSink, type DynamoSender } from '../../src/sinks/dynamodb.ts';
import { WRITE_ID_ATTRIBUTE } from '../../src/sinks/dynamodb-update.ts';
import { testContext } from '../support/sink-context.ts';
import { createTable, dynamoClient } from '../support/stack.ts';

type Fault = 'lost answer' | 'timeout before sending' | 'refused connection';

/** A client that fails the first UpdateItem as `fault` says, and passes everything else to DynamoDB Local. */
function faulty(fault: Fault): { client: DynamoSender; updates: string[] } {
  const real = dynamoClient();
  const updates: string[] = [];
  let failed = false;
  const client: DynamoSender = {
    async send(command) {
      if (!(command instanceof UpdateItemCommand)) return real.send(command as never);
      updates.push(command.input.ConditionExpression ?? 'unconditional');
      if (failed) return real.send(command);
      failed = true;
      if (fault === 'refused connection') throw Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
      if (fault === 'lost answer') await real.send(command);
      throw Object.assign(new Error('a request has exceeded the configured 10000 ms requestTimeout'), { name: 'TimeoutError', code: 'ETIMEDOUT' });
    },
  };
  return { client, updates };
}

describe('DynamoDB add mode, when an answer is lost', () => {
  it.each([
    ['lost answer', 5, ['unconditional', 'attribute_not_exists(#w) OR #w <> :w'], 'retry_already_applied'],
    ['timeout before sending', 5, ['unconditional', 'attribute_not_exists(#w) OR #w <> :w'], undefined],
    ['refused connection', 5, ['unconditional', 'unconditional'], undefined],
  ] as const)('%s: the counter is added once (%i)', async (fault, expected, sent, outcome) => {
    const table = await createTable({ prefix: 'ddb-add' });
    const { client, updates } = faulty(fault);
    const { context, metrics } = testContext();
    const sink = dynamoDbSink(
      {
        id: 'counts',
        table,
        client,
        mode: 'add',
        update: { attribute: 'clicks', value: 'n' },
        partitionKey: { name: 'pk', value: '{user}' },
        sortKey: { name: 'sk', value: 'total' },
        sleep: async () => {},
      },
      context,
    );
    const lease = new CountingLease();
    await sink.write([envelopeOf({ user: 'u1', n: 5 }, { offset: 0 }, lease)]);
    await sink.close();

    const item = await dynamoClient().send(new GetItemCommand({ TableName: table, Key: { pk: { S: 'u1' }, sk: { S: 'total' } }, ConsistentRead: true }));
    const stored = unmarshall(item.Item ?? {});
    expect(stored.clicks).toBe(expected);
    expect(typeof stored[WRITE_ID_ATTRIBUTE]).toBe('string');
    expect(updates).toEqual(sent);
    expect(lease.done).toBe(true);
    expect(metrics.value('sink_retries_total', { step: 'counts' })).toBe(1);
    if (outcome !== undefined) expect(metrics.value('sink_records_total', { step: 'counts', outcome })).toBe(1);
    else expect(metrics.value('sink_records_total', { step: 'counts' })).toBe(1);
  });

  it('a later update of the same item is not mistaken for a retry', async () => {
    const table = await createTable({ prefix: 'ddb-add' });
    const { context, metrics } = testContext();
    const sink = dynamoDbSink(
      { id: 'counts', table, client: dynamoClient(), mode: 'add', update: { attribute: 'clicks', value: 'n' }, partitionKey: { name: 'pk', value: '{user}' }, sortKey: { name: 'sk', value: 'total' } },
      context,
    );
    for (const n of [1, 2, 3]) await sink.write([envelopeOf({ user: 'u1', n }, { offset: n }, new CountingLease())]);
    await sink.close();
    const item = await dynamoClient().send(new GetItemCommand({ TableName: table, Key: { pk: { S: 'u1' }, sk: { S: 'total' } }, ConsistentRead: true }));
    expect(unmarshall(item.Item ?? {}).clicks).toBe(6);
    expect(metrics.value('sink_records_total', { step: 'counts' })).toBe(3);
  });

  it('applyOnce: the retry of an update whose answer was lost is refused by the offset guard, added once', async () => {
    const table = await createTable({ prefix: 'ddb-add' });
    const { client, updates } = faulty('lost answer');
    const { context, metrics } = testContext();
    const sink = dynamoDbSink(
      {
        id: 'counts', table, client, mode: 'add', applyOnce: true, update: { attribute: 'clicks', value: 'n' },
        partitionKey: { name: 'pk', value: '{user}' }, sortKey: { name: 'sk', value: 'total' }, sleep: async () => {},
      },
      context,
    );
    const lease = new CountingLease();
    await sink.write([envelopeOf({ user: 'u1', n: 5 }, { offset: 7 }, lease)]);
    await sink.close();
    const item = await dynamoClient().send(new GetItemCommand({ TableName: table, Key: { pk: { S: 'u1' }, sk: { S: 'total' } }, ConsistentRead: true }));
    expect(unmarshall(item.Item ?? {})).toEqual({ pk: 'u1', sk: 'total', user: 'u1', n: 5, clicks: 5, tributary_offset_counts_t_0: 7 });
    // The same conditional update both times: no write id needed.
    expect(updates).toEqual(['attribute_not_exists(#g) OR #g < :g', 'attribute_not_exists(#g) OR #g < :g']);
    expect(lease.done).toBe(true);
    expect(metrics.value('sink_records_total', { step: 'counts', outcome: 'already_applied' })).toBe(1);
  });
});
