import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/core/errors.ts';
import { buildGraph } from '../../src/topology/graph.ts';
import type { DynamoDbSink } from '../../src/topology/types.ts';
import { validateTopology } from '../../src/topology/validate.ts';
import { shopWith } from './fixtures.ts';

const sinkSpec = (extra: Record<string, unknown>) =>
  shopWith('counts', (s) => Object.assign(s, { from: 'purchases', partitionKey: { name: 'pk', value: '{user_id}' }, ...extra }));

const problems = (spec: unknown): readonly string[] => {
  try {
    validateTopology(spec, { env: {} });
    return [];
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).problems;
  }
};

const sinkOf = (spec: unknown) => validateTopology(spec, { env: {} }).sinks.find((s) => s.id === 'counts') as DynamoDbSink;

describe('dynamodb mode update in a topology', () => {
  it('keeps ifAbsent, and the graph says what the sink does', () => {
    const spec = sinkSpec({ mode: 'update', attributes: { status: "'active'", amount: 'event_data.amount' }, ifAbsent: ['status'] });
    const t = validateTopology(spec, { env: {} });
    expect(t.sinks.find((s) => s.id === 'counts')).toMatchObject({ mode: 'update', update: undefined, ifAbsent: ['status'], applyOnce: false });
    expect(buildGraph(t).nodes.find((n) => n.id === 'counts')?.detail).toBe('dynamodb · counts (update)');
  });

  it('takes the TTL attribute in ifAbsent', () => {
    const spec = sinkSpec({ mode: 'update', attributes: { status: "'active'" }, ifAbsent: ['status', 'expires_at'], ttl: { attribute: 'expires_at', after: '30d' } });
    expect(sinkOf(spec).ifAbsent).toEqual(['status', 'expires_at']);
  });

  it.each<[string, Record<string, unknown>, string[]]>([
    ['an ifAbsent name that is not mapped', { attributes: { status: "'active'" }, ifAbsent: ['state'] }, ['/sinks/counts/ifAbsent/0: "state" is not one of the attributes (status)']],
    ['an ifAbsent key', { attributes: { status: "'active'" }, ifAbsent: ['pk'] }, ['/sinks/counts/ifAbsent/0: "pk" is a key: ifAbsent lists mapped attributes (or the TTL attribute)']],
    ['an update attribute', { attribute: 'n', value: '1' }, ['/sinks/counts/attribute: is only used with mode max or add', '/sinks/counts/value: is only used with mode max or add']],
    ['applyOnce', { applyOnce: true }, ['/sinks/counts/applyOnce: is only used with mode add']],
  ])('refuses %s', (_name, extra, expected) => {
    expect(problems(sinkSpec({ mode: 'update', ...extra }))).toEqual(expected);
  });

  it('refuses ifAbsent in another mode', () => {
    expect(problems(sinkSpec({ ifAbsent: ['a'] }))).toEqual(['/sinks/counts/ifAbsent: is only used with mode update']);
  });
});

describe('dynamodb add with applyOnce in a topology', () => {
  it('takes literal values and an empty attribute list (only the key is set besides the counter)', () => {
    const sink = sinkOf(sinkSpec({ mode: 'add', attribute: 'n', value: '-1', attributes: [], applyOnce: true }));
    expect(sink).toMatchObject({ mode: 'add', update: { attribute: 'n', value: '-1' }, attributes: [], applyOnce: true });
  });

  it('defaults to false', () => {
    expect(sinkOf(sinkSpec({ mode: 'add', attribute: 'n', value: '1' })).applyOnce).toBe(false);
  });

  it('refuses a sink fed by a window: its records do not come in source-partition order', () => {
    expect(problems(sinkSpec({ from: 'minute', mode: 'add', attribute: 'n', value: 'n', applyOnce: true }))).toEqual([
      '/sinks/counts/applyOnce: needs the records in source-partition order, and "minute" (window) upstream does not keep it: read from stateless steps (filter, route, map, dedup …)',
    ]);
  });

  it('refuses it in another mode', () => {
    expect(problems(sinkSpec({ mode: 'max', attribute: 'n', value: 'n', applyOnce: true }))).toEqual(['/sinks/counts/applyOnce: is only used with mode add']);
  });
});
