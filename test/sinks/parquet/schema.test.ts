import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../../src/core/errors.ts';
import { coerce, inferColumnType, NOT_COERCIBLE, SchemaTracker, validateColumns } from '../../../src/sinks/parquet/schema.ts';

describe('coerce', () => {
  it('keeps values of the right type and converts lossless ones', () => {
    expect(coerce('string', 'a')).toBe('a');
    expect(coerce('string', 42)).toBe('42');
    expect(coerce('string', true)).toBe('true');
    expect(coerce('int64', 42)).toBe(42);
    expect(coerce('int64', '-17')).toBe(-17);
    expect(coerce('int64', 10n)).toBe(10);
    expect(coerce('double', 1.5)).toBe(1.5);
    expect(coerce('double', '2.25')).toBe(2.25);
    expect(coerce('double', 3)).toBe(3);
    expect(coerce('boolean', 'true')).toBe(true);
    expect(coerce('timestamp', 1_700_000_000_000)).toBe(1_700_000_000_000);
    expect(coerce('timestamp', '2025-06-01T12:00:00.250Z')).toBe(Date.UTC(2025, 5, 1, 12, 0, 0, 250));
    expect(coerce('timestamp', new Date(5))).toBe(5);
    expect(coerce('timestamp', '1700000000000')).toBe(1_700_000_000_000);
  });

  it('maps null and undefined to null', () => {
    expect(coerce('int64', null)).toBeNull();
    expect(coerce('string', undefined)).toBeNull();
  });

  it('refuses what would lose information', () => {
    expect(coerce('int64', 4.5)).toBe(NOT_COERCIBLE);
    expect(coerce('int64', 'abc')).toBe(NOT_COERCIBLE);
    expect(coerce('int64', 2 ** 60)).toBe(NOT_COERCIBLE);
    expect(coerce('int64', '99999999999999999999')).toBe(NOT_COERCIBLE);
    expect(coerce('double', 'x1')).toBe(NOT_COERCIBLE);
    expect(coerce('double', '')).toBe(NOT_COERCIBLE);
    expect(coerce('double', Number.NaN)).toBe(NOT_COERCIBLE);
    expect(coerce('double', -Infinity)).toBe(NOT_COERCIBLE);
    expect(coerce('boolean', 1)).toBe(NOT_COERCIBLE);
    expect(coerce('timestamp', 'yesterday')).toBe(NOT_COERCIBLE);
    expect(coerce('timestamp', 1.5)).toBe(NOT_COERCIBLE);
  });
});

describe('inferColumnType', () => {
  it('infers from a first value', () => {
    expect(inferColumnType('x')).toBe('string');
    expect(inferColumnType(3)).toBe('int64');
    expect(inferColumnType(3.5)).toBe('double');
    expect(inferColumnType(false)).toBe('boolean');
    expect(inferColumnType(new Date())).toBe('timestamp');
    expect(inferColumnType(null)).toBeUndefined();
  });
});

describe('SchemaTracker', () => {
  it('adds columns for new fields and bumps the version', () => {
    const schema = new SchemaTracker([]);
    expect(schema.fit({ a: 1, b: 'x' })).toEqual({ ok: true, row: { a: 1, b: 'x' }, bytes: 8 + 5 });
    expect(schema.version).toBe(1);
    const before = schema.columns;
    expect(schema.fit({ a: 2 })).toMatchObject({ ok: true, row: { a: 2 } });
    expect(schema.version).toBe(1);
    expect(schema.fit({ a: 3, c: true }).ok).toBe(true);
    expect(schema.version).toBe(2);
    expect(schema.columns.map((c) => `${c.name}:${c.type}`)).toEqual(['a:int64', 'b:string', 'c:boolean']);
    expect(before.map((c) => c.name)).toEqual(['a', 'b']);
  });

  it('widens an inferred int64 column to double, leaving earlier snapshots alone', () => {
    const schema = new SchemaTracker([]);
    schema.fit({ amount: 10 });
    const before = schema.columns;
    expect(schema.fit({ amount: 10.5 })).toMatchObject({ ok: true, row: { amount: 10.5 } });
    expect(schema.typeOf('amount')).toBe('double');
    expect(before[0]?.type).toBe('int64');
  });

  it('does not add a column for a null-only field', () => {
    const schema = new SchemaTracker([]);
    schema.fit({ a: 1, b: null });
    expect(schema.columns.map((c) => c.name)).toEqual(['a']);
  });

  it('coerces declared columns and reports the column that does not fit', () => {
    const schema = new SchemaTracker(validateColumns([{ name: 'score', type: 'int64' }], 's3'));
    expect(schema.fit({ score: '12' })).toMatchObject({ ok: true, row: { score: 12 } });
    const bad = schema.fit({ score: 1.5, extra: 'x' });
    expect(bad).toMatchObject({ ok: false, column: 'score' });
    expect(schema.typeOf('score')).toBe('int64');
    // A refused record changes nothing.
    expect(schema.typeOf('extra')).toBeUndefined();
  });

  it('refuses a null in a non-nullable declared column', () => {
    const schema = new SchemaTracker(validateColumns([{ name: 'id', type: 'string', nullable: false }], 's3'));
    expect(schema.fit({ other: 1 })).toMatchObject({ ok: false, column: 'id' });
  });

  it('drops fields outside the declared columns in drop mode', () => {
    const schema = new SchemaTracker(validateColumns([{ name: 'id', type: 'string' }], 's3'), 'drop');
    expect(schema.fit({ id: 'a', extra: 1 })).toMatchObject({ ok: true, row: { id: 'a' } });
    expect(schema.columns.map((c) => c.name)).toEqual(['id']);
  });
});

describe('validateColumns', () => {
  it('names every problem with the step id', () => {
    const error = (() => {
      try {
        validateColumns([{ name: 'a', type: 'int64' }, { name: 'a', type: 'text' as never }, { name: '', type: 'string' }], 'to-s3');
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).problems).toEqual([
      "to-s3: columns/1/name 'a' is declared twice",
      "to-s3: columns/1/type must be one of string, int64, double, boolean, timestamp, got 'text'",
      'to-s3: columns/2/name must be a non-empty string',
    ]);
  });
});
