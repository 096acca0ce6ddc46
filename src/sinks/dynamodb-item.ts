import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { convertToAttr, type marshallOptions } from '@aws-sdk/util-dynamodb';
import { ConfigError } from '../core/errors.ts';
import { nestedDeeperThan, setOwn } from '../core/json.ts';
import { compileField, compileTemplate, type Getter } from '../core/expression.ts';
import type { Envelope, RecordMeta } from '../core/envelope.ts';
import { MAX_ITEM_BYTES, itemSizeBytes } from './dynamodb-size.ts';

const MAX_PARTITION_KEY_BYTES = 2048;
const MAX_SORT_KEY_BYTES = 1024;
const MAX_SHARDS = 1000;
/** DynamoDB stores attributes nested 32 levels deep at most. */
export const MAX_ATTRIBUTE_DEPTH = 32;

/**
 * Numbers stay numbers; `undefined` fields are dropped; class instances (a `Date`) are refused
 * rather than turned into maps. `allowImpreciseNumbers`: a number past 2^53 was already rounded
 * by `JSON.parse`, so what is stored is exactly the value the pipeline held.
 */
export const MARSHALL_OPTIONS: marshallOptions = Object.freeze({
  removeUndefinedValues: true,
  convertClassInstanceToMap: false,
  allowImpreciseNumbers: true,
});

export interface DynamoKeyOptions {
  /** The table's key attribute name. */
  readonly name: string;
  /** A template over the record, e.g. `'USER#{user_id}'` or `'{session_start_time}'`. */
  readonly value: string;
  /** The key attribute's type in the table (default `'string'`); `'number'` parses the template's result. */
  readonly type?: 'string' | 'number';
}

/**
 * How a record becomes an item.
 *
 * `attributes`: `'all'` (default) copies every top-level field of the value, nested objects as
 * maps; a list of field paths copies those with their nesting kept, as the `project` step does
 * (`['user_id', 'event_data.amount']` -> `user_id` and a map `event_data: { amount }`); a record
 * maps attribute names to field expressions (`{ amount: 'event_data.amount' }`), which is how to
 * get a flat, indexable attribute out of a nested field. `$offset`-style metadata paths are
 * stored without the `$`. Key and TTL attributes are always written and win over a copied field
 * of the same name; `[]` writes only them (an `add` counter that sets nothing else).
 */
export interface DynamoItemOptions {
  readonly partitionKey: DynamoKeyOptions;
  readonly sortKey?: DynamoKeyOptions;
  readonly attributes?: 'all' | readonly string[] | Readonly<Record<string, string>>;
  /** Writes `attribute` = event time (else the Kafka timestamp) + `afterMs`, in epoch seconds. */
  readonly ttl?: { readonly attribute: string; readonly afterMs: number };
  /**
   * Write sharding for hot partition keys: the partition key value gets `#0`..`#n-1` appended,
   * chosen by a hash of `shardBy` (`shardOf`) so a replay of a record lands on the same item.
   * Reading a logical key means querying all `n` keys (`shardKeys`) and merging the results (by
   * sort key, for an ordered read). A point read needs no fan-out when the shard comes from the
   * sort key (the default): `GetItem` at `${pk}#${shardOf(sortKeyValue, n)}`.
   */
  readonly shards?: number;
  /** Field expression hashed to pick the shard; default the sort key's value, else `event_id`. */
  readonly shardBy?: string;
}

/** A record mapped to an item, or the reason it cannot be. */
export type ItemResult =
  | {
      readonly ok: true;
      readonly item: Record<string, AttributeValue>;
      readonly key: Record<string, AttributeValue>;
      /** The key in canonical text form: equal keys, equal ids. */
      readonly keyId: string;
      /** The key for humans: `pk=USER#1, sk=2024-…`. */
      readonly keyText: string;
      readonly sizeBytes: number;
    }
  | { readonly ok: false; readonly reason: string; readonly keyText: string };

/** Where a projected value goes (attribute name, then map keys) and how to read it. */
type Attribute = readonly [path: readonly string[], get: Getter];

/**
 * Compiles the item mapping once; the returned function maps each envelope.
 *
 * ```ts
 * const toItem = compileItemMapper({ partitionKey: { name: 'pk', value: 'USER#{user_id}' } }, 'sessions');
 * toItem(envelopeOf({ user_id: 'u1', score: 3 })); // { ok: true, item: { pk: { S: 'USER#u1' }, user_id: …, score: { N: '3' } }, … }
 * ```
 * @throws ConfigError naming the step when an option is invalid
 */
