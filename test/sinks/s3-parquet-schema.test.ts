/**
 * The Parquet sink against records that would grow its schema or that it cannot place: widening
 * is linear (not one file per new field), `maxColumns` bounds the columns, and a record it cannot
 * flatten or partition goes to dead letters while the rest of the batch is written.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CountingLease, envelopeOf, type Envelope } from '../../src/core/envelope.ts';
import { SchemaLimitError, SinkPermanentError } from '../../src/core/errors.ts';
import { MAX_RECORD_DEPTH } from '../../src/sinks/parquet/flatten.ts';
import { s3ParquetSink, type S3ParquetSinkOptions } from '../../src/sinks/s3-parquet.ts';
import { OPEN_WRITER_ROWS } from '../../src/sinks/s3-parquet-files.ts';
import { testContext } from '../support/sink-context.ts';
import { columnTypes, readRows } from './parquet/duckdb.ts';
import { FakeS3 } from './s3-parquet-fake.ts';

const T10 = Date.UTC(2025, 5, 1, 10, 5);

function record(offset: number, value: Record<string, unknown> = {}, eventTimeMs = T10): Envelope<unknown> {
  return envelopeOf({ event_id: `e${offset}`, ...value }, { topic: 'games', partition: 0, offset }, new CountingLease(), eventTimeMs);
}

function setup(options: Partial<S3ParquetSinkOptions> = {}) {
  const s3 = new FakeS3();
  const { context, metrics, dead } = testContext();
  const sink = s3ParquetSink({ id: 'to-s3', client: s3.client, bucket: 'lake', prefix: 'raw', encodeInWorker: false, ...options }, context);
  return { s3, sink, metrics, dead };
}

/** The sink's objects written to a temporary directory, for DuckDB. */
function saved(s3: FakeS3): string {
  const dir = mkdtempSync(join(tmpdir(), 'tributary-schema-'));
  [...s3.objects.values()].forEach((bytes, i) => writeFileSync(join(dir, `${i}.parquet`), bytes));
  return dir;
}

const leasesDone = (batch: readonly Envelope<unknown>[]) => batch.every((e) => (e.lease as CountingLease).done);

