import type { OperatorFunction } from 'rxjs';
import type { Envelope } from '../core/envelope.ts';
import { checkStepId, perRecord, rewrap, stepConfigError } from './per-record.ts';

const MAX_CACHED_NAMES = 4096;

export interface FlattenOptions {
  /** The step id (errors, logs, metric labels). */
  readonly id: string;
  /** Joins the names of nested fields. Default `_`. */
  readonly delimiter?: string;
  /** Arrays kept as they are (`keep`, the default) or written as a JSON string (`json`). */
  readonly arrays?: 'json' | 'keep';
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
 * @returns the same records with flat values
 */
export function flatten(options: FlattenOptions): OperatorFunction<Envelope<Record<string, unknown>>, Envelope<Record<string, unknown>>> {
  const { id, delimiter = '_', arrays = 'keep' } = options;
  checkStepId(id, 'flatten');
  if (typeof delimiter !== 'string') throw stepConfigError(id, 'option "delimiter" must be a string');
  if (arrays !== 'json' && arrays !== 'keep') throw stepConfigError(id, `option "arrays" must be 'json' or 'keep', got ${JSON.stringify(arrays)}`);
  const json = arrays === 'json';

  // Joined names are cached: a property store with a fresh concatenated string costs V8 a flatten
  // and a string-table lookup per field; a cached (internalized) name does not. Bounded, since
  // field names may come from the data.
  const names = new Map<string, Map<string, string>>();
  let cachedNames = 0;
  const into = (out: Record<string, unknown>, object: Record<string, unknown>, prefix: string): void => {
    let under = names.get(prefix);
    if (under === undefined && prefix !== '' && cachedNames < MAX_CACHED_NAMES) names.set(prefix, (under = new Map()));
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
        into(out, x as Record<string, unknown>, name);
        continue;
      }
      const leaf = json && Array.isArray(x) ? JSON.stringify(x) : x;
      // JSON.parse makes "__proto__" an own field; plain assignment would set the prototype instead.
      if (name === '__proto__') Object.defineProperty(out, name, { value: leaf, enumerable: true, writable: true, configurable: true });
      else out[name] = leaf;
    }
  };

  return perRecord<Envelope<Record<string, unknown>>, Envelope<Record<string, unknown>>>((envelope, subscriber) => {
    const value = envelope.value;
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return subscriber.next(envelope);
    const out: Record<string, unknown> = {};
    into(out, value, '');
    subscriber.next(rewrap(envelope, out));
  });
}
