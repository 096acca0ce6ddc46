import { ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { describe, expect, it } from 'vitest';
import { measureBareConsumer } from '../../bench/baselines/bare-consumer.ts';
import { measureNaiveService } from '../../bench/baselines/naive-service.ts';
import { produce } from '../../bench/generator/produce.ts';
import { dynamoClient, topicPrefix } from '../support/stack.ts';

async function producedTopics(events: number) {
  const prefix = topicPrefix('base');
  return produce({ events, seed: 11, topicPrefix: prefix, partitions: 2, rates: { purchaseBurst: 0, amountSpike: 0, manyDevices: 0, refundAfterPurchase: 0 } });
}

describe('baselines against the local stack', () => {
  it('bare consumer reads every record of the topics once', async () => {
    const report = await producedTopics(2_000);
    const result = await measureBareConsumer({ topics: Object.values(report.topics), parse: true });
    expect(result.events).toBe(2_000);
    expect(result.detail?.parsed).toBe(2_000 - report.truth.malformed.filter((m) => m.kind === 'truncated').length);
    expect(result.eventsPerSec).toBeGreaterThan(0);
  });

  it('naive service stops at maxEvents, skipping invalid and duplicate records, and cleans its tables up', async () => {
    const report = await producedTopics(1_000);
    const game = report.topics['game-events'];
    const result = await measureNaiveService({ topics: [game], maxEvents: 60 });
    expect(result.events).toBe(60);
    const detail = result.detail as { invalid: number; duplicates: number; puts: number; updates: number };
    expect(detail.puts + detail.invalid + detail.duplicates).toBe(60);
    expect(detail.updates).toBe(detail.puts); // every valid game event has a game_id
    const tables = await dynamoClient().send(new ListTablesCommand({}));
    expect((tables.TableNames ?? []).filter((t) => t.startsWith('naive-'))).toEqual([]);
  });
});
