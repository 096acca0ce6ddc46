import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/core/errors.ts';
import { memoryContext } from '../../src/runtime/memory-context.ts';
import { compileSink } from '../../src/topology/compile.ts';
import { buildGraph } from '../../src/topology/graph.ts';
import type { DynamoDbSink } from '../../src/topology/types.ts';
import { validateTopology } from '../../src/topology/validate.ts';
import { shopWith } from './fixtures.ts';

const latestSpec = (extra: Record<string, unknown>) =>
  shopWith('counts', (s) => Object.assign(s, { from: 'purchases', partitionKey: { name: 'pk', value: '{user_id}' }, mode: 'latest', ...extra }));

const problems = (spec: unknown): readonly string[] => {
  try {
    validateTopology(spec, { env: {} });
    return [];
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).problems;
  }
};

describe('dynamodb mode latest in a topology', () => {
  it('normalizes version to a list and fills the defaults', () => {
    const t = validateTopology(latestSpec({ version: 'updatedAt' }), { env: {} });
    expect(t.sinks.find((s) => s.id === 'counts')).toMatchObject({
      mode: 'latest',
      update: undefined,
      latest: { version: ['updatedAt'], delete: undefined, onEqualVersion: 'skip', tombstoneAttribute: '_deleted' },
    });
  });

  it('keeps every option given, and the graph says what the sink does', () => {
    const spec = latestSpec({ version: ['updatedAt', 'sequence_number'], delete: "op == 'REMOVE'", onEqualVersion: 'overwrite', tombstoneAttribute: 'gone' });
    const t = validateTopology(spec, { env: {} });
    const sink = t.sinks.find((s) => s.id === 'counts') as DynamoDbSink;
    expect(sink.latest).toEqual({ version: ['updatedAt', 'sequence_number'], delete: "op == 'REMOVE'", onEqualVersion: 'overwrite', tombstoneAttribute: 'gone' });
    expect(buildGraph(t).nodes.find((n) => n.id === 'counts')?.detail).toBe('dynamodb · counts (latest by updatedAt, sequence_number, deletes)');
    const dynamo = new DynamoDBClient({ region: 'us-east-1', endpoint: 'http://127.0.0.1:9', credentials: { accessKeyId: 'x', secretAccessKey: 'x' } });
    expect(compileSink(sink, memoryContext(), { dynamo }).id).toBe('counts');
    dynamo.destroy();
  });

  it.each<[string, Record<string, unknown>, string[]]>([
    ['no version', {}, ['/sinks/counts/version: is required (the version fields compared in order, like [updatedAt, sequence_number])']],
    ['a delete that is not a predicate', { version: 'v', delete: "op = 'REMOVE'" }, ['/sinks/counts/delete: unexpected character at column 4 in "op = \'REMOVE\'"']],
    ['an unknown equal-version rule', { version: 'v', onEqualVersion: 'keep' }, ['/sinks/counts/onEqualVersion: must be one of skip, overwrite (got "keep")']],
    ['an update attribute', { version: 'v', attribute: 'best', value: 'score' }, ['/sinks/counts/attribute: is only used with mode max or add', '/sinks/counts/value: is only used with mode max or add']],
  ])('refuses %s', (_name, extra, expected) => {
    expect(problems(latestSpec(extra))).toEqual(expected);
  });

  it('refuses the latest keys in another mode', () => {
    expect(problems(shopWith('counts', (s) => Object.assign(s, { version: ['v'], delete: 'gone' })))).toEqual([
      '/sinks/counts/version: is only used with mode latest',
      '/sinks/counts/delete: is only used with mode latest',
    ]);
  });

  it('refuses a version stored where the key, the TTL or the tombstone is, and sharding', () => {
    expect(problems(latestSpec({ version: ['pk', 'expires_at', '_deleted'], ttl: { attribute: 'expires_at', after: '30d' }, shards: 4 }))).toEqual([
      '/sinks/counts/version: "pk" would be stored as "pk", which is the partition key',
      '/sinks/counts/version: "expires_at" would be stored as "expires_at", which is the TTL attribute',
      '/sinks/counts/version: "_deleted" would be stored as "_deleted", which is the tombstone attribute',
      "/sinks/counts/shards: must be 1 in mode 'latest' (a key's versions must land on one item)",
    ]);
    expect(problems(latestSpec({ version: ['a.b', 'a_b'] }))).toEqual(['/sinks/counts/version: "a_b" is stored as "a_b" twice']);
    expect(problems(latestSpec({ version: ['v >'] }))).toEqual(['/sinks/counts/version/0: unexpected end of expression at column 4 in "v >"']);
  });

  it('the sink checks the same when built from TypeScript', () => {
    const dynamo = new DynamoDBClient({ region: 'us-east-1', endpoint: 'http://127.0.0.1:9', credentials: { accessKeyId: 'x', secretAccessKey: 'x' } });
    const t = validateTopology(latestSpec({ version: 'v' }), { env: {} });
    const sink = t.sinks.find((s) => s.id === 'counts') as DynamoDbSink;
    const bad = { ...sink, latest: { ...(sink.latest as NonNullable<DynamoDbSink['latest']>), version: ['pk'] } };
    expect(() => compileSink(bad, memoryContext(), { dynamo })).toThrow('counts: latest.version: "pk" would be stored as "pk", which is the partition key');
    dynamo.destroy();
  });
});
