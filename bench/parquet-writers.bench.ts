/**
 * Parquet writer bake-off: the same flattened game events (20 columns) written by each writer as
 * files of 100,000 rows, each writer in its own child process (clean peak memory), then read back by
 * DuckDB (row count, aggregates, types, codec). Then what handing rows to an encoder worker costs,
 * and, for the default writer, encode time against upload time and the sink with 1 and 2 workers.
 *
 *   node_modules/.bin/node bench/parquet-writers.bench.ts
 *   BENCH_FILES=2 BENCH_ROUNDS=1 node_modules/.bin/node bench/parquet-writers.bench.ts   # quicker
 *
 * `BENCH_WRITERS=hyparquet,duckdb` picks contenders by label; `BENCH_SECTIONS=writers,handoff,upload`
 * picks the parts to run; `BENCH_KEEP=1` keeps the files in bench/out/.
 * Writes bench/out/parquet-writers.json and prints Markdown tables.
 */
import { fork } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { toColumns } from '../src/sinks/parquet/columns.ts';
import { PARQUET_WRITERS, loadParquetWriter, type ParquetCompression, type ParquetWriterName } from '../src/sinks/parquet/writer.ts';
import type { ParquetWriterFactory } from '../src/sinks/parquet/writer.ts';
import { BATCH, COLUMNS, EventRows, expectedFor, type Expected } from './parquet-writers-data.ts';
import { duckdbCheck, type DuckCheck } from './parquet-writers-duckdb.ts';
import { handoffCost } from './parquet-writers-handoff.ts';
import { encodeVersusUpload } from './parquet-writers-upload.ts';

/** Rows per file, as the sink rotates by default. */
const FILE_ROWS = 100_000;
const FILES = Number(process.env.BENCH_FILES ?? 5);
const ROWS = FILE_ROWS * FILES;
/** Rounds over all contenders, interleaved; each keeps its fastest run (the box is shared). */
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);
const OUT = fileURLToPath(new URL('./out/', import.meta.url));

/** A writer and codec to measure; variants of a writer are marked as such. */
interface Contender {
  readonly label: string;
  readonly writer: string;
  readonly compression: ParquetCompression;
  readonly variant: boolean;
}

const CONTENDERS: Contender[] = [
  ...[...PARQUET_WRITERS, 'duckdb', 'dsnp', 'parquet-wasm'].map((writer) => ({ label: writer, writer, compression: 'snappy' as const, variant: false })),
  { label: 'duckdb, 2 threads', writer: 'duckdb-2', compression: 'snappy', variant: true },
  { label: 'hyparquet, JS snappy', writer: 'hyparquet-js-snappy', compression: 'snappy', variant: true },
  { label: 'hyparquet, zstd', writer: 'hyparquet', compression: 'zstd', variant: true },
  { label: 'parquet-wasm, zstd', writer: 'parquet-wasm', compression: 'zstd', variant: true },
];

interface ChildResult {
  ok: boolean;
  error?: string;
  rows?: number;
  encodeMs?: number;
  /** Process CPU (every thread) during the encode. */
  cpuMs?: number;
  bytes?: number;
  baselineRssMb?: number;
  peakRssMb?: number;
  peakHeapDeltaMb?: number;
  compressions?: readonly string[];
  timestampLogicalType?: boolean;
  path?: string;
}

/** The selectable writers from src/, the other contenders from bench/parquet-writers/. */
async function factoryFor(writer: string): Promise<ParquetWriterFactory> {
  switch (writer) {
    case 'hyparquet-js-snappy':
      return (await import('../src/sinks/parquet/hyparquet.ts')).hyparquetJsSnappyWriter;
    case 'duckdb':
      return (await import('./parquet-writers/duckdb.ts')).loadDuckdbWriter(1);
    case 'duckdb-2':
      return (await import('./parquet-writers/duckdb.ts')).loadDuckdbWriter(2);
    case 'dsnp':
      return (await import('./parquet-writers/dsnp.ts')).loadDsnpWriter();
    case 'parquet-wasm':
      return (await import('./parquet-writers/parquet-wasm.ts')).loadParquetWasmWriter();
    default:
      return loadParquetWriter(writer as ParquetWriterName);
  }
}

