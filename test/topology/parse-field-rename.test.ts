import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { lastValueFrom, Subject, toArray } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/core/errors.ts';
import { CountingLease, envelopeOf, type Envelope } from '../../src/core/envelope.ts';
import { memoryContext } from '../../src/runtime/memory-context.ts';
import { compileTopology } from '../../src/topology/compile.ts';
import { buildGraph, DEAD_LETTERS } from '../../src/topology/graph.ts';
import { validateTopology } from '../../src/topology/validate.ts';

const T0 = Date.UTC(2026, 10, 23, 10, 0, 0);

const spec = (steps: unknown[]) => ({
  name: 'client-logs',
  sources: [{ id: 'in', topics: ['client-logs'] }],
  steps: [{ id: 'parse', kind: 'parse', from: 'in' }, ...steps],
  sinks: [{ id: 'out', kind: 'dynamodb', from: steps.length > 0 ? (steps.at(-1) as { id: string }).id : 'parse', table: 'unused', partitionKey: { name: 'pk', value: '{event_id}' } }],
});

const STEPS = [
  { id: 'event-value', kind: 'parse-field', from: 'parse', field: 'event_value', maxDepth: 4 },
  { id: 'names', kind: 'rename', from: 'event-value', fields: { 'Event ID': 'event_id' }, normalize: 'snake_case' },
];

const problems = (s: unknown): readonly string[] => {
  try {
    validateTopology(s, { env: {} });
    return [];
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).problems;
  }
};

describe('parse-field and rename steps in a topology', () => {
  it('validate with their defaults filled', () => {
    const t = validateTopology(spec([{ id: 'v', kind: 'parse-field', from: 'parse', field: 'payload.body' }, { id: 'n', kind: 'rename', from: 'v', normalize: 'snake_case' }]), { env: {} });
    expect(t.steps[1]).toMatchObject({ kind: 'parse-field', field: 'payload.body', into: 'payload.body', maxDepth: 32, maxBytes: 1024 * 1024 });
    expect(t.steps[2]).toMatchObject({ kind: 'rename', fields: {}, normalize: 'snake_case' });
    const graph = buildGraph(t);
    expect(graph.nodes.filter((n) => n.role === 'step').map((n) => n.detail)).toEqual(['parse · json', 'parse-field · payload.body', 'rename · snake_case']);
    expect(graph.edges.filter((e) => e.to === DEAD_LETTERS).map((e) => e.from)).toEqual(['parse', 'v', 'n']);
  });

  it.each<[string, unknown[], string[]]>([
    ['parse-field without a field', [{ id: 'v', kind: 'parse-field', from: 'parse' }], ['/steps/v/field: is required']],
    ['parse-field with a bad depth', [{ id: 'v', kind: 'parse-field', from: 'parse', field: 'x', maxDepth: 0 }], ['/steps/v/maxDepth: must be at least 1 (got 0)']],
    ['rename with nothing to do', [{ id: 'n', kind: 'rename', from: 'parse' }], ['/steps/n: needs fields (a map of names, { from: to }) or normalize: snake_case, or both']],
    ['rename to one name twice', [{ id: 'n', kind: 'rename', from: 'parse', fields: { a: 'x', b: 'x' } }], ['/steps/n/fields/b: "a" is renamed to "x" already']],
    ['an unknown normalization', [{ id: 'n', kind: 'rename', from: 'parse', normalize: 'camelCase' }], ['/steps/n/normalize: must be one of snake_case (got "camelCase")']],
  ])('refuse %s', (_name, steps, expected) => {
    expect(problems(spec(steps))).toEqual(expected);
  });

  it('compile: a client log with JSON in a string and awkward names comes out as one clean object; bad JSON goes to dead letters', async () => {
    const topology = validateTopology(spec(STEPS), { env: {} });
    const seen: unknown[] = [];
    const dead: { step: string; code: string }[] = [];
    const ctx = memoryContext({ onSink: (_id, e) => void seen.push(e.value), onDeadLetter: (_e, error, step) => void dead.push({ step, code: error.code }) });
    const dynamo = new DynamoDBClient({ region: 'us-east-1', endpoint: 'http://127.0.0.1:9', credentials: { accessKeyId: 'x', secretAccessKey: 'x' } });
    const input = new Subject<readonly Envelope<Buffer | null>[]>();
    const done = lastValueFrom(compileTopology(topology, { dynamo, bounded: true })(input, ctx).pipe(toArray()));
    const logs = [
      { 'Event ID': 'e1', 'App Version': '1.2', event_value: JSON.stringify({ screenInfo: { 'Screen Width': 1080 } }) },
      { 'Event ID': 'e2', event_value: '{"screenInfo": ' },
      { 'Event ID': 'e3', event_value: JSON.stringify({ a: { b: { c: { d: { e: 1 } } } } }) },
      { 'Event ID': 'e4', userId: 'u1', user_id: 'u1' },
    ];
    const leases = logs.map(() => new CountingLease());
    input.next(logs.map((log, offset) => envelopeOf(Buffer.from(JSON.stringify(log)), { topic: 'client-logs', partition: 0, offset, timestamp: T0 }, leases[offset])));
    input.complete();
    await done;
    dynamo.destroy();
    expect(seen).toEqual([{ event_id: 'e1', app_version: '1.2', event_value: { screen_info: { screen_width: 1080 } } }]);
    expect(dead).toEqual([
      { step: 'event-value', code: 'TRIB_DECODE' },
      { step: 'event-value', code: 'TRIB_DECODE' },
      { step: 'names', code: 'TRIB_OPERATOR' },
    ]);
    expect(leases.every((l) => l.done)).toBe(true);
  });
});
