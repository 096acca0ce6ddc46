import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/core/errors.ts';
import { checkTopology, validateTopology } from '../../src/topology/validate.ts';
import { STEP_KINDS } from '../../src/topology/kinds/index.ts';
import { shopSpec, shopWith } from './fixtures.ts';

const problems = (spec: unknown, env: Record<string, string> = {}) => {
  try {
    validateTopology(spec, { env });
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).problems;
  }
  return [];
};

/** The registered step kinds, as the message lists them. */
const STEP_KIND_NAMES = STEP_KINDS.map((k) => k.kind).join(', ');

describe('validateTopology: bad specs and their exact messages', () => {
  it.each<[string, unknown, string[]]>([
    ['an unknown key near a known one', shopWith('minute', (s) => (s.gracee = '5s')), ['/steps/minute/gracee: unknown key (did you mean "grace"?)']],
    [
      'an unknown key far from any',
      shopWith('minute', (s) => (s.colour = 'red')),
      ['/steps/minute/colour: unknown key (allowed: id, kind, from, window, key, aggregate, grace, maxOutOfOrderness, idleTimeout, emit, maxOpenWindows, carry, repartition)'],
    ],
    ['an unknown top-level key', { ...shopSpec(), version: 2 }, ['/version: unknown key (allowed: name, description, sources, steps, sinks, deadLetters)']],
    ['a wrong type', shopWith('fraud-velocity', (s) => (s.threshold = 'five')), ['/steps/fraud-velocity/threshold: must be an integer (got "five")']],
    ['a list where an object goes', shopWith('counts', (s) => (s.partitionKey = ['user_id'])), ['/sinks/counts/partitionKey: must be an object (got a list)']],
    ['a dangling reference', shopWith('purchases', (s) => (s.from = 'pars')), ['/steps/purchases/from: unknown name "pars" (did you mean "parse"?)']],
    [
      'a reference to nothing alike',
      shopWith('purchases', (s) => (s.from = 'zzz')),
      ['/steps/purchases/from: unknown name "zzz" (sources and steps: tx, parse, purchases, minute, fraud-velocity)'],
    ],
    ['an output the step does not have', shopWith('alerts', (s) => (s.from = 'minute.lat')), ['/sinks/alerts/from: step "minute" has no output "lat" (outputs: late)']],
    [
      'an output of a single-output step',
      shopWith('alerts', (s) => (s.from = ['fraud-velocity', 'parse.invalid'])),
      ['/sinks/alerts/from/1: step "parse" has no output "invalid" (it has only its main output)'],
    ],
    ['a cycle', shopWith('purchases', (s) => (s.from = ['parse', 'fraud-velocity'])), ['/steps/purchases/from: cycle: purchases -> fraud-velocity -> purchases']],
    ['a step reading itself', shopWith('purchases', (s) => (s.from = ['parse', 'purchases'])), ['/steps/purchases/from: cycle: purchases -> purchases']],
    ['a negative grace', shopWith('minute', (s) => (s.grace = '-5s')), ['/steps/minute/grace: must not be negative (got "-5s")']],
    [
      'a dynamodb sink without a key mapping',
      shopWith('counts', (s) => delete s.partitionKey),
      ['/sinks/counts/partitionKey: is required (a key mapping like { name: "user_id", value: "{user_id}" })'],
    ],
    ['an invalid duration', shopWith('fraud-velocity', (s) => (s.within = 'sixty')), ['/steps/fraud-velocity/within: must be a duration like "60s"']],
    ['a zero duration', shopWith('fraud-velocity', (s) => (s.within = '0s')), ['/steps/fraud-velocity/within: must be greater than 0 (got "0s")']],
    [
      'an invalid predicate',
      shopWith('purchases', (s) => (s.when = "event_type = 'purchase'")),
      [`/steps/purchases/when: unexpected character at column 12 in "event_type = 'purchase'"`],
    ],
    [
      'a duplicate id',
      shopWith('alerts', (s) => (s.id = 'counts')),
      ['/sinks/1/id: duplicate id "counts" (first used at /sinks/counts)'],
    ],
    [
      'a kind misspelt',
      shopWith('minute', (s) => (s.kind = 'windw')),
      [`/steps/minute/kind: must be one of ${STEP_KIND_NAMES} (got "windw"; did you mean "window"?)`],
    ],
    ['a raw source read by a filter', shopWith('purchases', (s) => (s.from = 'tx')), ['/steps/purchases/from: "tx" is a source of raw records: read it through a parse step']],
    ['a parse step reading a step', shopWith('parse', (s) => (s.from = 'purchases')), ['/steps/parse/from: a parse step reads sources only ("purchases" is a step)']],
    ['a sink as an input', shopWith('alerts', (s) => (s.from = 'counts')), ['/sinks/alerts/from: "counts" is a sink: sinks have no outputs']],
    ['an input listed twice', shopWith('alerts', (s) => (s.from = ['fraud-velocity', 'fraud-velocity'])), ['/sinks/alerts/from/1: "fraud-velocity" is listed twice']],
    [
      'a route read without an output',
      shopWith('purchases', (s) => Object.assign(s, { kind: 'route', routes: [{ output: 'big', when: 'amount > 100' }], when: undefined })),
      [
        '/steps/minute/from: step "purchases" has only named outputs: write purchases.<output> (outputs: big)',
        '/steps/fraud-velocity/from: step "purchases" has only named outputs: write purchases.<output> (outputs: big)',
      ],
    ],
    ['a key of another fraud pattern', shopWith('fraud-velocity', (s) => (s.factor = 3)), ['/steps/fraud-velocity/factor: is not used by the velocity pattern']],
    [
      'a hopping window advancing past its size',
      shopWith('minute', (s) => (s.window = { type: 'hopping', size: '1m', advance: '2m' })),
      ['/steps/minute/window/advance: must not be longer than size'],
    ],
    [
      'an unset environment variable',
      shopWith('counts', (s) => (s.table = '${TABLE}')),
      ['/sinks/counts/table: environment variable TABLE is not set (write ${TABLE:-default} to give a default)'],
    ],
    ['a table name out of DynamoDB rules', shopWith('counts', (s) => (s.table = 'a b')), ['/sinks/counts/table: must be a DynamoDB table name (3 to 255 letters, digits, "_", "-" and ".") (got "a b")']],
    [
      'zstd on a Parquet writer without it',
      shopWith('alerts', (s) => {
        Object.assign(s, { kind: 's3-parquet', bucket: 'events', writer: 'parquetjs-lite', compression: 'zstd', timezone: 'Mars/Olympus' });
        delete s.topic;
      }),
      [
        '/sinks/alerts/compression: zstd needs the hyparquet writer (writer is parquetjs-lite)',
        '/sinks/alerts/timezone: must be an IANA time zone like "UTC" or "Europe/Paris" (got "Mars/Olympus")',
      ],
    ],
    ['not an object at all', 42, ['/: must be an object (got 42)']],
    ['an empty object', {}, ['/name: is required', '/sources: is required', '/sinks: is required']],
  ])('%s', (_, spec, expected) => {
    expect(problems(spec)).toEqual(expected);
  });

  it('refuses a template with an unmatched brace', () => {
    expect(problems(shopWith('counts', (s) => (s.partitionKey = { name: 'pk', value: 'USER#{user_id' })))).toEqual([
      '/sinks/counts/partitionKey/value: has an unmatched "{" or "}" (placeholders look like {user_id})',
    ]);
  });

  it('puts the template compiler message under the key path', () => {
    const list = problems(shopWith('counts', (s) => (s.partitionKey = { name: 'pk', value: 'USER#{user id}' })));
    expect(list).toHaveLength(1);
    expect(list[0]).toMatch(/^\/sinks\/counts\/partitionKey\/value: .*column \d+ in "user id"$/);
  });

  it('reports every problem at once, in document order', () => {
    const spec = shopWith('minute', (s) => {
      s.grace = '-1s';
      s.emit = 'always';
      s.aggregate = { n: { fn: 'sum' } };
    });
    (spec.sinks as Record<string, unknown>[])[0]!.from = 'fraud-velocty';
    (spec.sinks as Record<string, unknown>[])[1]!.partitionKey = undefined;
    expect(problems(spec)).toEqual([
      '/steps/minute/aggregate/n/field: is required',
      '/steps/minute/grace: must not be negative (got "-1s")',
      '/steps/minute/emit: must be one of final, update (got "always")',
      '/sinks/alerts/from: unknown name "fraud-velocty" (did you mean "fraud-velocity"?)',
      '/sinks/counts/partitionKey: is required (a key mapping like { name: "user_id", value: "{user_id}" })',
    ]);
  });

  it('does not pile unknown-key errors on an item whose kind is invalid', () => {
    expect(problems(shopWith('minute', (s) => (s.kind = 42)))).toEqual([`/steps/minute/kind: must be one of ${STEP_KIND_NAMES} (got 42)`]);
  });

  it('checkTopology returns the problems instead of throwing', () => {
    const result = checkTopology(shopWith('minute', (s) => (s.grace = '-5s')), { env: {} });
    expect(result.topology).toBeUndefined();
    expect(result.problems).toEqual([{ path: '/steps/minute/grace', keys: ['steps', 2, 'grace'], message: 'must not be negative (got "-5s")' }]);
  });
});