const mb = (bytes: number) => Math.round((bytes / 2 ** 20) * 10) / 10;

/** Child: writes FILES files of FILE_ROWS rows with one writer and reports time, CPU, bytes and memory. */
async function child(writer: string, compression: ParquetCompression, path: string): Promise<ChildResult> {
  const factory = await factoryFor(writer);
  globalThis.gc?.();
  const base = process.memoryUsage();
  const used = () => {
    const m = process.memoryUsage();
    return m.heapUsed + m.external;
  };
  let peak = used();
  let encodeNs = 0n;
  let cpuUs = 0;
  let bytes = 0;
  const timed = async <T>(fn: () => T | Promise<T>): Promise<T> => {
    const cpu0 = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    const out = await fn();
    encodeNs += process.hrtime.bigint() - t0;
    const cpu = process.cpuUsage(cpu0);
    cpuUs += cpu.user + cpu.system;
    peak = Math.max(peak, used());
    return out;
  };
  const source = new EventRows();
  for (let f = 0; f < FILES; f++) {
    const file = factory.open({ columns: COLUMNS, compression });
    for (let start = 0; start < FILE_ROWS; start += BATCH) {
      // Fitted rows to columns is the sink's hand-off (see parquet-writers-handoff.ts), not the writer's.
      const batch = toColumns(source.next(Math.min(BATCH, FILE_ROWS - start)), COLUMNS);
      await timed(() => file.write(batch));
    }
    const out = await timed(() => file.finish());
    bytes += out.byteLength;
    writeFileSync(path.replace('*', String(f)), out);
  }
  return {
    ok: true,
    rows: ROWS,
    encodeMs: Number(encodeNs) / 1e6,
    cpuMs: cpuUs / 1000,
    bytes,
    baselineRssMb: mb(base.rss),
    peakRssMb: mb(process.resourceUsage().maxRSS * 1024),
    peakHeapDeltaMb: mb(peak - (base.heapUsed + base.external)),
    compressions: factory.compressions,
    timestampLogicalType: factory.timestampLogicalType,
    path,
  };
}

function runChild(contender: Contender): Promise<ChildResult> {
  const path = `${OUT}parquet-${contender.label.replace(/[^a-z0-9]+/gi, '-')}-*.parquet`;
  return new Promise((resolve) => {
    const proc = fork(fileURLToPath(import.meta.url), ['--child', contender.writer, contender.compression, path], {
      execArgv: ['--expose-gc'],
      env: process.env,
    });
    let result: ChildResult | undefined;
    proc.on('message', (message) => (result = message as ChildResult));
    proc.on('exit', (code) => resolve(result ?? { ok: false, error: `child exited with ${code}` }));
  });
}

function fmt(n: number, digits = 0): string {
  return n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
}

function table(results: { contender: Contender; result: ChildResult; check?: DuckCheck }[]): string {
  const ok = results.filter((r) => r.result.ok && r.check?.ok);
  const best = Math.max(...ok.map((r) => (r.result.rows ?? 0) / (r.result.encodeMs ?? Infinity)));
  const lines = [
    '| writer | codec | rows/s (wall) | vs fastest | rows per CPU-second | MB per 100k-row file | RSS MB: start → peak | heap+external Δ MB | zstd | TIMESTAMP logical type (UTC) | DuckDB read-back | DuckDB types (timestamp / amount / score / user_id) |',
    '|---|---|---:|---:|---:|---:|---:|---:|---|---|---|---|',
  ];
  for (const { contender, result, check } of results) {
    if (!result.ok) {
      lines.push(`| ${contender.label} | ${contender.compression} | failed: ${result.error} | | | | | | | | | |`);
      continue;
    }
    const rate = (result.rows as number) / ((result.encodeMs as number) / 1000);
    const ratio = rate / (best * 1000);
    const perCpu = (result.rows as number) / ((result.cpuMs as number) / 1000);
    lines.push(
      `| ${contender.label}${contender.variant ? ' (variant)' : ''} | ${check?.codec ?? '?'} | ${fmt(rate)} | ${fmt(ratio, 2)}× | ${fmt(perCpu)} | ${fmt(mb((result.bytes as number) / FILES), 1)} | ${fmt(result.baselineRssMb as number)} → ${fmt(result.peakRssMb as number)} | ${fmt(result.peakHeapDeltaMb as number)} | ${result.compressions?.includes('zstd') ? 'yes' : 'no'} | ${result.timestampLogicalType ? 'yes' : 'no (TIMESTAMP_MILLIS converted type only)'} | ${check?.ok ? 'ok' : `FAILED: ${check?.problems.join('; ')}`} | ${check?.types ?? ''} |`,
    );
  }
  return lines.join('\n');
}

