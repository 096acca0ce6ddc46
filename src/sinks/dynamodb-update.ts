import { randomUUID } from 'node:crypto';
import { PutItemCommand, UpdateItemCommand, type AttributeValue, type UpdateItemCommandInput } from '@aws-sdk/client-dynamodb';
import { ConfigError } from '../core/errors.ts';
import { compileField, type Getter } from '../core/expression.ts';
import type { Envelope } from '../core/envelope.ts';
import { compileLatestBuilder, latestOptionProblems, type DynamoLatestOptions, type LatestResult, type ReservedNames } from './dynamodb-latest.ts';

/**
 * How the DynamoDB sink writes:
 * - `put` (default): an idempotent upsert of the whole item through `BatchWriteItem`.
 * - `max`: "keep the maximum" (a leaderboard's best score): one `UpdateItem` that sets the item's
 *   attributes only if `attribute_not_exists(attr) OR attr < :v`. A replay is harmless (the same
 *   value is not greater), and a lower value is a normal `ConditionalCheckFailedException`.
 * - `add`: counters (`ADD attr :v`). NOT idempotent by default: a replay after a crash adds again.
 *   Each update also sets `tributary_write_id` to an id of its own, so that a retry after a timeout
 *   (which may have been applied) is made conditional on it and never adds twice. With `applyOnce`,
 *   each update instead sets a guard attribute per source topic-partition to the record's offset, on
 *   condition that the stored guard is lower: a replayed record is refused, so a counter is exact
 *   under replay as long as the sink's input comes in source-partition order (see `applyOnce`).
 * - `update`: one unconditional `UpdateItem` per record that SETs the mapped attributes the record
 *   has (an attribute whose expression yields nothing is left as the item has it); names listed in
 *   `ifAbsent` are set only while the item has none (`if_not_exists`). Idempotent, and two sinks
 *   updating one item (a session's login and logout) give the same item whichever lands first.
 * - `latest`: latest-version-wins upserts and deletes for CDC streams, one conditional `PutItem`
 *   per record (see `DynamoLatestOptions` in `dynamodb-latest.ts`).
 */
export type DynamoWriteMode = 'put' | 'max' | 'add' | 'update' | 'latest';

export interface DynamoUpdateOptions {
  readonly mode?: DynamoWriteMode;
  /**
   * For `max` and `add`: the attribute kept at its maximum (a number or string) or incremented (a
   * number), and the expression giving the new value, e.g. `{ attribute: 'best', value: 'score' }`.
   */
  readonly update?: { readonly attribute: string; readonly value: string };
  /** For `latest`: the version fields, the delete predicate and how equal versions are treated. */
  readonly latest?: DynamoLatestOptions;
  /**
   * For `update`: mapped attributes (or the TTL attribute) set only while the item has none
   * (`#a = if_not_exists(#a, :a)`), e.g. a session's `session_status: 'active'` that must not
   * overwrite a logout's `'closed'`. When another sink writes the same attribute unconditionally,
   * the item ends with that sink's value whichever lands first.
   */
  readonly ifAbsent?: readonly string[];
  /**
   * For `add`: apply each source record once, even when it is replayed. Each update also sets
   * `tributary_offset_<step>_<topic>_<partition>` to the record's offset, on condition that the
   * stored one is lower; a replayed record is refused (counted as `already_applied`). Exact only
   * when the sink receives each source partition's records in offset order: stateless steps
   * between the source and the sink, no window or repartition.
   */
  readonly applyOnce?: boolean;
}

export type UpdateItemResult =
  | {
      readonly ok: true;
      readonly input: UpdateItemCommandInput;
      /** The updated value (`max`, `add`); none in `update` mode. */
      readonly value: number | string | undefined;
      /** `add` mode: the same update, refused if the item holds its write id already (for retries after a timeout). */
      readonly retryInput?: UpdateItemCommandInput;
    }
  | { readonly ok: false; readonly reason: string };

/** The attribute an `add` update sets to its own write id. */
export const WRITE_ID_ATTRIBUTE = 'tributary_write_id';

