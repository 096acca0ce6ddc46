import { ConfigError } from '../../core/errors.ts';
import { setOwn, stringifyJson } from '../../core/json.ts';

/**
 * The column types of a Tributary Parquet file. `timestamp` is epoch milliseconds, written as INT64
 * with the TIMESTAMP(MILLIS, UTC) logical type where the writer supports it; `int64` values are
 * JavaScript numbers, exact up to 2^53.
 */
export type ColumnType = 'string' | 'int64' | 'double' | 'boolean' | 'timestamp';

/** Every column type, for validation. */
export const COLUMN_TYPES: readonly ColumnType[] = ['string', 'int64', 'double', 'boolean', 'timestamp'];

/** A column as a topology declares it. */
export interface ColumnSpec {
  readonly name: string;
  readonly type: ColumnType;
  /** Default `true`. A null in a non-nullable column sends the record to dead letters. */
  readonly nullable?: boolean;
}

/** A column of a file: declared by the topology, or inferred from records (and then widenable). */
export interface Column {
  readonly name: string;
  readonly type: ColumnType;
  readonly nullable: boolean;
  readonly declared: boolean;
}

/** A value as writers take it. */
export type ParquetValue = string | number | boolean | null;
/** A row keyed by column name; a missing key is a null. Timestamps and int64s are integer numbers. */
export type ParquetRow = Record<string, ParquetValue>;

/** What `coerce` returns for a value that does not fit its column without loss. */
export const NOT_COERCIBLE: unique symbol = Symbol('not coercible');

const INTEGER = /^[+-]?\d+$/;

/**
 * Converts `value` to `type` when that loses nothing, else returns `NOT_COERCIBLE`.
 * `null` and `undefined` become `null` (nullability is checked by the caller); NaN and ±Infinity
 * are refused.
 *
 * @example
 * coerce('int64', '42'); // 42
 * coerce('int64', 4.5); // NOT_COERCIBLE
 */
export function coerce(type: ColumnType, value: unknown): ParquetValue | typeof NOT_COERCIBLE {
  if (value === null || value === undefined) return null;
  switch (type) {
    case 'string':
      if (typeof value === 'string') return value;
      if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
      if (value instanceof Date) return Number.isNaN(value.getTime()) ? NOT_COERCIBLE : value.toISOString();
      try {
        return stringifyJson(value) ?? NOT_COERCIBLE;
      } catch {
        return NOT_COERCIBLE; // a cycle or a BigInt inside
      }
    case 'int64':
      return toInteger(value);
    case 'double':
      // Non-finite numbers are refused: JSON (the worker hand-off, most sources) has no form for them.
      if (typeof value === 'number') return Number.isFinite(value) ? value : NOT_COERCIBLE;
      if (typeof value === 'bigint') return Number.isSafeInteger(Number(value)) ? Number(value) : NOT_COERCIBLE;
      if (typeof value === 'string' && value.trim() !== '') {
        const n = Number(value);
        return Number.isFinite(n) ? n : NOT_COERCIBLE;
      }
      return NOT_COERCIBLE;
    case 'boolean':
      if (typeof value === 'boolean') return value;
      if (value === 'true') return true;
      if (value === 'false') return false;
      return NOT_COERCIBLE;
    case 'timestamp': {
      if (value instanceof Date) return Number.isNaN(value.getTime()) ? NOT_COERCIBLE : value.getTime();
      if (typeof value === 'string' && !INTEGER.test(value)) {
        const ms = Date.parse(value);
        return Number.isNaN(ms) ? NOT_COERCIBLE : ms;
      }
      return toInteger(value);
    }
  }
}

function toInteger(value: unknown): number | typeof NOT_COERCIBLE {
  if (typeof value === 'number') return Number.isSafeInteger(value) ? value : NOT_COERCIBLE;
  if (typeof value === 'bigint' || (typeof value === 'string' && INTEGER.test(value))) {
    const n = Number(value);
    return Number.isSafeInteger(n) ? n : NOT_COERCIBLE;
  }
  return NOT_COERCIBLE;
}

/** The column type a first value suggests: integers are `int64` (widened to `double` later if needed). */
export function inferColumnType(value: unknown): ColumnType | undefined {
  switch (typeof value) {
    case 'string':
      return 'string';
    case 'boolean':
      return 'boolean';
    case 'bigint':
      return 'int64';
    case 'number':
      return Number.isSafeInteger(value) ? 'int64' : 'double';
    case 'object':
      if (value === null) return undefined;
      return value instanceof Date ? 'timestamp' : 'string';
    default:
      return undefined;
  }
}

