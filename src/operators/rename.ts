import type { OperatorFunction } from 'rxjs';
import { OperatorError } from '../core/errors.ts';
import type { Envelope } from '../core/envelope.ts';
import type { DeadLetter } from '../core/sink.ts';
import { checkStepId, perRecord, rewrap, stepConfigError } from './per-record.ts';

export interface RenameOptions {
  /** The step id (errors, logs, metric labels). */
  readonly id: string;
  /** Top-level field names to rename, `{ from: to }`, matched exactly (a name may hold spaces or dots). */
  readonly fields?: Readonly<Record<string, string>>;
  /** `snake_case`: every other name, at every depth (inside arrays too), to snake case. */
  readonly normalize?: 'snake_case';
  /** Takes records where two names would become one (with an OperatorError) and their leases. */
  readonly deadLetter: DeadLetter;
}

/**
 * Renames fields: an explicit map of top-level names, and/or every name normalized to snake case.
 *
 * ```ts
 * events$.pipe(rename({ id: 'names', fields: { uid: 'user_id' }, normalize: 'snake_case', deadLetter }));
 * // { uid: 'u1', 'Screen Info': { screenWidth: 1080 } } -> { user_id: 'u1', screen_info: { screen_width: 1080 } }
 * ```
 *
 * The map applies to top-level names only (the names a record's producer chose; nested objects are
 * the producer's payload) and wins over `normalize` for the names it lists; `normalize` applies at
 * every depth, since a nested name with spaces is as awkward in Parquet or SQL as a top-level one.
 * Names are compared exactly; a name not listed and already in snake case is kept as it is. Two
 * names of one object that would end up equal (`userId` and `user_id`) send the record to dead
 * letters rather than dropping one value. A value that is not an object passes unchanged. The input
 * is never modified.
 * @returns the same records with renamed fields
 */
export function rename(options: RenameOptions): OperatorFunction<Envelope<unknown>, Envelope<unknown>> {
  const { id, fields = {}, normalize, deadLetter } = options;
  checkStepId(id, 'rename');
  if (typeof deadLetter !== 'function') throw stepConfigError(id, 'option "deadLetter" must be a function');
  if (normalize !== undefined && normalize !== 'snake_case') throw stepConfigError(id, `option "normalize" must be "snake_case", got ${JSON.stringify(normalize)}`);
  const map = new Map(Object.entries(fields));
  if (map.size === 0 && normalize === undefined) throw stepConfigError(id, 'give "fields" (a map of names) or "normalize", or both');
  const problems: string[] = [];
  const targets = new Map<string, string>();
  for (const [from, to] of map) {
    if (typeof to !== 'string' || to === '' || to === '__proto__' || from === '__proto__') problems.push(`fields: ${JSON.stringify(from)} -> ${JSON.stringify(to)} is not a usable rename`);
    else if (targets.has(to)) problems.push(`fields: ${JSON.stringify(targets.get(to))} and ${JSON.stringify(from)} both become ${JSON.stringify(to)}`);
    else targets.set(to, from);
  }
  if (problems.length > 0) throw stepConfigError(id, problems);
  const nameOf = normalize === 'snake_case' ? cached(snakeCase) : (name: string) => name;

  return perRecord<Envelope<unknown>, Envelope<unknown>>((envelope, subscriber) => {
    const value = envelope.value;
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return subscriber.next(envelope);
    const clash: string[] = [];
    const out = renameObject(value as Record<string, unknown>, (name) => map.get(name) ?? nameOf(name), normalize !== undefined, nameOf, clash, '');
    if (clash.length > 0) {
      deadLetter(envelope, new OperatorError(`rename: ${clash.join('; ')}`, { stepId: id }), id);
      return;
    }
    subscriber.next(rewrap(envelope, out));
  });
}

/** A copy of `object` with its names given by `top` (and, when `deep`, nested names by `nested`); clashes are reported into `clash`. */
function renameObject(
  object: Record<string, unknown>,
  top: (name: string) => string,
  deep: boolean,
  nested: (name: string) => string,
  clash: string[],
  at: string,
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const from = new Map<string, string>();
  for (const name of Object.keys(object)) {
    let value = object[name];
    if (deep) value = renameValue(value, nested, clash, `${at}${name}.`);
    const to = top(name);
    const earlier = from.get(to);
    if (earlier !== undefined) clash.push(`${JSON.stringify(at + earlier)} and ${JSON.stringify(at + name)} both become ${JSON.stringify(at + to)}`);
    from.set(to, name);
    // defineProperty: a `__proto__` name stays a plain field instead of setting the prototype.
    Object.defineProperty(out, to, { value, enumerable: true, writable: true, configurable: true });
  }
  return out;
}

function renameValue(value: unknown, nameOf: (name: string) => string, clash: string[], at: string): unknown {
  if (typeof value !== 'object' || value === null) return value;
  if (Array.isArray(value)) return value.map((item, i) => renameValue(item, nameOf, clash, `${at}${i}.`));
  return renameObject(value as Record<string, unknown>, nameOf, true, nameOf, clash, at);
}

/**
 * A name in snake case: words split at spaces and punctuation, at a lower-case letter or digit
 * followed by a capital, and before the last capital of a run followed by a lower-case letter
 * (`HTTPStatus` -> `http_status`); lower-cased, joined with `_`. A name with no letter or digit is
 * kept as it is.
 *
 * ```ts
 * snakeCase('Screen Info'); // 'screen_info'
 * snakeCase('screenWidthPx'); // 'screen_width_px'
 * snakeCase('HTTPStatus'); // 'http_status'
 * snakeCase('level2Score'); // 'level2_score'
 * ```
 */
export function snakeCase(name: string): string {
  const words = name
    .replace(/([\p{Ll}\p{N}])(\p{Lu})/gu, '$1 $2')
    .replace(/(\p{Lu})(\p{Lu}\p{Ll})/gu, '$1 $2')
    .split(/[^\p{L}\p{N}]+/u)
    .filter(Boolean);
  return words.length === 0 ? name : words.join('_').toLowerCase();
}

/** Field names repeat from record to record: remember a bounded number of them. */
function cached(f: (name: string) => string, max = 10_000): (name: string) => string {
  const memo = new Map<string, string>();
  return (name) => {
    let out = memo.get(name);
    if (out === undefined) {
      out = f(name);
      if (memo.size >= max) memo.clear();
      memo.set(name, out);
    }
    return out;
  };
}
