import { describe, expect, it } from 'vitest';
import { countKafka, planSink } from '../../../src/topology/commands/reconcile-counts.ts';
import { balances, parseHour } from '../../../src/topology/commands/reconcile.ts';
import { checkTopologyText } from '../../../src/topology/load.ts';
import type { S3ParquetSink, ValidTopology } from '../../../src/topology/types.ts';

const { topology, problems } = checkTopologyText(
  `
name: t
sources:
  - { id: a, topics: [ta], group: g, eventTime: { field: ts } }
  - { id: b, topics: [tb], group: g, eventTime: kafka }
deadLetters: { topic: dlq }
steps:
  - { id: parse, kind: parse, from: [a, b] }
  - { id: dedup, kind: dedup, from: parse, key: meta.id }
  - id: by
    kind: route
    from: dedup
    routes: [{ output: keep, when: "kind != 'noise'" }, { output: noise, when: "kind == 'noise'" }]
  - { id: w, kind: window, from: dedup, window: { type: tumbling, size: 1m }, key: k, aggregate: { n: { fn: count } } }
sinks:
  - { id: cold, kind: s3-parquet, from: by.keep, bucket: bucket-1, prefix: p }
  - { id: minutes, kind: s3-parquet, from: w, bucket: bucket-1, prefix: m }
`,
  'yaml',
);
const t = topology as ValidTopology;
const H = Date.UTC(2026, 0, 1, 10);
const rec = (topic: string, offset: number, value: unknown, timestamp = H, partition = 0) => ({
  topic,
  partition,
  offset,
  timestamp,
  key: null,
  value: Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)),
  headers: {},
});

describe('reconcile counts', () => {
  it('reads a valid topology', () => expect(problems).toEqual([]));

  it('skips a sink fed by window results', () => {
    expect(planSink(t, t.sinks[1] as S3ParquetSink)).toEqual({ reason: 'fed by "w" (window results, not source records)' });
  });

  it('splits the hour into dead letters, duplicates, routed away and expected rows, by event time', () => {
    const plan = planSink(t, t.sinks[0] as S3ParquetSink);
    if ('reason' in plan) throw new Error(plan.reason);
    expect(plan.idColumn).toBe('meta_id');
    const iso = (ms: number) => new Date(ms).toISOString();
    const counts = countKafka(
      plan,
      [
        rec('ta', 0, { meta: { id: 'x1' }, ts: iso(H + 1) }),
        rec('ta', 1, { meta: { id: 'x1' }, ts: iso(H + 1) }, H, 1), // a duplicate
        rec('ta', 2, { meta: { id: 'x2' }, ts: iso(H + 2), kind: 'noise' }), // routed away
        rec('ta', 3, { meta: { id: 'x3' }, ts: iso(H - 1) }), // the hour before
        rec('ta', 4, { meta: { id: 'x4' }, ts: iso(H + 3_600_000) }), // the hour after
        rec('ta', 5, '{"broken', H + 5), // no event time: its Kafka time; dead-lettered
        rec('tb', 0, { meta: { id: 'y1' } }, H + 10), // kafka time
        rec('tb', 1, { meta: { id: 'y2' } }, H - 10),
      ],
      H,
      new Set(['ta:0:5']),
    );
    const a = counts.get('ta');
    expect(a && { records: a.records, ids: [...a.ids], deadLetters: a.deadLetters, duplicates: a.duplicates, filtered: a.filtered, byPartition: [...a.expectedByPartition] }).toEqual({
      records: 4,
      ids: ['x1'],
      deadLetters: 1,
      duplicates: 1,
      filtered: 1,
      byPartition: [[0, 1]],
    });
    expect(counts.get('tb')?.records).toBe(1);
    const line = { sink: 'cold', topic: 'ta', kafka: a as NonNullable<typeof a>, parquetRows: 1, parquetIds: 1, objects: 1, gaps: new Map() };
    expect(balances(line)).toBe(true);
    expect(balances({ ...line, parquetRows: 0, gaps: new Map([[0, 1]]) })).toBe(false);
    expect(balances({ ...line, parquetRows: 2, parquetIds: 1, gaps: new Map([[0, -1]]) })).toBe(false);
  });

  it('takes --hour as a UTC hour only', () => {
    expect(parseHour('2026-12-03T10')).toBe(Date.UTC(2026, 11, 3, 10));
    expect(() => parseHour('2026-12-03 10:00')).toThrow('--hour must be YYYY-MM-DDTHH');
  });
});
