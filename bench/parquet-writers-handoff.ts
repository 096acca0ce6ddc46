/**
 * What moving fitted rows to an encoder worker costs, per 100,000-row file in batches of 1,000 (as the
 * sink hands them over): rows as JSON (the old hand-off), rows by structured clone, and the
 * `ColumnBatch` the sink sends now (one joined string per text column, typed arrays transferred).
 * Main-thread CPU is the build plus `postMessage`; worker CPU is receiving plus turning the message
 * into per-column arrays (what every writer then reads).
 *
 *   node_modules/.bin/node bench/parquet-writers-handoff.ts
 */
import { isMainThread, parentPort, Worker } from 'node:worker_threads';
import { pushValues, toColumns, transferList, type ColumnBatch } from '../src/sinks/parquet/columns.ts';
import type { ParquetRow } from '../src/sinks/parquet/schema.ts';
import { COLUMNS, EventRows } from './parquet-writers-data.ts';

type Mode = 'json' | 'clone' | 'columns';
const MODES: readonly Mode[] = ['json', 'clone', 'columns'];
const ROWS = 100_000;
const BATCH = 1_000;
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);

const cpuMs = () => {
  const u = process.threadCpuUsage();
  return (u.user + u.system) / 1000;
};

/** Worker: receives batches, turns each into column arrays, and reports its CPU on `done`. */
function worker(): void {
  const port = parentPort!;
  let start = cpuMs();
  let sink = 0;
  port.on('message', (message: { mode: Mode | 'done' | 'start'; data?: unknown }) => {
    if (message.mode === 'start') {
      start = cpuMs();
      return;
    }
    if (message.mode === 'done') {
      port.postMessage({ cpuMs: cpuMs() - start, sink });
      return;
    }
    const names = COLUMNS.map((c) => c.name);
    if (message.mode === 'columns') {
      for (const vector of (message.data as ColumnBatch).vectors) {
        const column: unknown[] = [];
        pushValues(vector, column as never, 0, undefined, true);
        sink += column.length;
      }
    } else {
      const rows = (message.mode === 'json' ? JSON.parse(message.data as string) : message.data) as ParquetRow[];
      for (const name of names) {
        const column = new Array(rows.length);
        for (let i = 0; i < rows.length; i++) column[i] = rows[i]?.[name] ?? null;
        sink += column.length;
      }
    }
  });
}

async function run(w: Worker, mode: Mode, batches: readonly ParquetRow[][]): Promise<{ mainMs: number; workerMs: number }> {
  w.postMessage({ mode: 'start' });
  const t0 = cpuMs();
  for (const rows of batches) {
    if (mode === 'json') w.postMessage({ mode, data: JSON.stringify(rows) });
    else if (mode === 'clone') w.postMessage({ mode, data: rows });
    else {
      const batch = toColumns(rows, COLUMNS);
      w.postMessage({ mode, data: batch }, transferList(batch));
    }
  }
  const mainMs = cpuMs() - t0;
  const reply = new Promise<{ cpuMs: number }>((resolve) => w.once('message', resolve));
  w.postMessage({ mode: 'done' });
  return { mainMs, workerMs: (await reply).cpuMs };
}

export async function handoffCost(): Promise<{ markdown: string; json: Record<Mode, { mainMs: number; workerMs: number }> }> {
  const rows = new EventRows().next(ROWS);
  const batches: ParquetRow[][] = [];
  for (let i = 0; i < ROWS; i += BATCH) batches.push(rows.slice(i, i + BATCH));
  const w = new Worker(new URL(import.meta.url));
  const runs: Record<Mode, { mainMs: number; workerMs: number }[]> = { json: [], clone: [], columns: [] };
  try {
    for (let round = 0; round <= ROUNDS; round++) {
      for (const mode of MODES) {
        const r = await run(w, mode, batches);
        if (round > 0) runs[mode].push(r); // round 0 warms up
      }
    }
  } finally {
    await w.terminate();
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
  const json = Object.fromEntries(
    MODES.map((m) => [m, { mainMs: median(runs[m].map((r) => r.mainMs)), workerMs: median(runs[m].map((r) => r.workerMs)) }]),
  ) as Record<Mode, { mainMs: number; workerMs: number }>;
  const label: Record<Mode, string> = {
    json: 'rows as JSON (JSON.stringify / JSON.parse; before)',
    clone: 'rows by structured clone',
    columns: 'ColumnBatch: joined strings + transferred typed arrays (now)',
  };
  const markdown = [
    `Moving ${ROWS.toLocaleString('en-US')} fitted rows (${COLUMNS.length} columns) to a worker in batches of ${BATCH.toLocaleString('en-US')}, CPU ms, median of ${ROUNDS}:`,
    '',
    '| hand-off | main thread (build + postMessage) | vs JSON | worker (receive + column arrays) |',
    '|---|---:|---:|---:|',
    ...MODES.map((m) => `| ${label[m]} | ${json[m].mainMs.toFixed(0)} | ${(json[m].mainMs / json.json.mainMs).toFixed(2)}× | ${json[m].workerMs.toFixed(0)} |`),
  ].join('\n');
  return { markdown, json };
}

if (!isMainThread) worker();
else if (process.argv[1] === new URL(import.meta.url).pathname) console.log((await handoffCost()).markdown);
