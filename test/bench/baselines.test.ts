import { describe, expect, it } from 'vitest';
import { measureJsonParse } from '../../bench/baselines/json-parse.ts';
import { generateAll } from '../../bench/generator/generate.ts';

describe('JSON.parse baseline', () => {
  it('parses every generated value of the chosen topics, each pass, and fails only on truncated ones', async () => {
    const generator = { events: 2_000, seed: 5, rates: { purchaseBurst: 0, amountSpike: 0, manyDevices: 0, refundAfterPurchase: 0, malformed: 0.05 } };
    const { records, truth } = generateAll(generator);
    const game = records.filter((r) => r.topic === 'game-events');
    const truncated = truth.malformed.filter((m) => m.kind === 'truncated' && m.topic === 'game-events').length;
    expect(truncated).toBeGreaterThan(0);

    const result = await measureJsonParse({ generator: { ...generator, topics: ['game-events'] }, passes: 2 });
    expect(result.events).toBe(game.length * 2);
    expect(result.detail).toMatchObject({ values: game.length, passes: 2, failed: truncated * 2, parsed: (game.length - truncated) * 2 });
    expect(result.eventsPerSec).toBeGreaterThan(0);
  });
});
