import { bool, bucketName, path, duration, expression, oneOf, positiveInt, predicate, size, str, tableName, template, topicName } from './checks.ts';
import type { Check, Checker, Fields } from './schema.ts';
import { child, entries, fail, fields, isPlainObject, list, oneOrMore } from './schema.ts';
import type { NodeInfo } from './references.ts';
import { DEFAULT_DYNAMODB_CONCURRENCY } from '../sinks/dynamodb.ts';
import { DEFAULT_MAX_COLUMNS, DEFAULT_ROTATION } from '../sinks/s3-parquet-options.ts';
import type { ColumnType } from './spec.ts';
import { latestOptionProblems } from '../sinks/dynamodb-latest.ts';
import type { DynamoDbSink, FieldSelection, KeyMapping, LatestMode, ValidSink, ValidStep } from './types.ts';
import { mappedAttributeNames } from '../sinks/dynamodb-item.ts';
import { selection, type StepInput } from './validate-steps.ts';

type Builder = (f: Fields, input: StepInput, c: Checker) => ValidSink;

const KEY_HINT = 'a key mapping like { name: "user_id", value: "{user_id}" }';

/** One builder per sink kind. */
export const SINK_KINDS: Readonly<Record<ValidSink['kind'], Builder>> = {
  dynamodb: (f, { id, from }, c) => {
    const mode = f.def('mode', oneOf('put', 'max', 'add', 'update', 'latest'), 'put');
    const update = mode === 'max' || mode === 'add' ? { attribute: f.req('attribute', str()), value: f.req('value', expression) } : undefined;
    if (mode === 'put' || mode === 'update' || mode === 'latest') for (const k of ['attribute', 'value']) f.forbid(k, 'is only used with mode max or add');
    const ifAbsent = mode === 'update' ? f.opt('ifAbsent', list(str())) : undefined;
    if (mode !== 'update') f.forbid('ifAbsent', 'is only used with mode update');
    const applyOnce = mode === 'add' ? f.def('applyOnce', bool, false) : false;
    if (mode !== 'add') f.forbid('applyOnce', 'is only used with mode add');
    const latest = mode === 'latest' ? latestMode(f) : undefined;
    if (mode !== 'latest') for (const k of ['version', 'delete', 'onEqualVersion', 'tombstoneAttribute']) f.forbid(k, 'is only used with mode latest');
    const sink = {
      id,
      kind: 'dynamodb' as const,
      from,
      table: f.req('table', tableName),
      partitionKey: f.req('partitionKey', keyMapping, KEY_HINT),
      sortKey: f.opt('sortKey', keyMapping),
      attributes: f.def('attributes', attributes, 'all'),
      ttl: f.opt('ttl', ttl),
      mode,
      update,
      latest,
      ifAbsent,
      applyOnce,
      shards: f.def('shards', positiveInt, 1),
      concurrency: f.def('concurrency', positiveInt, DEFAULT_DYNAMODB_CONCURRENCY),
    };
    if (ifAbsent !== undefined) checkIfAbsent(sink, ifAbsent, f, c);
    if (latest !== undefined && latest.version?.every((v) => typeof v === 'string')) checkLatest(sink, latest, f, c);
    return sink;
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
      partitionBy: f.def('partitionBy', partitionBy, []),
      columns: f.opt('columns', columns),
      extraFields: f.def('extraFields', oneOf('widen', 'drop'), 'widen'),
      maxColumns: f.def('maxColumns', positiveInt, DEFAULT_MAX_COLUMNS),
      rotation: f.def('rotation', rotation, DEFAULT_ROTATION),
      compression,
      timeZone: f.def('timezone', timezone, 'UTC'),
      writer,
    };
  },

  's3-raw': (f, { id, from }, c) => {
    const layout = f.def('layout', oneOf('source', 'dead-letters'), 'source');
    const format = f.def('format', oneOf('record', 'value'), 'record');
    if (layout === 'dead-letters' && format === 'value') c.report(child(f.at, 'format'), 'must be record with layout dead-letters (it keeps the headers)');
    return {
      id,
      kind: 's3-raw',
      from,
      bucket: f.req('bucket', bucketName),
      prefix: f.def('prefix', prefix, layout === 'dead-letters' ? 'errors' : 'raw'),
      format,
      compression: f.def('compression', oneOf('gzip', 'zstd', 'none'), 'gzip'),
      layout,
      rotation: f.def('rotation', rotation, DEFAULT_ROTATION),
      timeZone: f.def('timezone', timezone, 'UTC'),
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

/** The version attributes against the key, TTL and tombstone names, and sharding (`latestOptionProblems` of the sink). */
function checkLatest(sink: Omit<DynamoDbSink, 'id' | 'from' | 'latest'>, latest: LatestMode, f: Fields, c: Checker): void {
  const reserved = {
    ...(sink.partitionKey?.name ? { partitionKey: sink.partitionKey } : {}),
    ...(sink.sortKey?.name ? { sortKey: sink.sortKey } : {}),
    ...(sink.ttl?.attribute ? { ttl: sink.ttl } : {}),
    shards: sink.shards,
  };
  // Syntax errors in the expressions are reported by their own checks already.
  const problems = latestOptionProblems({ version: latest.version, tombstoneAttribute: latest.tombstoneAttribute }, reserved).filter((p) => !p.startsWith('latest.version['));
  for (const problem of problems) c.report(child(f.at, problem.startsWith('shards') ? 'shards' : 'version'), problem.replace(/^latest\.version: |^shards /, ''));
}

/** `ifAbsent`: attributes the sink maps, or its TTL attribute; not its keys. */
function checkIfAbsent(sink: Pick<DynamoDbSink, 'partitionKey' | 'sortKey' | 'ttl' | 'attributes'>, names: readonly string[], f: Fields, c: Checker): void {
  const mapped = mappedAttributeNames(sink.attributes);
  names.forEach((name, i) => {
    const at = child(child(f.at, 'ifAbsent'), i);
    if (typeof name !== 'string') return;
    if ([sink.partitionKey?.name, sink.sortKey?.name].includes(name)) c.report(at, `"${name}" is a key: ifAbsent lists mapped attributes (or the TTL attribute)`);
    else if (mapped !== undefined && !mapped.includes(name) && name !== sink.ttl?.attribute)
      c.report(at, `"${name}" is not one of the attributes (${[...mapped, ...(sink.ttl ? [sink.ttl.attribute] : [])].join(', ') || 'none'})`);
  });
}

/** Steps that pass each source partition's records on in offset order, one by one (no window, no fraud pattern). */
const ORDER_KEEPING = new Set<ValidStep['kind']>(['parse', 'validate', 'flatten', 'project', 'map', 'filter', 'dedup', 'route', 'parse-field', 'rename']);

/**
 * `applyOnce` needs each source partition's records in offset order: every step upstream of the sink
 * must keep it (a window emits later, in key order, through a repartition topic).
 */
export function checkApplyOnce(nodes: ReadonlyMap<string, NodeInfo>, c: Checker): void {
  for (const node of nodes.values()) {
    if (node.role !== 'sink' || node.kind !== 'dynamodb' || (node.value as DynamoDbSink | undefined)?.applyOnce !== true) continue;
    const seen = new Set<string>();
    const pending = node.inputs.map((i) => i.input.id);
    while (pending.length > 0) {
      const id = pending.pop() as string;
      if (seen.has(id)) continue;
      seen.add(id);
      const upstream = nodes.get(id);
      if (upstream === undefined || upstream.role === 'source') continue;
      if (upstream.kind !== undefined && !ORDER_KEEPING.has(upstream.kind as ValidStep['kind'])) {
        c.report(child(node.at, 'applyOnce'), `needs the records in source-partition order, and "${id}" (${upstream.kind}) upstream does not keep it: read from stateless steps (filter, route, map, dedup …)`);
        break;
      }
      pending.push(...upstream.inputs.map((i) => i.input.id));
    }
  }
}

/** `mode: latest`: its own keys of the sink object. */
function latestMode(f: Fields): LatestMode {
  return {
    version: f.req('version', oneOrMore(expression), 'the version fields compared in order, like [updatedAt, sequence_number]'),
    delete: f.opt('delete', predicate),
    onEqualVersion: f.def('onEqualVersion', oneOf('skip', 'overwrite'), 'skip'),
    tombstoneAttribute: f.def('tombstoneAttribute', str(), '_deleted'),
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
  if (Array.isArray(value) && value.length === 0) return []; // only the keys (and TTL): a counter sets nothing else
  if (Array.isArray(value) || isPlainObject(value)) return selection(value, at, c);
  return fail(c, at, 'must be all, a list of field paths or an object of { attribute: expression }');
};

const prefix: Check<string> = (value, at, c) => {
  const text = str({ nonEmpty: false })(value, at, c);
  return text === undefined ? text : text.replace(/^\/+|\/+$/g, '');
};

/** One field path or a list of distinct ones. */
const partitionBy: Check<string[]> = (value, at, c) => {
  const fields = oneOrMore(path)(value, at, c);
  if (fields === undefined || fields.some((f) => typeof f !== 'string')) return fields;
  const names = fields.map((f) => f.replaceAll('.', '_'));
  if (new Set(names).size !== names.length) return fail(c, at, `lists a field twice (directory names: ${names.join(', ')})`);
  return fields;
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