describe('validateTopology: the normalized result', () => {
  it('fills defaults, turns durations into ms and resolves inputs', () => {
    const t = validateTopology(shopSpec(), { env: {} });
    expect(t.sources[0]).toEqual({
      id: 'tx',
      topics: ['transaction-events'],
      client: 'platformatic',
      group: 'tributary-shop-tx',
      format: 'json',
      eventTime: 'kafka',
      startFrom: 'committed',
    });
    expect(t.steps.find((s) => s.id === 'minute')).toEqual({
      id: 'minute',
      kind: 'window',
      from: [{ ref: 'purchases', id: 'purchases' }],
      window: { kind: 'tumbling', sizeMs: 60_000 },
      key: ['user_id'],
      aggregate: [{ name: 'n', fn: 'count', field: undefined, k: undefined, when: undefined }],
      graceMs: 0,
      maxOutOfOrdernessMs: 0,
      idleTimeoutMs: undefined,
      emit: 'final',
      maxOpenWindows: 25_000,
      carry: [],
      repartition: true,
    });
    expect(t.steps.find((s) => s.id === 'fraud-velocity')).toMatchObject({ pattern: 'velocity', key: ['user_id'], threshold: 5, withinMs: 60_000, severity: 'medium', maxKeys: 25_000 });
    expect(t.sinks.find((s) => s.id === 'counts')).toMatchObject({ attributes: 'all', mode: 'put', update: undefined, shards: 1, concurrency: 8 });
    expect(t.deadLetters).toEqual({ topic: 'tributary-dead-letters' });
  });

  it('resolves <step>.<output> references', () => {
    const spec = shopWith('alerts', (s) => (s.from = ['fraud-velocity', 'minute.late']));
    expect(validateTopology(spec, { env: {} }).sinks[0]?.from).toEqual([
      { ref: 'fraud-velocity', id: 'fraud-velocity' },
      { ref: 'minute.late', id: 'minute', output: 'late' },
    ]);
  });

  it('substitutes ${VAR} and ${VAR:-default} from the given environment', () => {
    const spec = shopWith('counts', (s) => (s.table = '${TABLE_PREFIX:-}counts_${STAGE}'));
    expect(validateTopology(spec, { env: { STAGE: 'prod' } }).sinks[1]).toMatchObject({ table: 'counts_prod' });
    expect(validateTopology(spec, { env: { STAGE: 'dev', TABLE_PREFIX: 'acme_' } }).sinks[1]).toMatchObject({ table: 'acme_counts_dev' });
  });

  it('reads Parquet columns as a type or { type, nullable }, and none as uncompressed', () => {
    const spec = shopWith('alerts', (s) => {
      Object.assign(s, { kind: 's3-parquet', bucket: 'events', columns: { user_id: { type: 'string', nullable: false }, amount: 'double' }, compression: 'none' });
      delete s.topic;
    });
    expect(validateTopology(spec, { env: {} }).sinks[0]).toMatchObject({
      columns: [
        { name: 'user_id', type: 'string', nullable: false },
        { name: 'amount', type: 'double', nullable: true },
      ],
      compression: 'uncompressed',
      writer: 'hyparquet',
      maxColumns: 256,
      timeZone: 'UTC',
      rotation: { rows: 100_000, bytes: 64 * 1024 * 1024, intervalMs: 300_000 },
    });
  });

  it('gives the parse step its input bounds: defaults, widened, and refused', () => {
    const t = validateTopology(shopSpec(), { env: {} });
    expect(t.steps.find((s) => s.id === 'parse')).toMatchObject({ maxBytes: 1024 * 1024, maxDepth: 64, eventTime: { maxFutureSkewMs: 3_600_000, minTimestampMs: Date.UTC(2000, 0, 1) } });
    const wide = shopWith('parse', (s) => Object.assign(s, { maxDepth: 200, eventTime: { maxFutureSkew: '7d', minTimestamp: '${MIN_TIME:-1970-01-01}' } }));
    expect(validateTopology(wide, { env: {} }).steps.find((s) => s.id === 'parse')).toMatchObject({ maxDepth: 200, eventTime: { maxFutureSkewMs: 7 * 86_400_000, minTimestampMs: 0 } });
    expect(validateTopology(shopWith('parse', (s) => (s.eventTime = { minTimestamp: 946_684_800_000 })), { env: {} }).steps[0]).toMatchObject({ eventTime: { minTimestampMs: 946_684_800_000 } });
    expect(
      problems(shopWith('parse', (s) => Object.assign(s, { maxDepth: 0, eventTime: { maxFutureSkew: 'soon', minTimestamp: '1969-12-31T23:59:59Z', maxFutureSkw: '1h' } }))),
    ).toEqual([
      '/steps/parse/maxDepth: must be at least 1 (got 0)',
      '/steps/parse/eventTime/maxFutureSkew: must be a duration like "60s"',
      '/steps/parse/eventTime/minTimestamp: must be from 1970-01-01 to the end of year 9999 (got "1969-12-31T23:59:59Z")',
      '/steps/parse/eventTime/maxFutureSkw: unknown key (did you mean "maxFutureSkew"?)',
    ]);
    expect(problems(shopWith('parse', (s) => (s.eventTime = { minTimestamp: 'last tuesday' })))).toEqual([
      '/steps/parse/eventTime/minTimestamp: must be an ISO-8601 time like "2000-01-01T00:00:00Z" or epoch ms (got "last tuesday")',
    ]);
  });

  it('takes maxColumns for a Parquet sink, a positive integer', () => {
    const parquet = (maxColumns: unknown) =>
      shopWith('alerts', (s) => {
        Object.assign(s, { kind: 's3-parquet', bucket: 'events', maxColumns });
        delete s.topic;
      });
    expect(validateTopology(parquet(1000), { env: {} }).sinks[0]).toMatchObject({ maxColumns: 1000 });
    expect(problems(parquet(0))).toEqual(['/sinks/alerts/maxColumns: must be at least 1 (got 0)']);
  });

  it('is deeply frozen', () => {
    const t = validateTopology(shopSpec(), { env: {} });
    expect(Object.isFrozen(t)).toBe(true);
    expect(Object.isFrozen(t.steps[2])).toBe(true);
    expect(Object.isFrozen(t.steps[2]?.from)).toBe(true);
  });
});

