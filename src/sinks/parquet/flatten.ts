/**
 * Flattens a record into one level of columns: nested objects join their keys with `separator`,
 * arrays become JSON strings, bytes become base64. A value that is not an object is one column,
 * `value`.
 *
 * @example
 * flattenRecord({ user_id: 'u1', event_data: { amount: 4.99, items: ['a', 'b'] } });
 * // { user_id: 'u1', event_data_amount: 4.99, event_data_items: '["a","b"]' }
 */
export function flattenRecord(value: unknown, separator = '_'): Readonly<Record<string, unknown>> {
  // Already flat (a `flatten` step ran before the sink): the record itself, not a copy.
  if (isNested(value) && isFlat(value as Record<string, unknown>)) return value as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  if (isNested(value)) walk(value as Record<string, unknown>, '', separator, out);
  else out.value = leaf(value);
  return out;
}

function walk(object: Record<string, unknown>, prefix: string, separator: string, out: Record<string, unknown>): void {
  for (const key in object) {
    if (!Object.hasOwn(object, key)) continue;
    const value = object[key];
    const name = prefix === '' ? key : prefix + separator + key;
    if (isNested(value)) walk(value as Record<string, unknown>, name, separator, out);
    else out[name] = leaf(value);
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
  if (Array.isArray(value)) return JSON.stringify(value);
  if (ArrayBuffer.isView(value)) return Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('base64');
  return value;
}
