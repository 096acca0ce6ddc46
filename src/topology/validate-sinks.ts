import { bool, bucketName, duration, expression, oneOf, positiveInt, size, str, tableName, template, topicName } from './checks.ts';
import type { Check, Checker, Fields } from './schema.ts';
import { child, entries, fail, fields, isPlainObject } from './schema.ts';
import { DEFAULT_MAX_COLUMNS } from '../sinks/s3-parquet-options.ts';
import type { ColumnType } from './spec.ts';
import type { FieldSelection, KeyMapping, ValidSink } from './types.ts';
import { selection, type StepInput } from './validate-steps.ts';

type Builder = (f: Fields, input: StepInput, c: Checker) => ValidSink;

const KEY_HINT = 'a key mapping like { name: "user_id", value: "{user_id}" }';

/** One builder per sink kind. */
export const SINK_KINDS: Readonly<Record<ValidSink['kind'], Builder>> = {
  dynamodb: (f, { id, from }) => {
    const mode = f.def('mode', oneOf('put', 'max', 'add'), 'put');
    const update = mode === 'max' || mode === 'add' ? { attribute: f.req('attribute', str()), value: f.req('value', expression) } : undefined;
    if (mode === 'put') for (const k of ['attribute', 'value']) f.forbid(k, 'is only used with mode max or add');
    return {
      id,
      kind: 'dynamodb',
      from,
      table: f.req('table', tableName),
      partitionKey: f.req('partitionKey', keyMapping, KEY_HINT),
      sortKey: f.opt('sortKey', keyMapping),
      attributes: f.def('attributes', attributes, 'all'),
      ttl: f.opt('ttl', ttl),
      mode,
      update,
      shards: f.def('shards', positiveInt, 1),
      concurrency: f.def('concurrency', positiveInt, 4),
    };
  },

  's3-parquet': (f, { id, from }, c) => {
    const writer = f.def('writer', oneOf('hyparquet', 'parquetjs-lite', 'dsnp', 'parquet-wasm'), 'hyparquet');
    const given = f.def('compression', oneOf('snappy', 'zstd', 'gzip', 'none', 'uncompressed'), 'snappy');
    const compression = given === 'none' ? 'uncompressed' : given;
    if (compression === 'zstd' && (writer === 'parquetjs-lite' || writer === 'dsnp'))
      c.report(child(f.at, 'compression'), `zstd needs the hyparquet or parquet-wasm writer (writer is ${writer})`);
    return {
      id,
      kind: 's3-parquet',
      from,
      bucket: f.req('bucket', bucketName),
      prefix: f.def('prefix', prefix, 'events'),
      columns: f.opt('columns', columns),
      extraFields: f.def('extraFields', oneOf('widen', 'drop'), 'widen'),
      maxColumns: f.def('maxColumns', positiveInt, DEFAULT_MAX_COLUMNS),
      rotation: f.def('rotation', rotation, { rows: 100_000, bytes: 64 * 1024 * 1024, intervalMs: 300_000 }),
      compression,
      timeZone: f.def('timezone', timezone, 'UTC'),
      writer,
    };
  },

  kafka: (f, { id, from }) => ({
    id,
    kind: 'kafka',
    from,
    topic: f.req('topic', topicName),
    key: f.opt('key', expression),
    compression: f.def('compression', oneOf('none', 'gzip', 'snappy', 'lz4', 'zstd'), 'lz4'),
  }),
};

/** Reads an object with `read`, then reports its unknown keys. */
function object<T>(read: (f: Fields) => T): Check<T> {
  return (value, at, c) => {
    const f = fields(value, at, c);
    if (!f) return undefined as never;
    const out = read(f);
    f.done();
    return out;
  };
}

const keyMapping: Check<KeyMapping> = object((f) => ({
  name: f.req('name', str()),
  value: f.req('value', template),
  type: f.def('type', oneOf('string', 'number'), 'string'),
}));

const ttl = object((f) => ({ attribute: f.req('attribute', str()), afterMs: f.req('after', duration()) }));

const attributes: Check<'all' | FieldSelection> = (value, at, c) => {
  if (value === 'all') return 'all';
  if (Array.isArray(value) || isPlainObject(value)) return selection(value, at, c);
  return fail(c, at, 'must be all, a list of field paths or an object of { attribute: expression }');
};

const prefix: Check<string> = (value, at, c) => {
  const text = str({ nonEmpty: false })(value, at, c);
  return text === undefined ? text : text.replace(/^\/+|\/+$/g, '');
};

const columnType = oneOf('string', 'int64', 'double', 'boolean', 'timestamp');

type Column = { type: ColumnType; nullable: boolean };

const column: Check<Column> = (value, at, c) => {
  if (!isPlainObject(value)) return { type: columnType(value, at, c), nullable: true };
  return object((f) => ({ type: f.req('type', columnType), nullable: f.def('nullable', bool, true) }))(value, at, c);
};

const columns: Check<({ name: string } & Column)[]> = (value, at, c) =>
  entries(column, undefined, { min: 1 })(value, at, c)?.map(([name, col]) => ({ name, ...col }));

const rotation = object((f) => ({
  rows: f.def('rows', positiveInt, 100_000),
  bytes: f.def('bytes', size, 64 * 1024 * 1024),
  intervalMs: f.def('interval', duration(), 300_000),
}));

const timezone: Check<string> = (value, at, c) => {
  const zone = str()(value, at, c);
  if (zone === undefined) return zone;
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return zone;
  } catch {
    return fail(c, at, `must be an IANA time zone like "UTC" or "Europe/Paris" (got "${zone}")`);
  }
};
