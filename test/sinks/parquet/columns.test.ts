import { describe, expect, it } from 'vitest';
import { pushValues, toColumns, toRows, transferList } from '../../../src/sinks/parquet/columns.ts';
import type { Column, ParquetRow } from '../../../src/sinks/parquet/schema.ts';

const col = (name: string, type: Column['type']): Column => ({ name, type, nullable: true, declared: true });
const COLUMNS = [col('s', 'string'), col('i', 'int64'), col('d', 'double'), col('b', 'boolean'), col('t', 'timestamp')];
const ROWS: ParquetRow[] = [
  { s: 'héllo 🎮', i: 2 ** 53 - 1, d: -0.5, b: true, t: 1_700_000_000_123 },
  { s: '', i: -7, d: 0, b: false, t: 0 },
  { s: null, i: null },
  {},
];

const values = (batch: ReturnType<typeof toColumns>, c: number, start?: number, end?: number, bigint = false) => {
  const out: unknown[] = [];
  pushValues(batch.vectors[c]!, out as never, start, end, bigint);
  return out;
};

describe('toColumns', () => {
  it('keeps every value, empty strings and nulls apart', () => {
    const batch = toColumns(ROWS, COLUMNS);
    expect(batch.length).toBe(4);
    expect(values(batch, 0)).toEqual(['héllo 🎮', '', null, null]);
    expect(values(batch, 1)).toEqual([2 ** 53 - 1, -7, null, null]);
    expect(values(batch, 1, 0, 2, true)).toEqual([2n ** 53n - 1n, -7n]);
    expect(values(batch, 2)).toEqual([-0.5, 0, null, null]);
    expect(values(batch, 3)).toEqual([true, false, null, null]);
    expect(values(batch, 4)).toEqual([1_700_000_000_123, 0, null, null]);
  });

  it('reads a range of rows', () => {
    const batch = toColumns(ROWS, COLUMNS);
    expect(values(batch, 0, 1, 3)).toEqual(['', null]);
    expect(values(batch, 0, 0, 1)).toEqual(['héllo 🎮']);
  });

  it('leaves out the null map of a column without nulls', () => {
    const batch = toColumns(ROWS.slice(0, 2), COLUMNS);
    expect(batch.vectors.every((v) => v.nulls === null)).toBe(true);
  });

  it('reads columns named like inherited properties as own fields only', () => {
    const columns = [col('constructor', 'int64'), col('__proto__', 'string'), col('toString', 'boolean')];
    const rows = JSON.parse('[{"constructor":3,"__proto__":"p","toString":true},{}]') as ParquetRow[];
    const batch = toColumns(rows, columns);
    expect([0, 1, 2].map((c) => values(batch, c))).toEqual([
      [3, null],
      ['p', null],
      [true, null],
    ]);
    const back = toRows(batch, columns);
    expect(Object.getPrototypeOf(back[1])).toBeNull();
    expect(Object.keys(back[0]!)).toEqual(['constructor', '__proto__', 'toString']);
    expect(Object.keys(back[1]!)).toEqual([]);
  });

  it('turns back into the rows it came from, nulls left out', () => {
    const back = toRows(toColumns(ROWS, COLUMNS), COLUMNS);
    expect(back.map((r) => ({ ...r }))).toEqual([ROWS[0], ROWS[1], {}, {}]);
  });

  it('lists the buffers to transfer to a worker', () => {
    const batch = toColumns(ROWS, COLUMNS);
    // One values or ends buffer per column, plus each null map.
    expect(transferList(batch)).toHaveLength(5 + batch.vectors.filter((v) => v.nulls !== null).length);
  });
});
