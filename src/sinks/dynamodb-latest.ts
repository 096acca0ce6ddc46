import type { AttributeValue, PutItemCommandInput } from '@aws-sdk/client-dynamodb';
import { ConfigError } from '../core/errors.ts';
import { compileField, compilePredicate, type Getter, type Predicate } from '../core/expression.ts';
import type { Envelope } from '../core/envelope.ts';

/**
 * `mode: 'latest'`: latest-version-wins upserts and deletes, for change-data-capture streams.
 *
 * - `version`: field expressions compared in order (`['updatedAt', 'sequence_number']`): a record's
 *   version is the list of their values, each a number or a string (an ISO-8601 time compares
 *   correctly as a string when every writer uses the same form, e.g. UTC with milliseconds).
 * - `delete`: a predicate (`"op == 'REMOVE'"`); a matching record deletes its item.
 * - `onEqualVersion`: `skip` (default) leaves the stored item when the versions are equal (a replay
 *   or a duplicate is a no-op); `overwrite` writes it again (the last of equal versions wins, so
 *   two different records with one version end in arrival order).
 * - `tombstoneAttribute`: the boolean attribute marking a deleted item (default `_deleted`).
 */
export interface DynamoLatestOptions {
  readonly version: readonly string[];
  readonly delete?: string;
  readonly onEqualVersion?: 'skip' | 'overwrite';
  readonly tombstoneAttribute?: string;
}

/** What a `latest` record becomes: a conditional `PutItem` of the item or of its tombstone. */
export type LatestResult =
  | { readonly ok: true; readonly put: PutItemCommandInput; readonly value: readonly (number | string)[]; readonly deleted: boolean }
  | { readonly ok: false; readonly reason: string };

/** The sink's other options a `latest` sink is checked against: names a version attribute must not take, and sharding. */
export interface ReservedNames {
  readonly partitionKey?: { readonly name: string };
  readonly sortKey?: { readonly name: string };
  readonly ttl?: { readonly attribute: string };
  readonly shards?: number;
}

/** The attribute a version field is stored in: `updatedAt` -> `updatedAt`, `meta.seq` -> `meta_seq`. */
export function versionAttributeOf(field: string): string {
  return field.trim().replace(/^\$/, '').replaceAll('.', '_');
}

/** The checks of the `latest` options, as problems (empty when valid). */
export function latestOptionProblems(o: DynamoLatestOptions | undefined, reserved: ReservedNames = {}): string[] {
  if (o === undefined) return ["mode 'latest' needs latest: { version: [fields] }"];
  const problems: string[] = [];
  if (!Array.isArray(o.version) || o.version.length === 0 || o.version.some((f) => typeof f !== 'string' || f.trim() === ''))
    return ['latest.version must be a non-empty list of field expressions'];
  if (o.onEqualVersion !== undefined && o.onEqualVersion !== 'skip' && o.onEqualVersion !== 'overwrite') problems.push("latest.onEqualVersion must be 'skip' or 'overwrite'");
  const tombstone = o.tombstoneAttribute ?? '_deleted';
  if (!tombstone) problems.push('latest.tombstoneAttribute must be a non-empty string');
  // Every version of a key must meet on one item; a shard picked by another field would split them.
  if ((reserved.shards ?? 1) > 1) problems.push("shards must be 1 in mode 'latest' (a key's versions must land on one item)");
  const names = o.version.map(versionAttributeOf);
  const taken = new Map<string, string>([
    ...(reserved.partitionKey ? [[reserved.partitionKey.name, 'the partition key'] as const] : []),
    ...(reserved.sortKey ? [[reserved.sortKey.name, 'the sort key'] as const] : []),
    ...(reserved.ttl ? [[reserved.ttl.attribute, 'the TTL attribute'] as const] : []),
    [tombstone, 'the tombstone attribute'],
  ]);
  names.forEach((name, i) => {
    if (names.indexOf(name) !== i) problems.push(`latest.version: "${o.version[i]}" is stored as "${name}" twice`);
    const owner = taken.get(name);
    if (owner !== undefined) problems.push(`latest.version: "${o.version[i]}" would be stored as "${name}", which is ${owner}`);
  });
  for (const [i, field] of o.version.entries()) {
    try {
      compileField(field);
    } catch (error) {
      problems.push(`latest.version[${i}]: ${(error as Error).message}`);
    }
  }
  if (o.delete !== undefined) {
    try {
      compilePredicate(o.delete);
    } catch (error) {
      problems.push(`latest.delete: ${(error as Error).message}`);
    }
  }
  return problems;
}