/** The attribute an `applyOnce` update keeps its source partition's last applied offset in. */
export function offsetGuardAttribute(stepId: string, topic: string, partition: number): string {
  return `tributary_offset_${stepId}_${topic}_${partition}`;
}

/** A record's request in any mode but `put`: an `UpdateItem` (max, add) or a conditional `PutItem` (latest). */
export type UpdateResult = UpdateItemResult | LatestResult;

type Builder<R> = (envelope: Envelope<unknown>, item: Readonly<Record<string, AttributeValue>>, key: Readonly<Record<string, AttributeValue>>) => R;

/**
 * The request builder of a `max`, `add` or `latest` sink.
 * @throws ConfigError naming the step
 */
export function compileWriteBuilder(options: DynamoUpdateOptions & ReservedNames, table: string, stepId: string): Builder<UpdateResult> {
  if (options.mode !== 'latest') return compileUpdateBuilder(options, table, stepId);
  const problems = updateOptionProblems(options);
  if (problems.length > 0) throw new ConfigError(problems.map((p) => `${stepId}: ${p}`), { stepId });
  return compileLatestBuilder({ ...options, ...(options.latest as DynamoLatestOptions) }, table, stepId);
}

/** The request an update result is sent as. */
export function commandOf(update: UpdateResult & { ok: true }): UpdateItemCommand | PutItemCommand {
  return 'put' in update ? new PutItemCommand(update.put) : new UpdateItemCommand(update.input);
}

/** The checks of the update options, as problems (empty when valid). */
export function updateOptionProblems(o: DynamoUpdateOptions & ReservedNames): string[] {
  const mode = o.mode ?? 'put';
  if (mode !== 'put' && mode !== 'max' && mode !== 'add' && mode !== 'update' && mode !== 'latest') return [`mode must be 'put', 'max', 'add', 'update' or 'latest'`];
  if (mode !== 'latest' && o.latest !== undefined) return ["latest is only for mode 'latest'"];
  if (mode !== 'update' && o.ifAbsent !== undefined) return ["ifAbsent is only for mode 'update'"];
  if (mode !== 'add' && o.applyOnce !== undefined) return ["applyOnce is only for mode 'add'"];
  if (mode === 'update') return [...(o.update === undefined ? [] : ["update is only for mode 'max' or 'add'"]), ...ifAbsentProblems(o)];
  if (mode === 'latest') return o.update === undefined ? latestOptionProblems(o.latest, o) : ["update is only for mode 'max' or 'add'", ...latestOptionProblems(o.latest, o)];
  if (mode === 'put') return o.update === undefined ? [] : ["update is only for mode 'max' or 'add'"];
  return o.update?.attribute && o.update.value ? [] : [`mode '${mode}' needs update: { attribute, value }`];
}

/** `ifAbsent` names against the keys (that they are mapped, or the TTL attribute, is checked where the mapping is known). */
function ifAbsentProblems(o: DynamoUpdateOptions & ReservedNames): string[] {
  if (o.ifAbsent === undefined) return [];
  if (!Array.isArray(o.ifAbsent) || o.ifAbsent.some((n) => typeof n !== 'string' || n === '')) return ['ifAbsent must be a list of attribute names'];
  const keys = [o.partitionKey?.name, o.sortKey?.name];
  return o.ifAbsent.filter((n) => keys.includes(n)).map((n) => `ifAbsent: "${n}" is a key attribute`);
}

/**
 * Compiles the `UpdateItem` request builder of an `update` sink: SET every non-key attribute of the
 * mapped item (those listed in `ifAbsent` only while the item has none), no condition.
 */
