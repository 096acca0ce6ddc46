/**
 * JSON helpers no input can overflow. V8's `JSON.parse` reads any depth, but `JSON.stringify`,
 * `structuredClone` and recursive walks overflow the stack on values nested a few thousand levels
 * deep; everything here is iterative.
 */

/**
 * Whether `value` nests objects and arrays deeper than `limit` (a scalar has depth 0, `{}` and `[]`
 * depth 1, `{ a: [] }` depth 2). Stops as soon as it is past the limit, so a cycle ends too.
 *
 * ```ts
 * nestedDeeperThan({ a: { b: 1 } }, 1); // true
 * ```
 */
export function nestedDeeperThan(value: unknown, limit: number): boolean {
  if (!isContainer(value)) return limit < 0;
  const stack: [object, number][] = [[value, 1]];
  while (stack.length > 0) {
    const [x, depth] = stack.pop() as [object, number];
    if (depth > limit) return true;
    const children = Array.isArray(x) ? x : Object.values(x);
    for (const child of children) if (isContainer(child)) stack.push([child, depth + 1]);
  }
  return false;
}

function isContainer(x: unknown): x is object {
  return typeof x === 'object' && x !== null && !ArrayBuffer.isView(x);
}

/**
 * `JSON.stringify(value)` at any depth: the built-in first, then, if it overflowed the stack, an
 * iterative encoder with the same output for JSON data (`toJSON`, skipped `undefined` fields, `null`
 * for non-finite numbers). Still throws a TypeError for a cycle or a BigInt, as the built-in does.
 * @returns the JSON text, or `undefined` for a value JSON has no form for (`undefined`, a function)
 */
export function stringifyJson(value: unknown): string | undefined {
  try {
    return JSON.stringify(value);
  } catch (error) {
    if (!(error instanceof RangeError)) throw error;
  }
  return stringifyDeep(value);
}

interface Frame {
  readonly value: object;
  /** The object's keys; `undefined` for an array. */
  readonly keys: readonly string[] | undefined;
  next: number;
  wrote: boolean;
}

function stringifyDeep(root: unknown): string | undefined {
  const out: string[] = [];
  const stack: Frame[] = [];
  const open = new Set<object>();
  const put = (x: unknown): void => {
    switch (typeof x) {
      case 'string':
        out.push(JSON.stringify(x));
        return;
      case 'number':
        out.push(Number.isFinite(x) ? String(x) : 'null');
        return;
      case 'boolean':
        out.push(x ? 'true' : 'false');
        return;
      case 'bigint':
        throw new TypeError('Do not know how to serialize a BigInt');
      default:
        if (x === null) return void out.push('null');
        if (open.has(x as object)) throw new TypeError('Converting circular structure to JSON');
        open.add(x as object);
        const array = Array.isArray(x);
        out.push(array ? '[' : '{');
        stack.push({ value: x as object, keys: array ? undefined : Object.keys(x as object), next: 0, wrote: false });
    }
  };
  const first = prepare(root, '');
  if (!representable(first)) return undefined;
  put(first);
  while (stack.length > 0) {
    const frame = stack[stack.length - 1] as Frame;
    const { value, keys } = frame;
    const length = keys === undefined ? (value as unknown[]).length : keys.length;
    if (frame.next >= length) {
      out.push(keys === undefined ? ']' : '}');
      stack.pop();
      open.delete(value);
      continue;
    }
    const i = frame.next++;
    if (keys === undefined) {
      if (i > 0) out.push(',');
      const element = prepare((value as unknown[])[i], String(i));
      if (representable(element)) put(element);
      else out.push('null');
      continue;
    }
    const key = keys[i] as string;
    const field = prepare((value as Record<string, unknown>)[key], key);
    if (!representable(field)) continue;
    out.push(`${frame.wrote ? ',' : ''}${JSON.stringify(key)}:`);
    frame.wrote = true;
    put(field);
  }
  return out.join('');
}

/** What JSON encodes for `x`: its `toJSON()` (a Date, a Buffer), a boxed primitive's value, or itself. */
function prepare(x: unknown, key: string): unknown {
  if (typeof x !== 'object' || x === null) return x;
  const toJSON = (x as { toJSON?: unknown }).toJSON;
  if (typeof toJSON === 'function') return (toJSON as (key: string) => unknown).call(x, key);
  if (x instanceof Number || x instanceof String || x instanceof Boolean) return x.valueOf();
  return x;
}

function representable(x: unknown): boolean {
  return x !== undefined && typeof x !== 'function' && typeof x !== 'symbol';
}

/**
 * Sets an own field, even one named `__proto__` (plain assignment would set the prototype instead,
 * and the field would be lost).
 */
export function setOwn(target: Record<string, unknown>, key: string, value: unknown): void {
  if (key === '__proto__') Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
  else target[key] = value;
}