export function compileItemMapper(options: DynamoItemOptions, stepId: string): (envelope: Envelope<unknown>) => ItemResult {
  const problems = validateItemOptions(options);
  if (problems.length > 0) throw new ConfigError(problems.map((p) => `${stepId}: ${p}`), { stepId });

  const pk = options.partitionKey;
  const sk = options.sortKey;
  const pkValue = compileTemplate(pk.value);
  const skValue = sk === undefined ? undefined : compileTemplate(sk.value);
  const shards = options.shards ?? 1;
  const shardField = shards > 1 && (options.shardBy !== undefined || sk === undefined) ? compileField(options.shardBy ?? 'event_id') : undefined;
  const shardName = options.shardBy ?? (sk === undefined ? 'event_id' : `sort key ${sk.name}`);
  const copyAll = options.attributes === undefined || options.attributes === 'all';
  const projected = copyAll ? [] : projection(options.attributes as readonly string[] | Readonly<Record<string, string>>);
  const ttl = options.ttl;

  const keyText = (pkText: string | undefined, skText: string | undefined) =>
    `${pk.name}=${pkText ?? '?'}${sk === undefined ? '' : `, ${sk.name}=${skText ?? '?'}`}`;

  const map = (envelope: Envelope<unknown>): ItemResult => {
    const { value, meta } = envelope;
    const pkRaw = pkValue(value, meta);
    const skRaw = skValue?.(value, meta);
    let pkText = pkRaw;
    const fail = (reason: string): ItemResult => ({ ok: false, reason, keyText: keyText(pkText, skRaw) });
    if (pkRaw === undefined) return fail(`partition key template "${pk.value}" has a missing field`);
    if (sk !== undefined && skRaw === undefined) return fail(`sort key template "${sk.value}" has a missing field`);
    if (shards > 1) {
      const basis = shardField === undefined ? skRaw : shardText(shardField(value, meta));
      if (basis === undefined) return fail(`shard field ${shardName} is missing`);
      pkText = `${pkRaw}#${shardOf(basis, shards)}`;
    }
    const key: Record<string, AttributeValue> = {};
    const pkAttr = keyAttribute(pkText as string, pk.type);
    if (pkAttr === undefined) return fail(`partition key "${pkText}" is not a number`);
    if (Buffer.byteLength(pkText as string) > MAX_PARTITION_KEY_BYTES) return fail(`partition key over ${MAX_PARTITION_KEY_BYTES} bytes`);
    key[pk.name] = pkAttr;
    if (sk !== undefined) {
      const skAttr = keyAttribute(skRaw as string, sk.type);
      if (skAttr === undefined) return fail(`sort key "${skRaw}" is not a number`);
      if (Buffer.byteLength(skRaw as string) > MAX_SORT_KEY_BYTES) return fail(`sort key over ${MAX_SORT_KEY_BYTES} bytes`);
      key[sk.name] = skAttr;
    }

    const item: Record<string, AttributeValue> = {};
    let sizeBytes: number;
    // Nothing a record holds may throw out of here: each failure is a reason, for dead letters.
    try {
      const fields = copyAll ? value : project(projected, value, meta);
      if (typeof fields !== 'object' || fields === null || Array.isArray(fields)) return fail("attributes 'all' needs an object value");
      // Checked before marshalling, which recurses: DynamoDB would refuse such an item anyway.
      if (nestedDeeperThan(fields, MAX_ATTRIBUTE_DEPTH + 1)) return fail(`the value nests deeper than DynamoDB's ${MAX_ATTRIBUTE_DEPTH} levels`);
      for (const name of Object.keys(fields)) {
        const field = (fields as Record<string, unknown>)[name];
        if (field !== undefined) setOwn(item, name, convertToAttr(field, MARSHALL_OPTIONS));
      }
      Object.assign(item, key);
      if (ttl !== undefined) item[ttl.attribute] = { N: String(Math.floor(((envelope.eventTimeMs ?? meta.timestamp) + ttl.afterMs) / 1000)) };
      sizeBytes = itemSizeBytes(item);
    } catch (error) {
      return fail(`cannot marshal the value: ${error instanceof Error ? error.message : String(error)}`);
    }
    if (sizeBytes > MAX_ITEM_BYTES) return fail(`item of ${sizeBytes} bytes is over DynamoDB's ${MAX_ITEM_BYTES}-byte limit`);
    return { ok: true, item, key, keyId: keyIdOf(key, pk.name, sk?.name), keyText: keyText(pkText, skRaw), sizeBytes };
  };
  // A record is mapped or refused with a reason; it never throws out of the sink's write.
  return (envelope) => {
    try {
      return map(envelope);
    } catch (error) {
      return { ok: false, reason: `cannot map the record: ${error instanceof Error ? error.message : String(error)}`, keyText: keyText(undefined, undefined) };
    }
  };
}

