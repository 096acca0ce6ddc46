import { ConfigError } from '../../../core/errors.ts';
import { defaultDynamoConcurrency, dynamoDbSink } from '../../../sinks/dynamodb.ts';
import { mappedAttributeNames } from '../../../sinks/dynamodb-item.ts';
import { latestOptionProblems } from '../../../sinks/dynamodb-latest.ts';
import { tableDefinitionOf } from '../../../sinks/dynamodb-table.ts';
import { bool, duration, expression, oneOf, positiveInt, predicate, str, tableName, template } from '../../checks.ts';
import type { Checker, Described } from '../../schema.ts';
import { child, described, fail, isPlainObject, list, oneOrMore } from '../../schema.ts';
import { lastSegment, object, properties, selection } from '../common.ts';
import { defineSink, option, type NodeBase, type OptionReader } from '../kind.ts';
import type { FieldSelection } from '../steps/project.ts';
import type { Duration } from '../../spec.ts';

/** A DynamoDB key attribute: its name and a `{path}` template for its value. */
export interface KeyMappingSpec {
  readonly name: string;
  readonly value: string;
  /** Default `string`. */
  readonly type?: 'string' | 'number';
}

export interface DynamoDbSinkSpec {
  readonly id: string;
  readonly kind: 'dynamodb';
  readonly from: string | readonly string[];
  readonly table: string;
  readonly partitionKey: KeyMappingSpec;
  readonly sortKey?: KeyMappingSpec;
  /** `all` (default), a list of paths, or `{ attribute: expression }`; `[]` writes only the keys (and TTL). */
  readonly attributes?: 'all' | readonly string[] | Readonly<Record<string, string>>;
  /** Expire items `after` their event time, in `attribute` (epoch seconds). */
  readonly ttl?: { readonly attribute: string; readonly after: Duration };
  /**
   * `put` (default); `max` keeps the larger `value` in `attribute`; `add` adds `value` to it;
   * `update` SETs the mapped attributes a record has on the item (an attribute the record lacks is
   * left as stored), unconditionally; `latest`: see `version`.
   */
  readonly mode?: 'put' | 'max' | 'add' | 'update' | 'latest';
  readonly attribute?: string;
  readonly value?: string;
  /** `latest` only: the version fields, compared in order (`[updatedAt, sequence_number]`); the item is written only when its stored version is lower. */
  readonly version?: string | readonly string[];
  /** `latest` only: records matching this predicate (`"op == 'REMOVE'"`) delete their item, leaving a tombstone. */
  readonly delete?: string;
  /** `latest` only: an equal stored version is left (`skip`, default) or written over (`overwrite`). */
  readonly onEqualVersion?: 'skip' | 'overwrite';
  /** `latest` only: the boolean attribute marking a tombstone. Default `_deleted`. */
  readonly tombstoneAttribute?: string;
  /**
   * `update` only: mapped attributes (or the TTL attribute) set only while the item has none
   * (`if_not_exists`), e.g. `[session_status]`: a login's `'active'` never overwrites a logout's `'closed'`.
   */
  readonly ifAbsent?: readonly string[];
  /**
   * `add` only: apply each source record once, even replayed. Each update sets a guard attribute per
   * source topic-partition to the record's offset, on condition that the stored one is lower. The
   * sink's input must keep source-partition order (stateless steps only; no window or fraud step upstream).
   */
  readonly applyOnce?: boolean;
  /** Writers, each owning a hash range of keys (per-key order kept). Default 1. */
  readonly shards?: number;
  /** Requests in flight per shard. Default 8 BatchWriteItem requests in put mode, 32 single-item requests in the others. */
  readonly concurrency?: number;
}

export interface KeyMapping {
  readonly name: string;
  /** A `{path}` template. */
  readonly value: string;
  readonly type: 'string' | 'number';
}

export interface LatestMode {
  readonly version: readonly string[];
  readonly delete: string | undefined;
  readonly onEqualVersion: 'skip' | 'overwrite';
  readonly tombstoneAttribute: string;
}

export interface DynamoDbSink extends NodeBase {
  readonly kind: 'dynamodb';
  readonly table: string;
  readonly partitionKey: KeyMapping;
  readonly sortKey: KeyMapping | undefined;
  readonly attributes: 'all' | FieldSelection;
  readonly ttl: { readonly attribute: string; readonly afterMs: number } | undefined;
  readonly mode: 'put' | 'max' | 'add' | 'update' | 'latest';
  /** For `max`/`add`: the attribute updated and the expression giving the new value. */
  readonly update: { readonly attribute: string; readonly value: string } | undefined;
  /** For `latest`: as the sink's `DynamoLatestOptions`. */
  readonly latest: LatestMode | undefined;
  /** For `update`: attributes set only while the item has none. */
  readonly ifAbsent: readonly string[] | undefined;
  /** For `add`: each source offset applied once (a guard attribute per source partition). */
  readonly applyOnce: boolean;
  readonly shards: number;
  readonly concurrency: number;
}