describe('defaults declared once', () => {
  it('the YAML and the TypeScript API give a sink the same defaults (DynamoDB concurrency, S3 rotation)', async () => {
    const { DEFAULT_DYNAMODB_CONCURRENCY } = await import('../../src/sinks/dynamodb.ts');
    const { DEFAULT_ROTATION, resolveOptions } = await import('../../src/sinks/s3-parquet-options.ts');
    const spec = {
      name: 't',
      sources: [{ id: 's', topics: ['t'], group: 'g' }],
      steps: [{ id: 'p', kind: 'parse', from: 's' }],
      sinks: [
        { id: 'd', kind: 'dynamodb', from: 'p', table: 'xyz', partitionKey: { name: 'k', value: '{k}' } },
        { id: 'f', kind: 's3-parquet', from: 'p', bucket: 'bucket-b' },
      ],
    };
    const topology = validateTopology(spec, { env: {} });
    expect(topology.sinks[0]).toMatchObject({ concurrency: DEFAULT_DYNAMODB_CONCURRENCY });
    expect((topology.sinks[1] as { rotation: unknown }).rotation).toEqual(DEFAULT_ROTATION);
    const code = resolveOptions({ id: 'f', client: {} as never, bucket: 'b' });
    expect([code.maxFileRows, code.maxFileBytes, code.maxFileAgeMs]).toEqual([DEFAULT_ROTATION.rows, DEFAULT_ROTATION.bytes, DEFAULT_ROTATION.intervalMs]);
  });
});

