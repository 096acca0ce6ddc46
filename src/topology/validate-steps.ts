import { duration, expression, instant, key, name, oneOf, path, pathProblem, positiveInt, predicate, size, str, tableName, bool } from './checks.ts';
import { DEFAULT_MAX_FUTURE_SKEW_MS, DEFAULT_MIN_TIMESTAMP_MS } from '../operators/event-time.ts';
import { DEFAULT_MAX_DEPTH } from '../operators/parse-json.ts';
import type { Check, Checker, Fields } from './schema.ts';
import { child, entries, fail, fields, isPlainObject, list } from './schema.ts';
import { fraud } from './validate-fraud.ts';
import type { Aggregate, InputRef, ValidStep, WindowShape } from './types.ts';

/** What every step builder gets: the step's id and its resolved `from`. */
export interface StepInput {
  readonly id: string;
  readonly from: readonly InputRef[];
}

type Builder = (f: Fields, input: StepInput, c: Checker) => ValidStep;

/** One builder per step kind: reads the kind's keys, fills defaults, normalizes units. */
export const STEP_KINDS: Readonly<Record<ValidStep['kind'], Builder>> = {
  parse: (f, { id, from }) => ({
    id,
    kind: 'parse',
    from,
    format: f.def('format', oneOf('json'), 'json'),
    maxBytes: f.def('maxBytes', size, 1024 * 1024),
    maxDepth: f.def('maxDepth', positiveInt, DEFAULT_MAX_DEPTH),
    eventTime: f.def('eventTime', eventTimeBounds, { maxFutureSkewMs: DEFAULT_MAX_FUTURE_SKEW_MS, minTimestampMs: DEFAULT_MIN_TIMESTAMP_MS }),
  }),

  validate: (f, { id, from }) => ({
    id,
    kind: 'validate',
    from,
    discriminator: f.def('discriminator', path, 'event_type'),
    common: f.def('common', fieldTypes, {}),
    events: f.opt('events', eventTypes),
    unknownEventTypes: f.def('unknownEventTypes', oneOf('reject', 'pass'), 'reject'),
  }),

  flatten: (f, { id, from }) => ({
    id,
    kind: 'flatten',
    from,
    delimiter: f.def('delimiter', str(), '_'),
    arrays: f.def('arrays', oneOf('keep', 'json'), 'keep'),
  }),

  project: (f, { id, from }) => ({ id, kind: 'project', from, fields: f.req('fields', selection) }),

  map: (f, { id, from }) => ({ id, kind: 'map', from, fields: f.req('fields', selection) }),

  filter: (f, { id, from }) => ({ id, kind: 'filter', from, when: f.req('when', predicate) }),

  dedup: (f, { id, from }) => ({
    id,
    kind: 'dedup',
    from,
    key: f.def('key', key, ['event_id']),
    ttlMs: f.def('ttl', duration(), 3_600_000),
    maxKeys: f.def('maxKeys', positiveInt, 1_000_000),
    durable: f.opt('durable', durable),
    duplicates: f.def('duplicates', oneOf('drop', 'route'), 'drop'),
  }),

  window: (f, { id, from }) => ({
    id,
    kind: 'window',
    from,
    window: f.req('window', windowShape),
    key: f.def('key', key, []),
    aggregate: f.req('aggregate', aggregates),
    graceMs: f.def('grace', duration({ positive: false }), 0),
    maxOutOfOrdernessMs: f.def('maxOutOfOrderness', duration({ positive: false }), 0),
    idleTimeoutMs: f.opt('idleTimeout', duration()),
    emit: f.def('emit', oneOf('final', 'update'), 'final'),
    maxOpenWindows: f.def('maxOpenWindows', positiveInt, 100_000),
    carry: f.def('carry', list(path, { min: 0 }), []),
    repartition: f.def('repartition', bool, true),
  }),

  fraud,

  route: (f, { id, from }) => ({
    id,
    kind: 'route',
    from,
    routes: f.req('routes', routes),
    mode: f.def('mode', oneOf('first', 'all'), 'first'),
    defaultOutput: f.opt('default', name),
  }),

  'parse-field': (f, { id, from }) => {
    const field = f.req('field', path);
    return {
      id,
      kind: 'parse-field',
      from,
      field,
      into: f.def('into', path, field),
      maxDepth: f.def('maxDepth', positiveInt, 32),
      maxBytes: f.def('maxBytes', size, 1024 * 1024),
    };
  },

  rename: (f, { id, from }, c) => {
    const fields = f.def('fields', renames, {});
    const normalize = f.opt('normalize', oneOf('snake_case'));
    if (!f.has('fields') && !f.has('normalize')) c.report(f.at, 'needs fields (a map of names, { from: to }) or normalize: snake_case, or both');
    return { id, kind: 'rename', from, fields, normalize };
  },
};

