import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import type { DynamoDbSink, FraudStep, S3ParquetSink, ValidTopology, WindowStep } from '../../src/topology/types.ts';
import { validateTopology } from '../../src/topology/validate.ts';
import typed from './game-events.topology.ts';

const yamlSpec = () => parse(readFileSync(new URL('../../topologies/game-events.yaml', import.meta.url), 'utf8')) as unknown;

describe('the default game-events topology', () => {
  const topology = validateTopology(yamlSpec(), { env: {} });
  const sink = <T>(id: string) => topology.sinks.find((s) => s.id === id) as T;
  const step = <T>(id: string) => topology.steps.find((s) => s.id === id) as T;

  it('validates, with its three event sources and its dead letters read back', () => {
    expect(topology.sources.map((s) => [s.id, s.topics, s.eventTime])).toEqual([
      ['game-events', ['game-events'], { field: 'timestamp' }],
      ['user-activity', ['user-activity'], { field: 'timestamp' }],
      ['transaction-events', ['transaction-events'], { field: 'timestamp' }],
      ['dead-letter-topic', ['tributary-dead-letters'], 'kafka'],
    ]);
    expect(topology.deadLetters.topic).toBe('tributary-dead-letters');
  });

  it('written with defineTopology in TypeScript, validates to the same topology', () => {
    expect(validateTopology(typed, { env: {} })).toEqual(topology);
    const env = { TABLE_PREFIX: 'prod_', EVENTS_BUCKET: 'acme-events' };
    expect(validateTopology(typed, { env })).toEqual(validateTopology(yamlSpec(), { env }));
  });

  it('keeps sessions 30 days and the best score only', () => {
    const session = {
      table: 'user_sessions',
      partitionKey: { name: 'user_id', value: '{user_id}' },
      sortKey: { name: 'session_id', value: '{event_data.session_id}' },
      mode: 'update',
      ttl: { attribute: 'expires_at', afterMs: 30 * 86_400_000 },
    };
    expect(sink<DynamoDbSink>('user-sessions')).toMatchObject({ ...session, ifAbsent: ['session_status', 'expires_at'] });
    expect(sink<DynamoDbSink>('user-sessions').attributes).toMatchObject({ session_start_time: 'timestamp', session_status: "'active'" });
    expect(sink<DynamoDbSink>('session-close')).toMatchObject({
      ...session,
      ifAbsent: undefined,
      attributes: { session_end_time: 'timestamp', duration_s: 'event_data.session_duration_s', session_status: "'closed'" },
    });
    expect(sink<DynamoDbSink>('leaderboard')).toMatchObject({ mode: 'max', update: { attribute: 'best_score', value: 'event_data.score' } });
    expect(sink<DynamoDbSink>('transactions').partitionKey.value).toBe('{event_data.transaction_id}');
  });

  it('counts the users in each game, each login and logout once', () => {
    for (const [id, value] of [['concurrent-users-in', '1'], ['concurrent-users-out', '-1']] as const)
      expect(sink<DynamoDbSink>(id)).toMatchObject({ table: 'game_concurrency', mode: 'add', update: { attribute: 'concurrent_users', value }, applyOnce: true, attributes: [] });
  });

  it('counts per game and minute', () => {
    const w = step<WindowStep>('game-minute');
    expect(w.window).toEqual({ kind: 'tumbling', sizeMs: 60_000 });
    expect(w.key).toEqual(['event_data.game_id']);
    expect(w.aggregate.map((a) => [a.name, a.fn, a.field])).toEqual([
      ['active_users', 'distinct', 'user_id'],
      ['events', 'count', undefined],
      ['revenue', 'sum', 'event_data.amount'],
    ]);
  });

  it('watches the four fraud patterns', () => {
    const f = (id: string) => step<FraudStep>(id);
    expect(f('fraud-velocity')).toMatchObject({ pattern: 'velocity', threshold: 5, withinMs: 60_000 });
    expect(f('fraud-amount')).toMatchObject({ pattern: 'amount', factor: 10, windowMs: 86_400_000, absoluteThreshold: 1000 });
    expect(f('fraud-devices')).toMatchObject({ pattern: 'distinct', field: 'event_data.device_id', threshold: 3, withinMs: 600_000 });
    expect(f('fraud-refund')).toMatchObject({ pattern: 'sequence', correlate: ['event_data.transaction_id'], withinMs: 300_000 });
    expect(sink<{ from: ValidTopology['sinks'][number]['from'] }>('fraud-alerts').from.map((r) => r.ref)).toEqual([
      'fraud-velocity',
      'fraud-amount',
      'fraud-devices',
      'fraud-refund',
    ]);
  });

  it('writes cold storage to the bucket the environment names', () => {
    expect(sink<S3ParquetSink>('cold-storage')).toMatchObject({ bucket: 'tributary-events', prefix: 'events', timeZone: 'UTC', compression: 'snappy' });
    const renamed = validateTopology(yamlSpec(), { env: { EVENTS_BUCKET: 'acme-events', TABLE_PREFIX: 'prod_' } });
    expect((renamed.sinks.find((s) => s.id === 'cold-storage') as S3ParquetSink).bucket).toBe('acme-events');
    expect(renamed.sinks.filter((s) => s.kind === 'dynamodb').map((s) => s.table)).toEqual([
      'prod_user_sessions',
      'prod_user_sessions',
      'prod_game_concurrency',
      'prod_game_concurrency',
      'prod_transactions',
      'prod_leaderboard',
      'prod_game_metrics',
      'prod_fraud_alerts',
    ]);
  });
});
