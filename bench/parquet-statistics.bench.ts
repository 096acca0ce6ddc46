/**
 * The hyparquet encoder's CPU per file with string statistics (`statistics: all`) and without
 * (`numeric`, the default): 100k game-event rows of the writer bake-off's data (20 columns, 12 of them
 * strings), snappy, best of 8 rounds each, interleaved, in this thread (no worker).
 *
 *   node_modules/.bin/node bench/parquet-statistics.bench.ts
 */
import { COLUMNS, EventRows } from './parquet-writers-data.ts';
import { toColumns } from '../src/sinks/parquet/columns.ts';
import { hyparquetWriter } from '../src/sinks/parquet/hyparquet.ts';
import type { ParquetStatistics } from '../src/sinks/parquet/writer.ts';

const ROWS = 100_000;
const ROUNDS = 8;
const rows = new EventRows().next(ROWS);
const best = new Map<ParquetStatistics, number>();
for (let round = 0; round < ROUNDS; round++) {
  for (const statistics of ['all', 'numeric'] as const) {
    const batches = [];
    for (let i = 0; i < rows.length; i += 10_000) batches.push(toColumns(rows.slice(i, i + 10_000), COLUMNS));
    const start = process.cpuUsage();
    const file = hyparquetWriter.open({ columns: COLUMNS, compression: 'snappy', statistics });
    for (const batch of batches) await file.write(batch);
    await file.finish();
    const used = process.cpuUsage(start);
    best.set(statistics, Math.min(best.get(statistics) ?? Infinity, (used.user + used.system) / 1000));
  }
}
const all = best.get('all') as number;
const numeric = best.get('numeric') as number;
console.log(`| statistics | encoder CPU ms per ${ROWS.toLocaleString('en')} rows (best of ${ROUNDS}) | us per row | ratio |`);
console.log('|---|---:|---:|---:|');
console.log(`| all | ${all.toFixed(0)} | ${((all * 1000) / ROWS).toFixed(2)} | ${(all / numeric).toFixed(2)} |`);
console.log(`| numeric (default) | ${numeric.toFixed(0)} | ${((numeric * 1000) / ROWS).toFixed(2)} | 1.00 |`);