function compileSetBuilder(options: DynamoUpdateOptions, table: string): Builder<UpdateItemResult> {
  const ifAbsent = new Set(options.ifAbsent ?? []);
  return (_envelope, item, key) => {
    const names: Record<string, string> = {};
    const values: Record<string, AttributeValue> = {};
    const sets: string[] = [];
    let n = 0;
    for (const name of Object.keys(item)) {
      if (name in key) continue;
      names[`#a${n}`] = name;
      values[`:a${n}`] = item[name] as AttributeValue;
      sets.push(ifAbsent.has(name) ? `#a${n} = if_not_exists(#a${n}, :a${n})` : `#a${n} = :a${n}`);
      n++;
    }
    // With nothing to set, the update only makes sure the item exists.
    const input: UpdateItemCommandInput =
      n === 0
        ? { TableName: table, Key: { ...key } }
        : { TableName: table, Key: { ...key }, UpdateExpression: `SET ${sets.join(', ')}`, ExpressionAttributeNames: names, ExpressionAttributeValues: values };
    return { ok: true, value: undefined, input };
  };
}

/**
 * Compiles the `UpdateItem` request builder of a `max` or `add` sink (`latest`: `compileLatestBuilder`). Every non-key attribute of
 * the mapped item is SET alongside (in `max` mode only when the new value wins).
 * @throws ConfigError naming the step
 */
export function compileUpdateBuilder(
  options: DynamoUpdateOptions & ReservedNames,
  table: string,
  stepId: string,
): Builder<UpdateItemResult> {
  const problems = updateOptionProblems(options);
  if (problems.length > 0 || options.mode === undefined || options.mode === 'put' || options.mode === 'latest') {
    throw new ConfigError((problems.length ? problems : ['compileUpdateBuilder needs mode max, add or update']).map((p) => `${stepId}: ${p}`), { stepId });
  }
  if (options.mode === 'update') return compileSetBuilder(options, table);
  const { attribute } = options.update as { attribute: string; value: string };
  let get: Getter;
  try {
    get = compileField((options.update as { value: string }).value);
  } catch (error) {
    throw new ConfigError(`${stepId}: update.value: ${(error as Error).message}`, { stepId, cause: error });
  }
  const isMax = options.mode === 'max';
  const applyOnce = options.applyOnce === true;

  return (envelope, item, key) => {
    const v = get(envelope.value, envelope.meta);
    if (isMax ? typeof v !== 'number' && typeof v !== 'string' : typeof v !== 'number' || !Number.isFinite(v))
      return { ok: false, reason: `${attribute}: the value is ${v === undefined ? 'missing' : typeof v}, not ${isMax ? 'a number or string' : 'a number'}` };
    const names: Record<string, string> = { '#t': attribute };
    const values: Record<string, AttributeValue> = { ':t': typeof v === 'number' ? { N: String(v) } : { S: v as string } };
    const sets: string[] = isMax ? ['#t = :t'] : [];
    let n = 0;
    for (const name of Object.keys(item)) {
      if (name in key || name === attribute || (!isMax && (name === WRITE_ID_ATTRIBUTE || name.startsWith('tributary_offset_')))) continue;
      names[`#a${n}`] = name;
      values[`:a${n}`] = item[name] as AttributeValue;
      sets.push(`#a${n} = :a${n}`);
      n++;
    }
    if (applyOnce) {
      // The guard: this partition's last applied offset. A replayed offset is not above it.
      names['#g'] = offsetGuardAttribute(stepId, envelope.meta.topic, envelope.meta.partition);
      values[':g'] = { N: String(envelope.meta.offset) };
      sets.push('#g = :g');
    } else if (!isMax) {
      names['#w'] = WRITE_ID_ATTRIBUTE;
      values[':w'] = { S: randomUUID() };
      sets.push('#w = :w');
    }
    const clauses = [sets.length ? `SET ${sets.join(', ')}` : '', isMax ? '' : 'ADD #t :t'].filter(Boolean);
    const input: UpdateItemCommandInput = {
      TableName: table,
      Key: { ...key },
      UpdateExpression: clauses.join(' '),
      ExpressionAttributeNames: names,
      ExpressionAttributeValues: values,
      ...(isMax ? { ConditionExpression: 'attribute_not_exists(#t) OR #t < :t' } : {}),
      ...(applyOnce ? { ConditionExpression: 'attribute_not_exists(#g) OR #g < :g' } : {}),
    };
    return {
      ok: true,
      value: v as number | string,
      input,
      // With applyOnce, a retry of an update that landed is refused by the guard already.
      ...(isMax || applyOnce ? {} : { retryInput: { ...input, ConditionExpression: 'attribute_not_exists(#w) OR #w <> :w' } }),
    };
  };
}