const keyChecks = { name: str(), value: template, type: oneOf('string', 'number') };
const keyMapping: Described<KeyMapping> = object(
  (f) => ({ name: f.req('name', keyChecks.name), value: f.req('value', keyChecks.value), type: f.def('type', keyChecks.type, 'string') }),
  properties(keyChecks, { name: 'The attribute name.', value: 'A {path} template: "USER#{user_id}".', type: 'Default string.' }, ['name', 'value']),
);

const ttl = object(
  (f) => ({ attribute: f.req('attribute', str()), afterMs: f.req('after', duration()) }),
  properties({ attribute: str(), after: duration() }, { attribute: 'The TTL attribute (epoch seconds).', after: 'How long after the event time an item expires.' }, ['attribute', 'after']),
);

const attributes: Described<'all' | FieldSelection> = described(
  (value, at, c) => {
    if (value === 'all') return 'all';
    if (Array.isArray(value) && value.length === 0) return []; // only the keys (and TTL): a counter sets nothing else
    if (Array.isArray(value) || isPlainObject(value)) return selection(value, at, c);
    return fail(c, at, 'must be all, a list of field paths or an object of { attribute: expression }');
  },
  { anyOf: [{ const: 'all' }, { type: 'array', maxItems: 0 }, selection.schema] },
);

const LATEST = ['latest'];

const options = {
  table: option(tableName, { required: true, doc: 'The table.' }),
  partitionKey: option(keyMapping, { required: true, hint: 'a key mapping like { name: "user_id", value: "{user_id}" }', doc: 'The partition key: { name, value: "{path}" template, type }.' }),
  sortKey: option(keyMapping, { doc: 'The sort key, as partitionKey.' }),
  attributes: option(attributes, { default: 'all', doc: 'all, a list of paths, or { attribute: expression }; [] writes only the keys (and TTL).' }),
  ttl: option(ttl, { doc: 'Expire items after their event time: { attribute, after }.' }),
  mode: option(oneOf('put', 'max', 'add', 'update', 'latest'), {
    default: 'put',
    doc: 'put; max keeps the larger value in attribute; add adds value to it; update SETs the mapped attributes; latest writes when the version is higher.',
  }),
  attribute: option(str(), { required: true, for: ['max', 'add'], doc: 'The attribute max or add updates.' }),
  value: option(expression, { required: true, for: ['max', 'add'], doc: 'The expression max or add applies.' }),
  ifAbsent: option(list(str()), { for: ['update'], doc: 'Mapped attributes (or the TTL attribute) set only while the item has none.' }),
  applyOnce: option(bool, { default: false, for: ['add'], doc: 'Apply each source record once, even replayed (a guard attribute per source partition); needs source-partition order upstream.' }),
  version: option(oneOrMore(expression), {
    required: true,
    for: LATEST,
    hint: 'the version fields compared in order, like [updatedAt, sequence_number]',
    doc: 'The version fields compared in order; the item is written only when its stored version is lower.',
  }),
  delete: option(predicate, { for: LATEST, doc: 'Records matching this predicate delete their item, leaving a tombstone.' }),
  onEqualVersion: option(oneOf('skip', 'overwrite'), { default: 'skip', for: LATEST, doc: 'An equal stored version is left (skip) or written over (overwrite).' }),
  tombstoneAttribute: option(str(), { default: '_deleted', for: LATEST, doc: 'The boolean attribute marking a tombstone.' }),
  shards: option(positiveInt, { default: 1, doc: 'Writers, each owning a hash range of keys (per-key order kept).' }),
  concurrency: option(positiveInt, { doc: 'Requests in flight per shard: BatchWriteItem requests in put mode (default 8), single-item requests in the other modes (default 32; a key\'s writes stay in order).' }),
};

