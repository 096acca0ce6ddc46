import type { Column, ParquetRow, ParquetValue } from './schema.ts';

/**
 * A column's values for a batch of rows. `nulls[i]` is 1 where row i has no value (`null` when no row
 * lacks one). Strings are one joined text with each row's end offset (UTF-16 units), so a batch
 * crosses to a worker as one string and typed arrays, not as one object per row.
 */
export type ColumnVector =
  | { readonly type: 'string'; readonly text: string; readonly ends: Uint32Array; readonly nulls: Uint8Array | null }
  | { readonly type: 'int64' | 'double' | 'timestamp'; readonly values: Float64Array; readonly nulls: Uint8Array | null }
  | { readonly type: 'boolean'; readonly values: Uint8Array; readonly nulls: Uint8Array | null };

/** Rows as columns, in the order of the file's columns. */
export interface ColumnBatch {
  readonly length: number;
  readonly vectors: readonly ColumnVector[];
}

/**
 * Whether an object inherits a value under this name (`constructor`, `toString`, `__proto__`, …): a
 * row without such a field must not be read as having the inherited function (a `constructor`
 * column once failed the whole file).
 */
export function inheritedName(name: string): boolean {
  return name in Object.prototype;
}

/** A row's own value for a column, `null` when it has none: never an inherited one. */
export function ownCell(row: ParquetRow, name: string): ParquetValue {
  return Object.hasOwn(row, name) ? (row[name] ?? null) : null;
}

/**
 * Turns fitted rows (values already of their column's type, see `coerce`) into a `ColumnBatch`.
 *
 * @example
 * toColumns([{ id: 'a', n: 1 }, { id: 'b' }], columns);
 * // { length: 2, vectors: [{ type: 'string', text: 'ab', ends: [1, 2], nulls: null },
 * //   { type: 'int64', values: [1, 0], nulls: [0, 1] }] }
 */
export function toColumns(rows: readonly ParquetRow[], columns: readonly Column[]): ColumnBatch {
  const n = rows.length;
  const vectors = columns.map((column): ColumnVector => {
    const name = column.name;
    const own = inheritedName(name);
    let nulls: Uint8Array | null = null;
    const cell = (i: number): ParquetValue => {
      const row = rows[i] as ParquetRow;
      const value = own ? ownCell(row, name) : (row[name] ?? null);
      if (value === null) (nulls ??= new Uint8Array(n))[i] = 1;
      return value;
    };
    if (column.type === 'string') {
      const parts: string[] = new Array(n);
      const ends = new Uint32Array(n);
      let end = 0;
      for (let i = 0; i < n; i++) {
        const value = cell(i);
        const text = value === null ? '' : (value as string);
        parts[i] = text;
        end += text.length;
        ends[i] = end;
      }
      return { type: 'string', text: parts.join(''), ends, nulls };
    }
    if (column.type === 'boolean') {
      const values = new Uint8Array(n);
      for (let i = 0; i < n; i++) values[i] = cell(i) === true ? 1 : 0;
      return { type: 'boolean', values, nulls };
    }
    const values = new Float64Array(n);
    for (let i = 0; i < n; i++) values[i] = (cell(i) as number | null) ?? 0;
    return { type: column.type, values, nulls };
  });
  return { length: n, vectors };
}

/**
 * Rows `start` to `end` (exclusive) of a column, appended to `out` as plain values, `null` for a
 * missing one; int64 values as bigint when asked.
 */
export function pushValues(
  vector: ColumnVector,
  out: (string | number | bigint | boolean | null)[],
  start = 0,
  end = vector.type === 'string' ? vector.ends.length : vector.values.length,
  int64AsBigInt = false,
): void {
  const { nulls } = vector;
  if (vector.type === 'string') {
    const { text, ends } = vector;
    let from = start === 0 ? 0 : (ends[start - 1] as number);
    for (let i = start; i < end; i++) {
      const to = ends[i] as number;
      out.push(nulls?.[i] === 1 ? null : text.slice(from, to));
      from = to;
    }
  } else if (vector.type === 'boolean') {
    for (let i = start; i < end; i++) out.push(nulls?.[i] === 1 ? null : vector.values[i] === 1);
  } else if (int64AsBigInt && vector.type === 'int64') {
    for (let i = start; i < end; i++) out.push(nulls?.[i] === 1 ? null : BigInt(vector.values[i] as number));
  } else {
    for (let i = start; i < end; i++) out.push(nulls?.[i] === 1 ? null : (vector.values[i] as number));
  }
}

/** The batch as rows again (for row-oriented writers): objects without a prototype, nulls left out. */
export function toRows(batch: ColumnBatch, columns: readonly Column[]): ParquetRow[] {
  const rows: ParquetRow[] = [];
  for (let i = 0; i < batch.length; i++) rows.push(Object.create(null) as ParquetRow);
  batch.vectors.forEach((vector, c) => {
    const values: (string | number | bigint | boolean | null)[] = [];
    pushValues(vector, values);
    const name = (columns[c] as Column).name;
    for (let i = 0; i < values.length; i++) if (values[i] !== null) (rows[i] as ParquetRow)[name] = values[i] as ParquetValue;
  });
  return rows;
}

/** The buffers of a batch, to transfer (not copy) to a worker; the batch is unusable afterwards. */
export function transferList(batch: ColumnBatch): ArrayBuffer[] {
  const buffers: ArrayBuffer[] = [];
  for (const v of batch.vectors) {
    buffers.push((v.type === 'string' ? v.ends : v.values).buffer as ArrayBuffer);
    if (v.nulls !== null) buffers.push(v.nulls.buffer as ArrayBuffer);
  }
  return buffers;
}