describe('fan-in into steps that apply their input by offset', () => {
  const withRefunds = (from: unknown) => {
    const spec = shopSpec() as unknown as { steps: Record<string, unknown>[] };
    spec.steps.push(
      { id: 'refunds', kind: 'filter', from: 'parse', when: "event_type == 'refund_request'" },
      { id: 'by-type', kind: 'route', from: 'parse', routes: [{ output: 'buy', when: "event_type == 'purchase'" }, { output: 'refund', when: "event_type == 'refund_request'" }] },
      {
        id: 'refund-after',
        kind: 'fraud',
        pattern: 'sequence',
        from,
        correlate: 'event_data.transaction_id',
        steps: [
          { name: 'purchase', when: "event_type == 'purchase'" },
          { name: 'refund', when: "event_type == 'refund_request'" },
        ],
        within: '5m',
      },
    );
    return spec;
  };

  it('refuses two branches of one topic: batches would hand one partition over out of offset order', () => {
    expect(problems(withRefunds(['purchases', 'refunds']))).toEqual([
      expect.stringMatching(/^\/steps\/refund-after\/from: "refund-after" applies its input in offset order, and "purchases" and "refunds" both carry records of source "tx"/),
    ]);
  });

  it('takes several outputs of one step, which are read as one stream in order', () => {
    expect(problems(withRefunds(['by-type.buy', 'by-type.refund']))).toEqual([]);
  });

  it('refuses it for a repartitioned window too: it skips what is at or below the last offset of each upstream partition', () => {
    const spec = shopWith('minute', (step) => {
      step.from = ['purchases', 'parse'];
    });
    expect(problems(spec)).toEqual([expect.stringMatching(/^\/steps\/minute\/from: "minute" applies its input in offset order, and "purchases" and "parse" both carry records of source "tx"/)]);
  });
});
