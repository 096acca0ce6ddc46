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
 * - `add`: counters (`ADD attr :v`). NOT idempotent: a replay after a crash adds again. Prefer
 *   counting in a window and `put` the window's result, which a replay overwrites with itself.
 *   Each update also sets `tributary_write_id` to an id of its own, so that a retry after a timeout
 *   (which may have been applied) is made conditional on it and never adds twice.
 * - `latest`: latest-version-wins upserts and deletes for CDC streams, one conditional `PutItem`
 *   per record (see `DynamoLatestOptions` in `dynamodb-latest.ts`).
 */
export type DynamoWriteMode = 'put' | 'max' | 'add' | 'latest';

export interface DynamoUpdateOptions {
  readonly mode?: DynamoWriteMode;
  /**
   * For `max` and `add`: the attribute kept at its maximum (a number or string) or incremented (a
   * number), and the expression giving the new value, e.g. `{ attribute: 'best', value: 'score' }`.
   */
  readonly update?: { readonly attribute: string; readonly value: string };
  /** For `latest`: the version fields, the delete predicate and how equal versions are treated. */
  readonly latest?: DynamoLatestOptions;
}

export type UpdateItemResult =
  | {
      readonly ok: true;
      readonly input: UpdateItemCommandInput;
      readonly value: number | string;
      /** `add` mode: the same update, refused if the item holds its write id already (for retries after a timeout). */
      readonly retryInput?: UpdateItemCommandInput;
    }
  | { readonly ok: false; readonly reason: string };

/** The attribute an `add` update sets to its own write id. */
export const WRITE_ID_ATTRIBUTE = 'tributary_write_id';

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
  if (mode !== 'put' && mode !== 'max' && mode !== 'add' && mode !== 'latest') return [`mode must be 'put', 'max', 'add' or 'latest'`];
  if (mode !== 'latest' && o.latest !== undefined) return ["latest is only for mode 'latest'"];
  if (mode === 'latest') return o.update === undefined ? latestOptionProblems(o.latest, o) : ["update is only for mode 'max' or 'add'", ...latestOptionProblems(o.latest, o)];
  if (mode === 'put') return o.update === undefined ? [] : ["update is only for mode 'max' or 'add'"];
  return o.update?.attribute && o.update.value ? [] : [`mode '${mode}' needs update: { attribute, value }`];
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
    throw new ConfigError((problems.length ? problems : ['compileUpdateBuilder needs mode max or add']).map((p) => `${stepId}: ${p}`), { stepId });
  }
  const { attribute } = options.update as { attribute: string; value: string };
  let get: Getter;
  try {
    get = compileField((options.update as { value: string }).value);
  } catch (error) {
    throw new ConfigError(`${stepId}: update.value: ${(error as Error).message}`, { stepId, cause: error });
  }
  const isMax = options.mode === 'max';

  return (envelope, item, key) => {
    const v = get(envelope.value, envelope.meta);
    if (isMax ? typeof v !== 'number' && typeof v !== 'string' : typeof v !== 'number' || !Number.isFinite(v))
      return { ok: false, reason: `${attribute}: the value is ${v === undefined ? 'missing' : typeof v}, not ${isMax ? 'a number or string' : 'a number'}` };
    const names: Record<string, string> = { '#t': attribute };
    const values: Record<string, AttributeValue> = { ':t': typeof v === 'number' ? { N: String(v) } : { S: v as string } };
    const sets: string[] = isMax ? ['#t = :t'] : [];
    let n = 0;
    for (const name of Object.keys(item)) {
      if (name in key || name === attribute || (!isMax && name === WRITE_ID_ATTRIBUTE)) continue;
      names[`#a${n}`] = name;
      values[`:a${n}`] = item[name] as AttributeValue;
      sets.push(`#a${n} = :a${n}`);
      n++;
    }
    if (!isMax) {
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
    };
    return {
      ok: true,
      value: v as number | string,
      input,
      ...(isMax ? {} : { retryInput: { ...input, ConditionExpression: 'attribute_not_exists(#w) OR #w <> :w' } }),
    };
  };
}
