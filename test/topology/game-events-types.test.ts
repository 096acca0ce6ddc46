import { readFileSync } from 'node:fs';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { lastValueFrom, Subject, toArray } from 'rxjs';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { CountingLease, envelopeOf, type Envelope } from '../../src/core/envelope.ts';
import { memoryContext } from '../../src/runtime/memory-context.ts';
import { compileTopology } from '../../src/topology/compile.ts';
import { validateTopology } from '../../src/topology/validate.ts';

const T0 = Date.UTC(2026, 10, 23, 10, 0, 0);
const TOPIC: Record<string, string> = {
  user_login: 'user-activity', user_logout: 'user-activity', account_created: 'user-activity', device_change: 'user-activity',
  purchase: 'transaction-events', refund_request: 'transaction-events',
};
const DATA: Record<string, Record<string, unknown>> = {
  user_login: { device_id: 'd1', session_id: 's1', game_id: 'g1' },
  user_logout: { session_id: 's1', game_id: 'g1', session_duration_s: 60 },
  level_complete: { game_id: 'g1', score: 10 },
  achievement: { game_id: 'g1', achievement_id: 'ach-001' },
  achievement_unlocked: { game_id: 'g1', achievement_id: 'ach-002' },
  purchase: { amount: 5, currency: 'USD', transaction_id: 'tx1', item_id: 'i1', game_id: 'g1' },
  refund_request: { transaction_id: 'tx1' },
  game_start: { game_id: 'g1' },
  game_end: { game_id: 'g1' },
};

/**
 * Runs the default topology in memory over one event of `type` and says which sinks it reached:
 * a sink that received the event itself, or (game-metrics) a window result that counted it.
 */
async function sinksOf(type: string): Promise<{ sinks: string[]; deadLetters: string[] }> {
  const spec = parse(readFileSync(new URL('../../topologies/game-events.yaml', import.meta.url), 'utf8')) as unknown;
  const topology = validateTopology(spec, { env: {} });
  const reached = new Set<string>();
  const deadLetters: string[] = [];
  const ctx = memoryContext({
    onDeadLetter: (_e, error, step) => void deadLetters.push(`${step}:${error.code}`),
    onSink: (id, envelope: Envelope<unknown>) => {
      const v = envelope.value as { event_id?: string; event_ids?: string[]; events?: number };
      if (v.event_id === 'e1' || v.events === 1) reached.add(id);
    },
  });
  // Never called: in memory, records reaching a sink are handed to `onSink` instead.
  const aws = { region: 'us-east-1', endpoint: 'http://127.0.0.1:9', credentials: { accessKeyId: 'x', secretAccessKey: 'x' } };
  const dynamo = new DynamoDBClient(aws);
  const s3 = new S3Client({ ...aws, forcePathStyle: true });
  const input = new Subject<readonly Envelope<Buffer | null>[]>();
  const done = lastValueFrom(compileTopology(topology, { dynamo, s3, kafka: { brokers: ['127.0.0.1:9'] }, bounded: true })(input, ctx).pipe(toArray()));
  const event = { event_id: 'e1', user_id: 'u1', event_type: type, event_data: DATA[type] ?? {}, timestamp: new Date(T0).toISOString(), platform: 'ios', game_version: '1.0' };
  input.next([envelopeOf(Buffer.from(JSON.stringify(event)), { topic: TOPIC[type] ?? 'game-events', partition: 0, offset: 0, timestamp: T0 }, new CountingLease())]);
  input.complete();
  await done;
  dynamo.destroy();
  s3.destroy();
  return { sinks: [...reached].sort(), deadLetters };
}

describe('the default topology by event type (the README table)', () => {
  it.each([
    ['achievement', ['cold-storage', 'game-metrics']],
    ['achievement_unlocked', ['cold-storage', 'game-metrics']],
    ['user_login', ['cold-storage', 'concurrent-users-in', 'game-metrics', 'user-sessions']],
    ['level_complete', ['cold-storage', 'game-metrics', 'leaderboard']],
    ['purchase', ['cold-storage', 'game-metrics', 'transactions']],
    ['game_start', ['cold-storage', 'game-metrics']],
    ['game_end', ['cold-storage', 'game-metrics']],
    ['user_logout', ['cold-storage', 'concurrent-users-out', 'game-metrics', 'session-close']],
    ['account_created', ['cold-storage']],
    ['device_change', ['cold-storage']],
    ['refund_request', ['cold-storage']],
  ])('%s reaches %j', async (type, sinks) => {
    expect(await sinksOf(type)).toEqual({ sinks, deadLetters: [] });
  });

  it('dead-letters a login or logout without a session id', async () => {
    const login = DATA.user_login as Record<string, unknown>;
    const { session_id: _, ...noSession } = login;
    DATA.user_login = noSession;
    try {
      expect(await sinksOf('user_login')).toEqual({ sinks: [], deadLetters: ['validate:TRIB_VALIDATION'] });
    } finally {
      DATA.user_login = login;
    }
  });

  it('still dead-letters an event type it does not declare', async () => {
    expect(await sinksOf('achievement_claimed')).toEqual({ sinks: [], deadLetters: ['validate:TRIB_VALIDATION'] });
  });

  it('checks the types of an achievement\'s fields', async () => {
    const spec = parse(readFileSync(new URL('../../topologies/game-events.yaml', import.meta.url), 'utf8')) as { steps: { id: string; events?: Record<string, unknown> }[] };
    expect(spec.steps.find((s) => s.id === 'validate')?.events?.achievement).toEqual({ 'event_data.game_id': 'string?', 'event_data.achievement_id': 'string?' });
  });
});