describe('s3ParquetSink schema growth', () => {
  it('writes 2,000 records that each bring a new field to one file, not 2,000 (regression: the file storm)', async () => {
    const { s3, sink, dead } = setup({ maxColumns: 3000 });
    const batch = Array.from({ length: 2000 }, (_, i) => record(i, { [`field_${i}`]: i }));
    for (let i = 0; i < batch.length; i += 500) await sink.write(batch.slice(i, i + 500));
    await sink.close();
    expect(s3.objects.size).toBe(1);
    expect(dead).toEqual([]);
    expect(leasesDone(batch)).toBe(true);
    const dir = saved(s3);
    expect(Object.keys(await columnTypes(`${dir}/*.parquet`))).toHaveLength(2001);
    const rows = await readRows(`${dir}/*.parquet`, 'event_id, field_0, field_1234, field_1999', 'event_id');
    expect(rows.filter((r) => r.event_id === 'e1234')).toEqual([{ event_id: 'e1234', field_0: null, field_1234: 1234n, field_1999: null }]);
  }, 60_000);

  it('starts a new file for a new field only once the open file has handed its rows to the writer', async () => {
    const { s3, sink } = setup();
    const first = Array.from({ length: OPEN_WRITER_ROWS }, (_, i) => record(i, { score: i }));
    await sink.write(first); // the file's writer opens with columns event_id, score
    await sink.write([record(OPEN_WRITER_ROWS, { score: 1, bonus: 5 }), record(OPEN_WRITER_ROWS + 1, { score: 2 })]);
    await sink.close();
    expect(s3.objects.size).toBe(2);
    const dir = saved(s3);
    expect(await readRows(`${dir}/*.parquet`, 'count(*) AS n, count(bonus) AS bonus', '1', true)).toEqual([{ n: BigInt(OPEN_WRITER_ROWS + 2), bonus: 1n }]);
  });

  it('holds maxColumns columns: a record that would add more goes to dead letters whole, the others land', async () => {
    const { s3, sink, dead, metrics } = setup({ maxColumns: 10, columns: [{ name: 'event_id', type: 'string' }] });
    const batch = [
      record(0, { a: 1, b: 2, c: 3 }),
      record(1, { d: 1, e: 2, f: 3, g: 4, h: 5 }), // 9 columns
      record(2, { i: 1, j: 2 }), // would make 11
      record(3, { a: 7, i: 1 }), // 10: fits
      record(4, { k: 1 }),
      record(5, { a: 8 }),
    ];
    await sink.write(batch);
    await sink.close();
    expect(dead.map((d) => [d.envelope.meta.offset, d.error.code])).toEqual([
      [2, 'TRIB_SCHEMA_LIMIT'],
      [4, 'TRIB_SCHEMA_LIMIT'],
    ]);
    expect(dead[0]?.error).toBeInstanceOf(SchemaLimitError);
    expect(dead[0]?.error.message).toBe(`to-s3: column 'i': 2 new column(s) would make 11, over maxColumns 10`);
    expect(metrics.value('state_limit_total', { step: 'to-s3' })).toBe(2);
    expect(leasesDone(batch)).toBe(true);
    const dir = saved(s3);
    expect(Object.keys(await columnTypes(`${dir}/*.parquet`, true))).toHaveLength(10);
    expect((await readRows(`${dir}/*.parquet`, 'event_id', 'event_id', true)).map((r) => r.event_id)).toEqual(['e0', 'e1', 'e3', 'e5']);
  });

  it('defaults maxColumns to 256', async () => {
    const { s3, sink, dead } = setup();
    await sink.write(Array.from({ length: 300 }, (_, i) => record(i, { [`f${i}`]: i })));
    await sink.close();
    expect(dead).toHaveLength(300 - 255);
    expect(Object.keys(await columnTypes(`${saved(s3)}/*.parquet`, true))).toHaveLength(256);
  });
});

describe('s3ParquetSink records it cannot place', () => {
  it('dead-letters a record nested past what it flattens and one whose time has no hour partition; the batch goes on', async () => {
    const { s3, sink, dead } = setup();
    const deep = JSON.parse(`${'{"a":'.repeat(MAX_RECORD_DEPTH + 5)}1${'}'.repeat(MAX_RECORD_DEPTH + 5)}`) as Record<string, unknown>;
    const batch = [
      record(0),
      record(1, { nested: deep }),
      record(2, {}, Number.NaN),
      record(3, {}, -1),
      record(4, {}, 1e20),
      record(5, JSON.parse('{"__proto__": "kept", "constructor": 3}') as Record<string, unknown>),
    ];
    await sink.write(batch);
    await sink.close();
    expect(dead.map((d) => [d.envelope.meta.offset, d.error.code])).toEqual([
      [2, 'TRIB_EVENT_TIME_TOO_OLD'],
      [3, 'TRIB_EVENT_TIME_TOO_OLD'],
      [4, 'TRIB_EVENT_TIME_FUTURE'],
      [1, 'TRIB_SINK_PERMANENT'],
    ]);
    expect(dead[3]?.error).toBeInstanceOf(SinkPermanentError);
    expect(dead[3]?.error.message).toContain(`nests objects deeper than ${MAX_RECORD_DEPTH} levels`);
    expect(leasesDone(batch)).toBe(true);
    expect([...s3.objects.keys()].every((key) => key.includes('/year=2025/'))).toBe(true);
    const rows = await readRows(`${saved(s3)}/*.parquet`, 'event_id, "__proto__" AS proto, "constructor" AS ctor', 'event_id', true);
    expect(rows).toEqual([
      { event_id: 'e0', proto: null, ctor: null },
      { event_id: 'e5', proto: 'kept', ctor: 3n },
    ]);
  });
});
