import type { OperatorFunction } from 'rxjs';
import { OperatorError } from '../core/errors.ts';
import type { Envelope } from '../core/envelope.ts';
import { setOwn, stringifyJson } from '../core/json.ts';
import type { DeadLetter } from '../core/sink.ts';
import { checkStepId, perRecord, rewrap, stepConfigError } from './per-record.ts';

const MAX_CACHED_NAMES = 4096;
/** Objects nested deeper than this (or a cycle) are refused; `parse` already stops JSON at 64 levels. */
export const MAX_FLATTEN_DEPTH = 1000;

export interface FlattenOptions {
  /** The step id (errors, logs, metric labels). */
  readonly id: string;
  /** Joins the names of nested fields. Default `_`. */
  readonly delimiter?: string;
  /** Arrays kept as they are (`keep`, the default) or written as a JSON string (`json`). */
  readonly arrays?: 'json' | 'keep';
  /**
   * Takes records that cannot be flattened (nested deeper than `MAX_FLATTEN_DEPTH`, a cycle, an
   * array JSON cannot encode), with an OperatorError. Without it such a record errors the stream.
   */
  readonly deadLetter?: DeadLetter;
}



/**
 * Flattens nested objects into one level: `{ event_data: { amount: 5 } }` becomes
 * `{ event_data_amount: 5 }`.
 *
 * ```ts
 * events$.pipe(flatten({ id: 'flat', delimiter: '_', arrays: 'json' }));
 * // { user_id: 'u1', event_data: { amount: 5, items: ['a'] } }
 * //   -> { user_id: 'u1', event_data_amount: 5, event_data_items: '["a"]' }
 * ```
 *
 * Arrays are leaves (their elements are not flattened); an empty nested object leaves no field;
 * a value that is not an object passes unchanged;
 * when two paths flatten to the same name (`a_b` and `a.b`), the later one in the object wins.
 * The walk is depth-bounded (`MAX_FLATTEN_DEPTH`): no value overflows the stack.
 * @returns the same records with flat values
 */
export function flatten(options: FlattenOptions): OperatorFunction<Envelope<Record<string, unknown>>, Envelope<Record<string, unknown>>> {
  const { id, delimiter = '_', arrays = 'keep', deadLetter } = options;
  checkStepId(id, 'flatten');
  if (typeof delimiter !== 'string') throw stepConfigError(id, 'option "delimiter" must be a string');
  if (arrays !== 'json' && arrays !== 'keep') throw stepConfigError(id, `option "arrays" must be 'json' or 'keep', got ${JSON.stringify(arrays)}`);
  if (deadLetter !== undefined && typeof deadLetter !== 'function') throw stepConfigError(id, 'option "deadLetter" must be a function');
  const json = arrays === 'json';

  // Joined names are cached: a property store with a fresh concatenated string costs V8 a flatten
  // and a string-table lookup per field; a cached (internalized) name does not. Bounded, since
  // field names may come from the data.
  const names = new Map<string, Map<string, string>>();
  let cachedNames = 0;
  const namesUnder = (prefix: string): Map<string, string> | undefined => {
    if (prefix === '') return undefined;
    let under = names.get(prefix);
    if (under === undefined && cachedNames < MAX_CACHED_NAMES) names.set(prefix, (under = new Map()));
    return under;
  };
  // Recursive, depth-bounded: a value nested past MAX_FLATTEN_DEPTH (or in a cycle) is refused
  // long before the stack could overflow.
  const into = (out: Record<string, unknown>, object: Record<string, unknown>, prefix: string, depth: number): void => {
    if (depth > MAX_FLATTEN_DEPTH) throw new OperatorError(`step "${id}": the value nests objects deeper than ${MAX_FLATTEN_DEPTH} levels (or in a cycle)`, { stepId: id });
    const under = namesUnder(prefix);
    for (const key in object) {
      const x = object[key];
      let name = prefix === '' ? key : under?.get(key);
      if (name === undefined) {
        name = prefix + delimiter + key;
        if (under !== undefined && cachedNames < MAX_CACHED_NAMES) {
          under.set(key, name);
          cachedNames += 1;
        }
      }
      if (typeof x === 'object' && x !== null && !Array.isArray(x)) {
        into(out, x as Record<string, unknown>, name, depth + 1);
        continue;
      }
      // JSON.parse makes "__proto__" an own field; plain assignment would set the prototype instead.
      setOwn(out, name, json && Array.isArray(x) ? stringifyJson(x) : x);
    }
  };

  return perRecord<Envelope<Record<string, unknown>>, Envelope<Record<string, unknown>>>((envelope, subscriber) => {
    const value = envelope.value;
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return subscriber.next(envelope);
    const out: Record<string, unknown> = {};
    try {
      into(out, value, '', 1);
    } catch (error) {
      if (deadLetter === undefined) throw error;
      const refused = error instanceof OperatorError ? error : new OperatorError(`step "${id}": cannot flatten the value: ${(error as Error).message}`, { stepId: id, cause: error });
      return deadLetter(envelope, refused, id);
    }
    subscriber.next(rewrap(envelope, out));
  });
}