/**
 * The condition "the stored version is lower" over attributes `#v0..#vn` and values `:v0..:vn`,
 * compared in order: `attribute_not_exists(#v0) OR #v0 < :v0 OR (#v0 = :v0 AND (#v1 < :v1 ...))`.
 * With `orEqual`, the last comparison is `<=`.
 *
 * ```ts
 * versionCondition(2, false); // 'attribute_not_exists(#v0) OR #v0 < :v0 OR (#v0 = :v0 AND #v1 < :v1)'
 * ```
 */
export function versionCondition(fields: number, orEqual: boolean): string {
  const lower = (i: number): string => {
    const cmp = `#v${i} ${orEqual && i === fields - 1 ? '<=' : '<'} :v${i}`;
    return i === fields - 1 ? cmp : `${cmp} OR (#v${i} = :v${i} AND ${nested(i + 1)})`;
  };
  const nested = (i: number): string => (i === fields - 1 ? lower(i) : `(${lower(i)})`);
  return `attribute_not_exists(#v0) OR ${lower(0)}`;
}

/**
 * Compiles the request builder of a `latest` sink. An upsert is a `PutItem` of the whole mapped
 * item (a CDC record carries the full new image, and a stale attribute of an older version must not
 * survive), with the version attributes set and the condition "the stored version is lower". A
 * delete is a `PutItem` of a tombstone (the key, the version attributes, `tombstoneAttribute: true`
 * and the TTL attribute when the sink has one) under the same condition, so an older update arriving
 * later is refused instead of bringing the item back.
 *
 * ```ts
 * const build = compileLatestBuilder({ version: ['updatedAt', 'seq'], delete: "op == 'REMOVE'" }, 'players', 'cdc');
 * build(envelope, item, key); // { ok: true, put: { TableName: 'players', Item, ConditionExpression, ... }, value: ['2024-…', 7], deleted: false }
 * ```
 * @throws ConfigError naming the step
 */
export function compileLatestBuilder(
  options: DynamoLatestOptions & ReservedNames,
  table: string,
  stepId: string,
): (envelope: Envelope<unknown>, item: Readonly<Record<string, AttributeValue>>, key: Readonly<Record<string, AttributeValue>>) => LatestResult {
  const problems = latestOptionProblems(options, options);
  if (problems.length > 0) throw new ConfigError(problems.map((p) => `${stepId}: ${p}`), { stepId });
  const fields = options.version.map((field) => [field, versionAttributeOf(field), compileField(field)] as [string, string, Getter]);
  const isDelete: Predicate | undefined = options.delete === undefined ? undefined : compilePredicate(options.delete);
  const tombstone = options.tombstoneAttribute ?? '_deleted';
  const ttlAttribute = options.ttl?.attribute;
  const names: Record<string, string> = Object.fromEntries(fields.map(([, attribute], i) => [`#v${i}`, attribute]));
  const condition = versionCondition(fields.length, options.onEqualVersion === 'overwrite');

  return (envelope, item, key) => {
    const value: (number | string)[] = [];
    const values: Record<string, AttributeValue> = {};
    const versioned: Record<string, AttributeValue> = {};
    for (const [i, [field, attribute, get]] of fields.entries()) {
      const v = get(envelope.value, envelope.meta);
      if (typeof v === 'number' ? !Number.isFinite(v) : typeof v !== 'string')
        return { ok: false, reason: `version field ${field} is ${v === undefined ? 'missing' : typeof v === 'number' ? String(v) : typeof v}, not a number or string` };
      const attr: AttributeValue = typeof v === 'number' ? { N: String(v) } : { S: v as string };
      value.push(v as number | string);
      values[`:v${i}`] = attr;
      versioned[attribute] = attr;
    }
    const deleted = isDelete?.(envelope.value, envelope.meta) ?? false;
    let written: Record<string, AttributeValue>;
    if (deleted) {
      written = { ...key, ...versioned, [tombstone]: { BOOL: true } };
      const expiry = ttlAttribute === undefined ? undefined : item[ttlAttribute];
      if (ttlAttribute !== undefined && expiry !== undefined) written[ttlAttribute] = expiry;
    } else {
      written = { ...item, ...versioned, ...key };
      // A record's own field of that name must not make a live item read as deleted.
      delete written[tombstone];
    }
    return {
      ok: true,
      value,
      deleted,
      put: { TableName: table, Item: written, ConditionExpression: condition, ExpressionAttributeNames: { ...names }, ExpressionAttributeValues: values },
    };
  };
}