export const dynamodbKind = defineSink<DynamoDbSinkSpec, DynamoDbSink>()({
  kind: 'dynamodb',
  doc: 'Writes records as DynamoDB items, in batches with retries of unprocessed items; put, max, add, update or latest per mode.',
  variantKey: 'mode',
  options,
  read: (o, base, c) => {
    const mode = o.get('mode');
    o.variant(mode);
    const update = mode === 'max' || mode === 'add' ? { attribute: o.get('attribute'), value: o.get('value') } : undefined;
    const ifAbsent = o.get('ifAbsent');
    const applyOnce = o.get('applyOnce') ?? false;
    const latest = mode === 'latest' ? latestMode(o) : undefined;
    const sink = {
      ...base,
      kind: 'dynamodb' as const,
      table: o.get('table'),
      partitionKey: o.get('partitionKey'),
      sortKey: o.get('sortKey'),
      attributes: o.get('attributes'),
      ttl: o.get('ttl'),
      mode,
      update,
      latest,
      ifAbsent,
      applyOnce,
      shards: o.get('shards'),
      concurrency: o.get('concurrency') ?? defaultDynamoConcurrency(mode),
    };
    if (ifAbsent !== undefined) checkIfAbsent(sink, ifAbsent, o, c);
    if (latest !== undefined && latest.version?.every((v) => typeof v === 'string')) checkLatest(sink, latest, o, c);
    return sink;
  },
  compile: (sink, ctx, deps) => {
    const client = deps.sinkDynamo ?? deps.dynamo;
    if (!client) throw new ConfigError(`/sinks/${sink.id}: no DynamoDB client was given to the compiler`);
    return dynamoDbSink(
      {
        id: sink.id,
        table: sink.table,
        client,
        partitionKey: sink.partitionKey,
        ...(sink.sortKey ? { sortKey: sink.sortKey } : {}),
        attributes: sink.attributes,
        ...(sink.ttl ? { ttl: sink.ttl } : {}),
        mode: sink.mode,
        ...(sink.update ? { update: sink.update } : {}),
        ...(sink.latest ? { latest: sink.latest } : {}),
        ...(sink.ifAbsent ? { ifAbsent: sink.ifAbsent } : {}),
        ...(sink.applyOnce ? { applyOnce: true } : {}),
        ...(sink.shards > 1 ? { shards: sink.shards } : {}),
        concurrency: sink.concurrency,
      },
      ctx.sinkContext,
    );
  },
  describe: (sink) => {
    if (sink.latest !== undefined) return `${sink.table} (latest by ${sink.latest.version.map(lastSegment).join(', ')}${sink.latest.delete === undefined ? '' : ', deletes'})`;
    if (sink.mode === 'update') return `${sink.table} (update)`;
    return sink.update === undefined ? sink.table : `${sink.table} (${sink.mode} ${sink.update.attribute}${sink.applyOnce ? ', once' : ''})`;
  },
  tables: (sink) => [
    tableDefinitionOf({
      table: sink.table,
      // A sharded key is a string whatever the key's own type.
      partitionKey: sink.shards > 1 ? { ...sink.partitionKey, type: 'string' } : sink.partitionKey,
      ...(sink.sortKey ? { sortKey: sink.sortKey } : {}),
      ...(sink.ttl ? { ttl: sink.ttl } : {}),
    }),
  ],
});

type Options = typeof options;

/** `mode: latest`: its own keys of the sink object. */
function latestMode(o: OptionReader<Options>): LatestMode {
  return { version: o.get('version'), delete: o.get('delete'), onEqualVersion: o.get('onEqualVersion') ?? 'skip', tombstoneAttribute: o.get('tombstoneAttribute') ?? '_deleted' };
}

/** The version attributes against the key, TTL and tombstone names, and sharding (`latestOptionProblems` of the sink). */
function checkLatest(sink: Omit<DynamoDbSink, 'id' | 'from' | 'latest'>, latest: LatestMode, o: OptionReader<Options>, c: Checker): void {
  const reserved = {
    ...(sink.partitionKey?.name ? { partitionKey: sink.partitionKey } : {}),
    ...(sink.sortKey?.name ? { sortKey: sink.sortKey } : {}),
    ...(sink.ttl?.attribute ? { ttl: sink.ttl } : {}),
    shards: sink.shards,
  };
  // Syntax errors in the expressions are reported by their own checks already.
  const problems = latestOptionProblems({ version: latest.version, tombstoneAttribute: latest.tombstoneAttribute }, reserved).filter((p) => !p.startsWith('latest.version['));
  for (const problem of problems) c.report(child(o.at, problem.startsWith('shards') ? 'shards' : 'version'), problem.replace(/^latest\.version: |^shards /, ''));
}

/** `ifAbsent`: attributes the sink maps, or its TTL attribute; not its keys. */
function checkIfAbsent(sink: Pick<DynamoDbSink, 'partitionKey' | 'sortKey' | 'ttl' | 'attributes'>, names: readonly string[], o: OptionReader<Options>, c: Checker): void {
  const mapped = mappedAttributeNames(sink.attributes);
  names.forEach((name, i) => {
    const at = child(child(o.at, 'ifAbsent'), i);
    if (typeof name !== 'string') return;
    if ([sink.partitionKey?.name, sink.sortKey?.name].includes(name)) c.report(at, `"${name}" is a key: ifAbsent lists mapped attributes (or the TTL attribute)`);
    else if (mapped !== undefined && !mapped.includes(name) && name !== sink.ttl?.attribute)
      c.report(at, `"${name}" is not one of the attributes (${[...mapped, ...(sink.ttl ? [sink.ttl.attribute] : [])].join(', ') || 'none'})`);
  });
}
