import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { lastValueFrom, Subject, toArray } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { CountingLease, envelopeOf } from '../../src/core/envelope.ts';
import { memoryContext } from '../../src/runtime/memory-context.ts';
import { compileTopology } from '../../src/topology/compile.ts';
import { validateTopology } from '../../src/topology/validate.ts';
import { internalTopicsOf } from '../../src/topology/repartition.ts';
import type { StateBackend } from '../../src/core/state.ts';
import { MemoryChangelog } from '../support/memory-changelog.ts';

const T0 = Date.UTC(2026, 10, 23, 10, 0, 0);

/** An event as the platform sends it, `seconds` after T0. */
function event(id: string, type: string, user: string, seconds: number, data: Record<string, unknown> = {}) {
  return { event_id: id, user_id: user, event_type: type, event_data: data, timestamp: new Date(T0 + seconds * 1000).toISOString() };
}

interface Run {
  /** Values each sink received, by sink id. */
  readonly sinks: Record<string, unknown[]>;
  readonly deadLetters: { step: string; code: string }[];
  readonly leases: CountingLease[];
}

/**
 * Compiles `steps` between one source (`in`, topic `t`, parse step `parse`) and one sink per
 * entry of `sinks` (`sinkId: from`), runs `inputs` through it in memory and completes.
 */
async function run(steps: unknown[], sinks: Record<string, string | string[]>, inputs: unknown[]): Promise<Run> {
  const topology = validateTopology({
    name: 'compile-test',
    sources: [{ id: 'in', topics: ['t'], eventTime: { field: 'timestamp' } }],
    steps: [{ id: 'parse', kind: 'parse', from: 'in' }, ...steps],
    sinks: Object.entries(sinks).map(([id, from]) => ({ id, kind: 'dynamodb', from, table: 'unused', partitionKey: { name: 'pk', value: '{event_id}' } })),
  });
  const result: Run = { sinks: Object.fromEntries(Object.keys(sinks).map((id) => [id, []])), deadLetters: [], leases: [] };
  const ctx = memoryContext({
    onDeadLetter: (_envelope, error, step) => void result.deadLetters.push({ step, code: error.code }),
    onSink: (id, envelope) => void result.sinks[id]?.push(envelope.value),
  });

  // A client that is never called: these sinks are replaced by the in-memory `toSink` above.
  const dynamo = new DynamoDBClient({ region: 'us-east-1', endpoint: 'http://127.0.0.1:9', credentials: { accessKeyId: 'x', secretAccessKey: 'x' } });
  const pipeline = compileTopology(topology, { dynamo, bounded: true });
  const input = new Subject<readonly ReturnType<typeof envelopeOf<Buffer | null>>[]>();
  const done = lastValueFrom(pipeline(input, ctx).pipe(toArray()));
  // The inputs as one batch, as one fetch of the partition hands them over.
  const batch = inputs.map((value, offset) => {
    const lease = new CountingLease();
    result.leases.push(lease);
    const bytes = typeof value === 'string' ? Buffer.from(value) : Buffer.from(JSON.stringify(value));
    return envelopeOf(bytes, { topic: 't', partition: 0, offset, timestamp: T0 }, lease);
  });
  if (batch.length > 0) input.next(batch);
  input.complete();
  await done;
  dynamo.destroy();
  return result;
}

const ids = (values: unknown[]) => values.map((v) => (v as { event_id?: string }).event_id);

