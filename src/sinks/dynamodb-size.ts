import type { AttributeValue } from '@aws-sdk/client-dynamodb';

/** DynamoDB's limits on what one request carries. */
export const MAX_ITEM_BYTES = 400 * 1024;
export const MAX_BATCH_ITEMS = 25;
export const MAX_BATCH_BYTES = 16 * 1024 * 1024;

/**
 * An item's size as DynamoDB counts it: UTF-8 bytes of names and strings, about one byte per two
 * significant digits of a number plus one, 1 for booleans and nulls, 3 plus 1 per element for lists
 * and maps. Iterative: no nesting overflows the stack.
 */
export function itemSizeBytes(item: Readonly<Record<string, AttributeValue>>): number {
  let size = 0;
  const stack: AttributeValue[] = [];
  for (const name of Object.keys(item)) {
    size += Buffer.byteLength(name);
    stack.push(item[name] as AttributeValue);
  }
  while (stack.length > 0) {
    const v = stack.pop() as AttributeValue;
    if (v.S !== undefined) size += Buffer.byteLength(v.S);
    else if (v.N !== undefined) size += numberSize(v.N);
    else if (v.B !== undefined) size += v.B.byteLength;
    else if (v.BOOL !== undefined || v.NULL !== undefined) size += 1;
    else if (v.L !== undefined) {
      size += 3 + v.L.length;
      for (const e of v.L) stack.push(e);
    } else if (v.M !== undefined) {
      size += 3;
      for (const k of Object.keys(v.M)) {
        size += 1 + Buffer.byteLength(k);
        stack.push(v.M[k] as AttributeValue);
      }
    } else if (v.SS !== undefined) for (const x of v.SS) size += Buffer.byteLength(x);
    else if (v.NS !== undefined) for (const n of v.NS) size += numberSize(n);
    else if (v.BS !== undefined) for (const b of v.BS) size += b.byteLength;
  }
  return size;
}

/** One byte per two significant digits (leading and trailing zeros trimmed), plus one. */
function numberSize(n: string): number {
  let first = -1;
  let last = -1;
  let dot = -1;
  for (let i = 0; i < n.length; i++) {
    const c = n.charCodeAt(i);
    if (c === 101 || c === 69) break; // e, E: the exponent is not stored as digits
    if (c === 46) dot = i;
    else if (c > 48 && c <= 57) {
      if (first < 0) first = i;
      last = i;
    }
  }
  const digits = first < 0 ? 1 : last - first + 1 - (dot > first && dot < last ? 1 : 0);
  return Math.ceil(digits / 2) + 1;
}

/**
 * Splits items, in order, into `BatchWriteItem` chunks of at most `maxItems` and `maxBytes`
 * (by `sizeBytes`); an item alone over `maxBytes` gets a chunk of its own.
 */
export function chunkItems<T extends { readonly sizeBytes: number }>(
  items: Iterable<T>,
  maxItems = MAX_BATCH_ITEMS,
  maxBytes = MAX_BATCH_BYTES,
): T[][] {
  const chunks: T[][] = [];
  let chunk: T[] = [];
  let bytes = 0;
  for (const item of items) {
    if (chunk.length === maxItems || (chunk.length > 0 && bytes + item.sizeBytes > maxBytes)) {
      chunks.push(chunk);
      chunk = [];
      bytes = 0;
    }
    chunk.push(item);
    bytes += item.sizeBytes;
  }
  if (chunk.length > 0) chunks.push(chunk);
  return chunks;
}