/** Checks declared columns once, at construction. */
export function validateColumns(columns: readonly ColumnSpec[], stepId: string): Column[] {
  const problems: string[] = [];
  const seen = new Set<string>();
  columns.forEach((column, i) => {
    if (typeof column.name !== 'string' || column.name === '') problems.push(`columns/${i}/name must be a non-empty string`);
    else if (seen.has(column.name)) problems.push(`columns/${i}/name '${column.name}' is declared twice`);
    seen.add(column.name);
    if (!COLUMN_TYPES.includes(column.type)) {
      problems.push(`columns/${i}/type must be one of ${COLUMN_TYPES.join(', ')}, got '${String(column.type)}'`);
    }
  });
  if (problems.length > 0) throw new ConfigError(problems.map((p) => `${stepId}: ${p}`), { stepId });
  return columns.map((c) => ({ name: c.name, type: c.type, nullable: c.nullable ?? true, declared: true }));
}

/** A record fitted to the schema: its row, and its estimated in-memory size in bytes. */
export type FitResult =
  | { readonly ok: true; readonly row: ParquetRow; readonly bytes: number }
  | {
      readonly ok: false;
      readonly column: string;
      readonly reason: string;
      /** The reason without the value (for logs). */
      readonly summary: string;
      /** True when the record would take the schema past `maxColumns`. */
      readonly limit?: true;
    };

/**
 * The schema of a sink: declared columns, then columns inferred from records in the order they
 * appear. It only grows: a new field adds a nullable column, and an inferred `int64` column that
 * meets a fraction becomes `double`. Declared columns never change type; their values are coerced.
 *
 * It holds `maxColumns` columns at most: a record that would add more is refused (`limit`), so
 * records each carrying a new field name cannot grow it, or the files, without bound.
 *
 * @example
 * const schema = new SchemaTracker([], 'widen');
 * schema.fit({ a: 1 }); // { ok: true, row: { a: 1 }, bytes: 8 }, columns: a int64
 * schema.fit({ a: 1.5, b: 'x' }); // columns: a double, b string; version 2
 */
export class SchemaTracker {
  #columns: Column[];
  readonly #index = new Map<string, number>();
  readonly #widen: boolean;
  readonly #required: string[];
  readonly #maxColumns: number;
  /** Bumped on every change; a file opened at another version may lack columns. */
  version = 0;

  constructor(declared: readonly Column[], extraFields: 'widen' | 'drop' = 'widen', maxColumns = Infinity) {
    this.#columns = [...declared];
    this.#columns.forEach((c, i) => this.#index.set(c.name, i));
    this.#widen = extraFields === 'widen';
    this.#required = declared.filter((c) => !c.nullable).map((c) => c.name);
    this.#maxColumns = maxColumns;
  }

  get columns(): readonly Column[] {
    return this.#columns;
  }

  typeOf(name: string): ColumnType | undefined {
    const i = this.#index.get(name);
    return i === undefined ? undefined : this.#columns[i]?.type;
  }

  /** Fits a flat record (see `flattenRecord`), widening the schema if it brings something new. */
  fit(record: Readonly<Record<string, unknown>>): FitResult {
    const row: ParquetRow = {};
    let bytes = 0;
    let added: Column[] | undefined;
    let widened: number[] | undefined;
    for (const name in record) {
      const value = record[name];
      const i = this.#index.get(name);
      let type: ColumnType;
      if (i === undefined) {
        const inferred = this.#widen ? inferColumnType(value) : undefined;
        if (inferred === undefined) continue;
        type = inferred;
        (added ??= []).push({ name, type, nullable: true, declared: false });
      } else {
        const column = this.#columns[i] as Column;
        type = column.type;
        if (type === 'int64' && !column.declared && typeof value === 'number' && !Number.isSafeInteger(value)) {
          type = 'double';
          (widened ??= []).push(i);
        }
      }
      const v = coerce(type, value);
      if (v === NOT_COERCIBLE) return { ok: false, column: name, reason: `expected ${type}, got ${describe(value)}`, summary: `expected ${type}, got ${typeof value}` };
      if (v === null) continue;
      setOwn(row, name, v);
      bytes += typeof v === 'string' ? v.length + 4 : typeof v === 'boolean' ? 1 : 8;
    }
    for (const name of this.#required) {
      if (!Object.hasOwn(row, name)) return { ok: false, column: name, reason: 'expected a value, got null', summary: 'expected a value, got null' };
    }
    if (added !== undefined && this.#columns.length + added.length > this.#maxColumns) {
      const reason = `${added.length} new column(s) would make ${this.#columns.length + added.length}, over maxColumns ${this.#maxColumns}`;
      return { ok: false, column: (added[0] as Column).name, reason, summary: reason, limit: true };
    }
    if (added !== undefined || widened !== undefined) {
      // A new array: files opened earlier keep the columns they were opened with.
      const next = [...this.#columns];
      for (const i of widened ?? []) next[i] = { ...(next[i] as Column), type: 'double' };
      for (const column of added ?? []) {
        this.#index.set(column.name, next.length);
        next.push(column);
      }
      this.#columns = next;
      this.version += 1;
    }
    return { ok: true, row, bytes };
  }
}

function describe(value: unknown): string {
  const text = typeof value === 'string' ? JSON.stringify(value) : String(value);
  return `${typeof value} ${text.length > 40 ? `${text.slice(0, 40)}…` : text}`;
}
