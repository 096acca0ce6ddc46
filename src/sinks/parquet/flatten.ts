import { setOwn, stringifyJson } from '../../core/json.ts';

/** Objects nested deeper than this (or in a cycle) are refused; `parse` already stops JSON at 64 levels. */
export const MAX_RECORD_DEPTH = 1000;

/**
 * Flattens a record into one level of columns: nested objects join their keys with `separator`,
 * arrays become JSON strings, bytes become base64. A value that is not an object is one column,
 * `value`. The walk is depth-bounded (no record overflows the stack).
 *
 * @example
 * flattenRecord({ user_id: 'u1', event_data: { amount: 4.99, items: ['a', 'b'] } });
 * // { user_id: 'u1', event_data_amount: 4.99, event_data_items: '["a","b"]' }
 * @throws Error for a record nesting objects deeper than `MAX_RECORD_DEPTH` or in a cycle, or an
 *   array JSON cannot encode; the sink sends it to dead letters
 */
export function flattenRecord(value: unknown, separator = '_'): Readonly<Record<string, unknown>> {
  // Already flat (a `flatten` step ran before the sink): the record itself, not a copy.
  if (isNested(value) && isFlat(value as Record<string, unknown>)) return value as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  if (isNested(value)) walk(value as Record<string, unknown>, '', separator, out, 1);
  else out.value = leaf(value);
  return out;
}

/** Depth-bounded recursion: a record nested past `MAX_RECORD_DEPTH` (or in a cycle) is refused long before the stack could overflow. */
function walk(object: Record<string, unknown>, prefix: string, separator: string, out: Record<string, unknown>, depth: number): void {
  if (depth > MAX_RECORD_DEPTH) throw new Error(`the record nests objects deeper than ${MAX_RECORD_DEPTH} levels (or in a cycle)`);
  for (const key in object) {
    if (!Object.hasOwn(object, key)) continue;
    const value = object[key];
    const name = prefix === '' ? key : prefix + separator + key;
    if (isNested(value)) walk(value as Record<string, unknown>, name, separator, out, depth + 1);
    else setOwn(out, name, leaf(value));
  }
}

/** True when no own value needs flattening (no nested object, array or bytes): the record is its own flattening. */
function isFlat(object: Record<string, unknown>): boolean {
  for (const key in object) {
    if (!Object.hasOwn(object, key)) return false;
    const value = object[key];
    if (typeof value === 'object' && value !== null && !(value instanceof Date)) return false;
  }
  return true;
}

function isNested(value: unknown): boolean {
  return (
    typeof value === 'object' &&
    value !== null &&
    !Array.isArray(value) &&
    !(value instanceof Date) &&
    !ArrayBuffer.isView(value)
  );
}

function leaf(value: unknown): unknown {
  if (Array.isArray(value)) return stringifyJson(value);
  if (ArrayBuffer.isView(value)) return Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('base64');
  return value;
}