describe('compileTopology', () => {
  it('parse and validate send bad records to dead letters and pass the rest', async () => {
    const r = await run(
      [{ id: 'check', kind: 'validate', from: 'parse', common: { event_id: 'string', user_id: 'string', event_type: 'string', timestamp: 'timestamp' }, unknownEventTypes: 'pass' }],
      { out: 'check' },
      [
        event('a', 'x', 'u1', 0),
        '{broken',
        { event_id: 'no-time', user_id: 'u', event_type: 'x', timestamp: 'never' },
        { ...event('x', 'x', 'u1', 0), event_id: 1 },
      ],
    );
    expect(ids(r.sinks.out ?? [])).toEqual(['a']);
    // Event time is read as the source's records are parsed, so a bad timestamp fails in `parse`.
    expect(r.deadLetters).toEqual([
      { step: 'parse', code: 'TRIB_DECODE' },
      { step: 'parse', code: 'TRIB_VALIDATION' },
      { step: 'check', code: 'TRIB_VALIDATION' },
    ]);
    expect(r.leases.every((l) => l.done)).toBe(true);
  });

  it('parse refuses hostile values and event times out of its bounds, each with its code', async () => {
    const hourAhead = new Date(Date.now() + 2 * 3_600_000).toISOString();
    const r = await run([], { out: 'parse' }, [
      event('ok', 'x', 'u1', 0),
      `{"event_id":"deep","timestamp":"${new Date(T0).toISOString()}","x":${'['.repeat(5_000)}${']'.repeat(5_000)}}`,
      { ...event('future', 'x', 'u1', 0), timestamp: '9999-12-31T23:59:59Z' },
      { ...event('ahead', 'x', 'u1', 0), timestamp: hourAhead },
      { ...event('epoch', 'x', 'u1', 0), timestamp: 0 },
      { ...event('huge', 'x', 'u1', 0), timestamp: 1e20 },
      '{"__proto__":{"polluted":true},"event_id":"proto"}',
    ]);
    expect(ids(r.sinks.out ?? [])).toEqual(['ok']);
    expect(r.deadLetters).toEqual([
      { step: 'parse', code: 'TRIB_DECODE' },
      { step: 'parse', code: 'TRIB_EVENT_TIME_FUTURE' },
      { step: 'parse', code: 'TRIB_EVENT_TIME_FUTURE' },
      { step: 'parse', code: 'TRIB_EVENT_TIME_TOO_OLD' },
      { step: 'parse', code: 'TRIB_EVENT_TIME_FUTURE' },
      { step: 'parse', code: 'TRIB_DECODE' },
    ]);
    expect(r.leases.every((l) => l.done)).toBe(true);
  });

  it('fans one output out to several readers and releases each record once per reader', async () => {
    const r = await run([], { a: 'parse', b: 'parse', c: 'parse' }, [event('e1', 'x', 'u1', 0), event('e2', 'x', 'u1', 1)]);
    expect(ids(r.sinks.a ?? [])).toEqual(['e1', 'e2']);
    expect(ids(r.sinks.c ?? [])).toEqual(['e1', 'e2']);
    expect(r.leases.map((l) => l.refs)).toEqual([0, 0]);
  });

  it('compiles filter, flatten, project and map', async () => {
    const r = await run(
      [
        { id: 'big', kind: 'filter', from: 'parse', when: 'event_data.amount > 10' },
        { id: 'flat', kind: 'flatten', from: 'big' },
        { id: 'proj', kind: 'project', from: 'flat', fields: ['event_id', 'event_data_amount'] },
        { id: 'mapped', kind: 'map', from: 'big', fields: { amount_cents: 'event_data.amount' } },
      ],
      { p: 'proj', m: 'mapped' },
      [event('small', 'purchase', 'u1', 0, { amount: 5 }), event('large', 'purchase', 'u1', 1, { amount: 50 })],
    );
    expect(r.sinks.p).toEqual([{ event_id: 'large', event_data_amount: 50 }]);
    expect(r.sinks.m).toEqual([expect.objectContaining({ event_id: 'large', amount_cents: 50, event_data: { amount: 50 } })]);
    expect(r.leases.every((l) => l.done)).toBe(true);
  });

  it('compiles route with named outputs, and an output nobody reads releases its records', async () => {
    const r = await run(
      [{ id: 'by-type', kind: 'route', from: 'parse', routes: [{ output: 'buys', when: "event_type == 'purchase'" }, { output: 'logins', when: "event_type == 'user_login'" }], default: 'other' }],
      { buys: 'by-type.buys', rest: 'by-type.other' },
      [event('p', 'purchase', 'u1', 0), event('l', 'user_login', 'u1', 1), event('g', 'game_start', 'u1', 2)],
    );
    expect(ids(r.sinks.buys ?? [])).toEqual(['p']);
    expect(ids(r.sinks.rest ?? [])).toEqual(['g']);
    expect(r.leases.every((l) => l.done)).toBe(true);
  });

  it('hands a reader of several outputs of one step the records in the order they came, each once', async () => {
    const r = await run(
      [{ id: 'by-type', kind: 'route', from: 'parse', routes: [{ output: 'buys', when: "event_type == 'purchase'" }, { output: 'refunds', when: "event_type == 'refund_request'" }] }],
      { both: ['by-type.buys', 'by-type.refunds'] },
      [event('p1', 'purchase', 'u1', 0), event('r1', 'refund_request', 'u1', 1), event('p2', 'purchase', 'u1', 2), event('x', 'user_login', 'u1', 3), event('r2', 'refund_request', 'u1', 4)],
    );
    // One batch in: read as two streams, the sink would get p1 p2 then r1 r2.
    expect(ids(r.sinks.both ?? [])).toEqual(['p1', 'r1', 'p2', 'r2']);
    expect(r.leases.every((l) => l.done)).toBe(true);
  });

  it('compiles dedup, routing duplicates to their own output', async () => {
    const r = await run(
      [{ id: 'dedup', kind: 'dedup', from: 'parse', key: 'event_id', ttl: '1h', duplicates: 'route' }],
      { unique: 'dedup', dups: 'dedup.duplicate' },
      [event('a', 'x', 'u1', 0), event('b', 'x', 'u1', 1), event('a', 'x', 'u1', 0)],
    );
    expect(ids(r.sinks.unique ?? [])).toEqual(['a', 'b']);
    expect(ids(r.sinks.dups ?? [])).toEqual(['a']);
    expect(r.leases.every((l) => l.done)).toBe(true);
  });

  it('compiles a window with a filtered aggregate and a late output', async () => {
    const r = await run(
      [
        {
          id: 'per-minute',
          kind: 'window',
          from: 'parse',
          window: { type: 'tumbling', size: '1m' },
          key: 'event_data.game_id',
          aggregate: {
            events: { fn: 'count' },
            users: { fn: 'distinct', field: 'user_id' },
            revenue: { fn: 'sum', field: 'event_data.amount', when: "event_type == 'purchase'" },
          },
          grace: '0s',
          maxOutOfOrderness: '0s',
        },
      ],
      { results: 'per-minute', late: 'per-minute.late' },
      [
        event('a', 'game_start', 'u1', 0, { game_id: 'g' }),
        event('b', 'purchase', 'u2', 10, { game_id: 'g', amount: 7 }),
        event('c', 'game_start', 'u2', 20, { game_id: 'g', amount: 99 }),
        event('d', 'game_start', 'u3', 70, { game_id: 'g' }),
        event('late', 'game_start', 'u4', 5, { game_id: 'g' }),
      ],
    );
    expect(r.sinks.results).toEqual([
      expect.objectContaining({ key: 'g', window_start: T0, window_end: T0 + 60_000, events: 3, users: 2, revenue: 7 }),
      expect.objectContaining({ key: 'g', window_start: T0 + 60_000, events: 1, users: 1, revenue: 0 }),
    ]);
    expect(ids(r.sinks.late ?? [])).toEqual(['late']);
    expect(r.leases.every((l) => l.done)).toBe(true);
  });

  it('compiles every fraud pattern into alerts', async () => {
    const purchases = Array.from({ length: 6 }, (_, i) => event(`v${i}`, 'purchase', 'fast', i, { amount: 1, transaction_id: `tv${i}` }));
    const r = await run(
      [
        { id: 'velocity', kind: 'fraud', pattern: 'velocity', from: 'parse', when: "event_type == 'purchase'", threshold: 5, within: '60s' },
        { id: 'amount', kind: 'fraud', pattern: 'amount', from: 'parse', when: "event_type == 'purchase'", field: 'event_data.amount', absoluteThreshold: 1000 },
        { id: 'devices', kind: 'fraud', pattern: 'distinct', from: 'parse', when: "event_type == 'user_login'", field: 'event_data.device_id', threshold: 1, within: '10m' },
        {
          id: 'refund',
          kind: 'fraud',
          pattern: 'sequence',
          from: 'parse',
          correlate: 'event_data.transaction_id',
          steps: [
            { name: 'buy', when: "event_type == 'purchase'" },
            { name: 'refund', when: "event_type == 'refund_request'" },
          ],
          within: '5m',
        },
      ],
      { alerts: ['velocity', 'amount', 'devices', 'refund'] },
      [
        ...purchases,
        event('big', 'purchase', 'whale', 10, { amount: 5000, transaction_id: 'tb' }),
        event('r', 'refund_request', 'whale', 20, { transaction_id: 'tb' }),
        event('l1', 'user_login', 'hopper', 30, { device_id: 'd1' }),
        event('l2', 'user_login', 'hopper', 31, { device_id: 'd2' }),
      ],
    );
    const alerts = (r.sinks.alerts ?? []) as { pattern_id: string; key: string; event_ids: string[] }[];
    expect(alerts.map((a) => `${a.pattern_id}:${a.key}`).sort()).toEqual(['amount:whale', 'devices:hopper', 'refund:whale', 'velocity:fast']);
    expect(alerts.find((a) => a.pattern_id === 'refund')?.event_ids).toEqual(['big', 'r']);
    expect(r.leases.every((l) => l.done)).toBe(true);
  });
});