function validateItemOptions(o: DynamoItemOptions): string[] {
  const problems: string[] = [];
  const checkKey = (k: DynamoKeyOptions, path: string) => {
    if (!k.name) problems.push(`${path}.name must be a non-empty string`);
    if (!k.value) problems.push(`${path}.value must be a non-empty template`);
    if (k.type !== undefined && k.type !== 'string' && k.type !== 'number') problems.push(`${path}.type must be 'string' or 'number'`);
  };
  if (o.partitionKey === undefined) return ['partitionKey is required'];
  checkKey(o.partitionKey, 'partitionKey');
  if (o.sortKey !== undefined) checkKey(o.sortKey, 'sortKey');
  if (o.sortKey !== undefined && o.sortKey.name === o.partitionKey.name) problems.push('sortKey.name must differ from partitionKey.name');
  if (o.ttl !== undefined) {
    if (!o.ttl.attribute) problems.push('ttl.attribute must be a non-empty string');
    if (!(o.ttl.afterMs > 0)) problems.push('ttl.afterMs must be > 0');
    if (o.ttl.attribute === o.partitionKey.name || o.ttl.attribute === o.sortKey?.name) problems.push('ttl.attribute must not be a key attribute');
  }
  if (o.shards !== undefined && !(Number.isInteger(o.shards) && o.shards >= 1 && o.shards <= MAX_SHARDS))
    problems.push(`shards must be an integer in [1, ${MAX_SHARDS}]`);
  if ((o.shards ?? 1) > 1 && o.partitionKey.type === 'number') problems.push('shards needs a string partition key');
  if (o.attributes !== undefined && o.attributes !== 'all') {
    const isList = Array.isArray(o.attributes);
    const names = isList ? (o.attributes as readonly string[]).map(attributePath).map((p) => p.join('.')) : Object.keys(o.attributes);
    for (const [i, name] of names.entries()) {
      if (!name) problems.push('attributes: an attribute name is empty');
      for (const other of names.slice(i + 1)) {
        if (other === name) problems.push(`attributes: "${name}" is listed twice`);
        else if (isList && (other.startsWith(`${name}.`) || name.startsWith(`${other}.`))) problems.push(`attributes: "${name}" and "${other}" overlap`);
      }
    }
  }
  try {
    if (problems.length === 0) {
      compileTemplate(o.partitionKey.value);
      if (o.sortKey) compileTemplate(o.sortKey.value);
      if (o.shardBy !== undefined) compileField(o.shardBy);
      if (o.attributes !== undefined && o.attributes !== 'all') projection(o.attributes);
    }
  } catch (error) {
    problems.push((error as Error).message);
  }
  return problems;
}

function projection(attributes: readonly string[] | Readonly<Record<string, string>>): Attribute[] {
  if (Array.isArray(attributes)) return (attributes as readonly string[]).map((path) => [attributePath(path), compileField(path)] as const);
  return Object.entries(attributes as Readonly<Record<string, string>>).map(([name, expr]) => [[name], compileField(expr)] as const);
}

/** The top-level attribute names a mapping can write (keys and TTL aside); `undefined` for `'all'`. */
export function mappedAttributeNames(attributes: DynamoItemOptions['attributes']): string[] | undefined {
  if (attributes === undefined || attributes === 'all') return undefined;
  if (Array.isArray(attributes)) return [...new Set((attributes as readonly string[]).map((p) => attributePath(p)[0] as string))];
  return Object.keys(attributes);
}

/** `event_data.amount` -> `['event_data', 'amount']`; `$offset` -> `['offset']`. */
export function attributePath(path: string): string[] {
  return path.trim().replace(/^\$/, '').split('.');
}

/** The projected fields as a fresh nested object (paths never overlap, so nothing is shared). */
function project(projected: readonly Attribute[], value: unknown, meta: RecordMeta): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [path, get] of projected) {
    const field = get(value, meta);
    if (field === undefined) continue;
    let node = out;
    for (let i = 0; i < path.length - 1; i++) node = (node[path[i] as string] ??= {}) as Record<string, unknown>;
    node[path[path.length - 1] as string] = field;
  }
  return out;
}

function keyAttribute(text: string, type: 'string' | 'number' | undefined): AttributeValue | undefined {
  if (type !== 'number') return { S: text };
  const n = Number(text);
  return text.trim() !== '' && Number.isFinite(n) ? { N: String(n) } : undefined;
}

function shardText(x: unknown): string | undefined {
  if (x === undefined || x === null || x === '') return undefined;
  return typeof x === 'string' ? x : typeof x === 'object' ? JSON.stringify(x) : String(x);
}

/** The canonical text of a key, equal for equal keys (used to spot duplicates and unprocessed items). */
export function keyIdOf(item: Readonly<Record<string, AttributeValue>>, pkName: string, skName: string | undefined): string {
  const part = (a: AttributeValue | undefined) => (a === undefined ? '' : a.S !== undefined ? `S${a.S}` : `N${a.N ?? ''}`);
  return skName === undefined ? part(item[pkName]) : JSON.stringify([part(item[pkName]), part(item[skName])]);
}

/**
 * The shard of a record: FNV-1a (32-bit) of its UTF-16 code units, modulo `shards`. Stable across
 * processes and versions, so a replayed record writes the same item.
 */
export function shardOf(text: string, shards: number): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0) % shards;
}

/**
 * Every partition key value a sharded logical key was written under: query each and merge.
 *
 * ```ts
 * shardKeys('USER#u1', 4); // ['USER#u1#0', 'USER#u1#1', 'USER#u1#2', 'USER#u1#3']
 * ```
 */
export function shardKeys(partitionKeyValue: string, shards: number): string[] {
  return Array.from({ length: shards }, (_, i) => `${partitionKeyValue}#${i}`);
}