/** Source partitions one combined `applyOnce` update covers at most. */
export const MAX_COMBINED_GUARDS = 32;

/**
 * The `add` updates of one item's records (each source partition's in offset order) as one request:
 * ADD their sum, SET the last record's attributes and write id, and with `applyOnce` each source
 * partition's last offset as its guard, on condition that every stored guard is below that
 * partition's first offset here. Applied, it leaves the item as the updates one after another
 * would (an ADD does not depend on the order); refused, some of them were applied before (a
 * replay), and the caller applies them in smaller steps to learn which. `undefined` when the sum may
 * not be exact: a value or the sum that is not a safe integer (DynamoDB adds decimals; a sum of
 * doubles could differ in its last digits), or with `applyOnce` when the updates come from more than
 * {@link MAX_COMBINED_GUARDS} source partitions.
 *
 * @example
 * combineAdds([update(partition 0, offset 7, +1), update(partition 0, offset 8, +1)], true);
 * // ADD #t :t (:t = 2), SET #g = :g (:g = 8), ConditionExpression: (attribute_not_exists(#g) OR #g < :f0) (:f0 = 7)
 */
export function combineAdds(updates: readonly (UpdateItemResult & { ok: true })[], applyOnce: boolean): (UpdateItemResult & { ok: true }) | undefined {
  const last = updates.at(-1);
  if (last === undefined) return undefined;
  let sum = 0;
  for (const { value } of updates) {
    if (typeof value !== 'number' || !Number.isSafeInteger(value)) return undefined;
    sum += value;
  }
  if (!Number.isSafeInteger(sum)) return undefined;
  const values: Record<string, AttributeValue> = { ...last.input.ExpressionAttributeValues, ':t': { N: String(sum) } };
  if (applyOnce) {
    // Each guard (a source partition's) with its first and last offsets among the updates.
    const guards = new Map<string, { first: AttributeValue; last: AttributeValue }>();
    for (const { input } of updates) {
      const name = input.ExpressionAttributeNames?.['#g'] as string;
      const offset = input.ExpressionAttributeValues?.[':g'] as AttributeValue;
      const guard = guards.get(name);
      if (guard === undefined) guards.set(name, { first: offset, last: offset });
      else guard.last = offset;
    }
    // DynamoDB refuses an expression past 4 KB (~45 B of condition and SET per guard): partition by partition then.
    if (guards.size > MAX_COMBINED_GUARDS) return undefined;
    const names = { ...last.input.ExpressionAttributeNames };
    const conditions: string[] = [];
    const sets: string[] = [];
    let i = 0;
    for (const [name, guard] of guards) {
      // The last update's own guard is in its SET already (`#g = :g`, its offset: its partition's last).
      const ref = name === names['#g'] ? '#g' : `#g${i}`;
      if (ref !== '#g') {
        names[ref] = name;
        values[`:g${i}`] = guard.last;
        sets.push(`${ref} = :g${i}`);
      }
      values[`:f${i}`] = guard.first;
      conditions.push(`(attribute_not_exists(${ref}) OR ${ref} < :f${i})`);
      i++;
    }
    const expression = last.input.UpdateExpression as string;
    return {
      ok: true,
      value: sum,
      input: {
        ...last.input,
        UpdateExpression: sets.length === 0 ? expression : expression.replace(/^SET /, `SET ${sets.join(', ')}, `),
        ExpressionAttributeNames: names,
        ExpressionAttributeValues: values,
        ConditionExpression: conditions.join(' AND '),
      },
    };
  }
  return {
    ok: true,
    value: sum,
    input: { ...last.input, ExpressionAttributeValues: values },
    ...(last.retryInput === undefined ? {} : { retryInput: { ...last.retryInput, ExpressionAttributeValues: values } }),
  };
}