describe('durable state of windows', () => {
  const spec = (repartition: boolean) =>
    validateTopology({
      name: 'durable-windows',
      sources: [{ id: 'in', topics: ['t'], eventTime: { field: 'timestamp' } }],
      steps: [
        { id: 'parse', kind: 'parse', from: 'in' },
        { id: 'per-user', kind: 'window', from: 'parse', key: 'user_id', window: { type: 'tumbling', size: '1m' }, aggregate: { n: { fn: 'count' } }, repartition },
      ],
      sinks: [{ id: 'out', kind: 'dynamodb', from: 'per-user', table: 'unused', partitionKey: { name: 'pk', value: '{key}' } }],
    });

  it('a window read without a repartition topic keeps its state in a changelog too (per source partition)', () => {
    expect(internalTopicsOf(spec(false))).toEqual([{ name: 'tributary-durable-windows-in-per-user-changelog', kind: 'changelog' }]);
    expect(internalTopicsOf(spec(true)).map((t) => t.kind)).toEqual(['repartition', 'changelog']);
    const asked: string[] = [];
    const ctx = {
      ...memoryContext({}),
      state: { changelog: (id: string) => (asked.push(id), new MemoryChangelog()) } as unknown as StateBackend,
    };
    const dynamo = new DynamoDBClient({ region: 'us-east-1', endpoint: 'http://127.0.0.1:9', credentials: { accessKeyId: 'x', secretAccessKey: 'x' } });
    const subscription = compileTopology(spec(false), { dynamo })(new Subject(), ctx).subscribe();
    subscription.unsubscribe();
    dynamo.destroy();
    expect(asked).toEqual(['per-user']);
  });

  it('gives each sink runner the batching of its kind: 5,000 records a write to Kafka, rotation-paced files not flushed by periodic checkpoints', () => {
    const topology = validateTopology({
      name: 'batching',
      sources: [{ id: 'in', topics: ['t'] }],
      steps: [{ id: 'parse', kind: 'parse', from: 'in' }],
      sinks: [
        { id: 'to-kafka', kind: 'kafka', from: 'parse', topic: 'out' },
        { id: 'files', kind: 's3-parquet', from: 'parse', bucket: 'lake-bucket' },
      ],
    });
    const asked = new Map<string, unknown>();
    const base = memoryContext({});
    const ctx = { ...base, toSink: ((sink, batching) => (asked.set(sink.id, batching), base.toSink(sink, batching))) as typeof base.toSink };
    const dynamo = new DynamoDBClient({ region: 'us-east-1', endpoint: 'http://127.0.0.1:9', credentials: { accessKeyId: 'x', secretAccessKey: 'x' } });
    const s3 = new S3Client({ region: 'us-east-1', endpoint: 'http://127.0.0.1:9', credentials: { accessKeyId: 'x', secretAccessKey: 'x' }, forcePathStyle: true });
    const subscription = compileTopology(topology, { dynamo, s3, kafka: { brokers: ['127.0.0.1:9'] } })(new Subject(), ctx).subscribe();
    subscription.unsubscribe();
    dynamo.destroy();
    s3.destroy();
    expect(asked.get('to-kafka')).toEqual({ maxBatchRecords: 5_000 });
    expect(asked.get('files')).toEqual({ flushOnCheckpoint: false });
  });
});