/** `{ from: to }` of top-level field names: any non-empty names, no two mapped to one. */
const renames: Check<Record<string, string>> = (value, at, c) => {
  const out = entries(str(), (k) => (k === '' || k === '__proto__' ? 'is not a usable field name' : undefined), { min: 1 })(value, at, c);
  if (!out) return out;
  const seen = new Map<string, string>();
  for (const [from, to] of out) {
    if (to === '__proto__') c.report(child(at, from), 'is not a usable field name');
    const earlier = seen.get(to);
    if (earlier !== undefined) c.report(child(at, from), `"${earlier}" is renamed to "${to}" already`);
    seen.set(to, from);
  }
  return Object.fromEntries(out);
};

const eventTimeBounds: Check<{ maxFutureSkewMs: number; minTimestampMs: number }> = (value, at, c) => {
  const f = fields(value, at, c);
  if (!f) return undefined as never;
  const bounds = {
    maxFutureSkewMs: f.def('maxFutureSkew', duration({ positive: false }), DEFAULT_MAX_FUTURE_SKEW_MS),
    minTimestampMs: f.def('minTimestamp', instant, DEFAULT_MIN_TIMESTAMP_MS),
  };
  f.done();
  return bounds;
};

const FIELD_TYPE_RE = /^(string|number|integer|boolean|timestamp|object|array)\??$/;

const fieldType: Check<string> = (value, at, c) => {
  if (typeof value === 'string' && FIELD_TYPE_RE.test(value)) return value;
  return fail(c, at, `must be a field type: string, number, integer, boolean, timestamp, object or array, with a trailing ? if optional (got ${JSON.stringify(value)})`);
};

const fieldTypes: Check<Record<string, string>> = (value, at, c) => {
  const out = entries(fieldType, pathProblem)(value, at, c);
  return out && Object.fromEntries(out);
};

const eventTypes: Check<Record<string, Record<string, string>>> = (value, at, c) => {
  const out = entries((v, a, cc) => (v === null ? {} : fieldTypes(v, a, cc)), undefined, { min: 1 })(value, at, c);
  return out && Object.fromEntries(out);
};

/** Field paths (a list) or `{ name: expression }` (an object), kept in the form given. */
export const selection: Check<readonly string[] | Record<string, string>> = (value, at, c) => {
  if (Array.isArray(value)) return list(path)(value, at, c);
  if (isPlainObject(value)) {
    const out = entries(expression, pathProblem, { min: 1 })(value, at, c);
    return out && Object.fromEntries(out);
  }
  return fail(c, at, 'must be a list of field paths or an object of { field: expression }');
};

const durable: Check<{ table: string }> = (value, at, c) => {
  const f = fields(value, at, c);
  if (!f) return undefined as never;
  const table = f.req('table', tableName);
  f.done();
  return { table };
};

const windowShape: Check<WindowShape> = (value, at, c) => {
  const f = fields(value, at, c);
  if (!f) return undefined as never;
  const type = f.req('type', oneOf('tumbling', 'hopping', 'session'));
  let shape: WindowShape | undefined;
  if (type === 'tumbling') {
    shape = { kind: type, sizeMs: f.req('size', duration()) };
    f.forbid('advance', 'is only for hopping windows');
    f.forbid('gap', 'is only for session windows');
  } else if (type === 'hopping') {
    shape = { kind: type, sizeMs: f.req('size', duration()), advanceMs: f.req('advance', duration()) };
    if (shape.advanceMs > shape.sizeMs) c.report(child(at, 'advance'), 'must not be longer than size');
    f.forbid('gap', 'is only for session windows');
  } else if (type === 'session') {
    shape = { kind: type, gapMs: f.req('gap', duration()) };
    f.forbid('size', 'is not used by session windows (they close after gap)');
    f.forbid('advance', 'is only for hopping windows');
  } else f.skipUnknown();
  f.done();
  return shape as WindowShape;
};

const FNS = ['count', 'sum', 'min', 'max', 'avg', 'distinct', 'approx_distinct', 'top_k'] as const;

const aggregate: Check<Omit<Aggregate, 'name'>> = (value, at, c) => {
  const f = fields(value, at, c);
  if (!f) return undefined as never;
  const fn = f.req('fn', oneOf(...FNS));
  const field = fn === 'count' ? f.opt('field', expression) : f.req('field', expression);
  const k = fn === 'top_k' ? f.def('k', positiveInt, 10) : undefined;
  if (fn !== 'top_k') f.forbid('k', 'is only for top_k');
  const when = f.opt('when', predicate);
  f.done();
  return { fn, field, k, when };
};

const aggregates: Check<Aggregate[]> = (value, at, c) =>
  entries(aggregate, pathProblem, { min: 1 })(value, at, c)?.map(([n, a]) => ({ name: n, ...a }) as Aggregate);

const route: Check<{ output: string; when: string }> = (value, at, c) => {
  const f = fields(value, at, c);
  if (!f) return undefined as never;
  const out = { output: f.req('output', name), when: f.req('when', predicate) };
  f.done();
  return out;
};

const routes: Check<{ output: string; when: string }[]> = (value, at, c) => {
  const out = list(route)(value, at, c);
  const seen = new Set<string>();
  out?.forEach((r, i) => {
    if (typeof r?.output !== 'string') return;
    if (seen.has(r.output)) c.report(child(child(at, i), 'output'), `duplicate output "${r.output}"`);
    seen.add(r.output);
  });
  return out;
};