async function parent(): Promise<void> {
  mkdirSync(OUT, { recursive: true });
  const loadAtStart = os.loadavg()[0] ?? 0;
  const only = process.env.BENCH_WRITERS?.split(',');
  const expected: Expected = expectedFor(ROWS);
  const contenders = CONTENDERS.filter((c) => (!only || only.includes(c.label)) && (process.env.BENCH_SECTIONS ?? 'writers').includes('writers'));
  const best = new Map<Contender, { contender: Contender; result: ChildResult; check?: DuckCheck }>();
  const runs: Record<string, number[]> = {};
  for (let round = 1; round <= ROUNDS; round++) {
    for (const contender of contenders) {
      process.stderr.write(`round ${round}: ${contender.label} …\n`);
      const result = await runChild(contender);
      const check = result.ok ? await duckdbCheck(result.path as string, expected, contender.compression) : undefined;
      if (result.ok && process.env.BENCH_KEEP !== '1') for (let f = 0; f < FILES; f++) rmSync((result.path as string).replace('*', String(f)), { force: true });
      const rate = result.ok ? (result.rows as number) / (result.encodeMs as number) : 0;
      (runs[contender.label] ??= []).push(Math.round(rate * 1000));
      const previous = best.get(contender);
      const previousRate = previous?.result.ok ? (previous.result.rows as number) / (previous.result.encodeMs as number) : -1;
      // A failed read-back in any round is kept: it is a finding, not noise.
      if (previous?.check?.ok === false) continue;
      if (rate > previousRate || (check && !check.ok)) best.set(contender, { contender, result, ...(check ? { check } : {}) });
    }
  }
  const results = contenders.map((c) => best.get(c) as { contender: Contender; result: ChildResult; check?: DuckCheck });
  const sections = (process.env.BENCH_SECTIONS ?? 'writers,handoff,upload').split(',');
  const handoff = sections.includes('handoff') ? await handoffCost() : { markdown: '', json: {} };
  const upload = sections.includes('upload') ? await encodeVersusUpload() : { markdown: '', json: {} };
  const machine = { cores: os.cpus().length, cpu: os.cpus()[0]?.model ?? '?', node: process.version, memoryGb: Math.round(os.totalmem() / 2 ** 30) };
  const markdown = [
    `Parquet writer bake-off: ${fmt(FILES)} files of ${fmt(FILE_ROWS)} game-event rows, ${COLUMNS.length} columns, one row group per file, each writer in its own process, fastest of ${ROUNDS} interleaved round(s); ${machine.cores} cores (${machine.cpu}), Node ${machine.node}, load average ${loadAtStart.toFixed(1)} at start, ${(os.loadavg()[0] ?? 0).toFixed(1)} at end (other work shares the box).`,
    '',
    table(results),
    '',
    handoff.markdown,
    '',
    upload.markdown,
  ].join('\n');
  console.log(markdown);
  writeFileSync(`${OUT}parquet-writers.json`, JSON.stringify({ rows: ROWS, files: FILES, rounds: ROUNDS, machine, results, runs, handoff: handoff.json, upload: upload.json }, null, 2));
}

if (process.argv[2] === '--child') {
  const [writer, compression, path] = process.argv.slice(3) as [string, ParquetCompression, string];
  child(writer, compression, path)
    .catch((error: unknown): ChildResult => ({ ok: false, error: error instanceof Error ? error.message : String(error) }))
    .then((result) => process.send?.(result, () => process.exit(0)));
} else {
  await parent();
}
