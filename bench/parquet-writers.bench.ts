/**
 * Parquet writer bake-off: the same 1,000,000 flattened game events written by each writer, each in
 * its own child process (clean peak memory), then read back by DuckDB (row count, aggregates, types,
 * codec). Then, for the default writer, encode time against upload time for a 100k-row file.
 *
 *   node_modules/.bin/node bench/parquet-writers.bench.ts
 *   BENCH_ROWS=100000 BENCH_ROUNDS=1 node_modules/.bin/node bench/parquet-writers.bench.ts   # quicker
 *
 * `BENCH_WRITERS=hyparquet,dsnp` picks contenders by label; `BENCH_KEEP=1` keeps the files in bench/out/. The `dsnp` writer needs a complete copy of
 * @dsnp/parquetjs (npm's 1.9.3 has no dist/): `TRIBUTARY_DSNP_PARQUETJS=/path/to/parquetjs-1.8.9`.
 *
 * Writes bench/out/parquet-writers.json and prints Markdown tables.
 */
import { fork } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { PARQUET_WRITERS, loadParquetWriter, type ParquetCompression } from '../src/sinks/parquet/writer.ts';
import type { ParquetWriterFactory } from '../src/sinks/parquet/writer.ts';
import { BATCH, COLUMNS, EventRows, expectedFor, type Expected } from './parquet-writers-data.ts';
import { duckdbCheck, type DuckCheck } from './parquet-writers-duckdb.ts';
import { encodeVersusUpload } from './parquet-writers-upload.ts';

const ROWS = Number(process.env.BENCH_ROWS ?? 1_000_000);
/** Rounds over all contenders, interleaved; each keeps its fastest run (the box is shared). */
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);
const OUT = fileURLToPath(new URL('./out/', import.meta.url));

/** A writer and codec to measure; variants beyond the four writers are marked as such. */
interface Contender {
  readonly label: string;
  readonly writer: string;
  readonly compression: ParquetCompression;
  readonly variant: boolean;
}

const CONTENDERS: Contender[] = [
  ...PARQUET_WRITERS.map((writer) => ({ label: writer, writer, compression: 'snappy' as const, variant: false })),
  { label: 'hyparquet, JS snappy', writer: 'hyparquet-js-snappy', compression: 'snappy', variant: true },
  { label: 'hyparquet, zstd', writer: 'hyparquet', compression: 'zstd', variant: true },
  { label: 'parquet-wasm, zstd', writer: 'parquet-wasm', compression: 'zstd', variant: true },
];

interface ChildResult {
  ok: boolean;
  error?: string;
  rows?: number;
  encodeMs?: number;
  bytes?: number;
  baselineRssMb?: number;
  peakRssMb?: number;
  peakHeapDeltaMb?: number;
  compressions?: readonly string[];
  timestampLogicalType?: boolean;
  path?: string;
}

async function factoryFor(writer: string): Promise<ParquetWriterFactory> {
  if (writer === 'hyparquet-js-snappy') return (await import('../src/sinks/parquet/hyparquet.ts')).hyparquetJsSnappyWriter;
  return loadParquetWriter(writer as never);
}

const mb = (bytes: number) => Math.round((bytes / 2 ** 20) * 10) / 10;

/** Child: writes ROWS rows with one writer and reports time, bytes and memory. */
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
  const file = factory.open({ columns: COLUMNS, compression });
  const source = new EventRows();
  for (let start = 0; start < ROWS; start += BATCH) {
    const rows = source.next(Math.min(BATCH, ROWS - start));
    const t0 = process.hrtime.bigint();
    await file.write(rows);
    encodeNs += process.hrtime.bigint() - t0;
    peak = Math.max(peak, used());
  }
  const t0 = process.hrtime.bigint();
  const bytes = await file.finish();
  encodeNs += process.hrtime.bigint() - t0;
  peak = Math.max(peak, used());
  writeFileSync(path, bytes);
  return {
    ok: true,
    rows: ROWS,
    encodeMs: Number(encodeNs) / 1e6,
    bytes: bytes.byteLength,
    baselineRssMb: mb(base.rss),
    peakRssMb: mb(process.resourceUsage().maxRSS * 1024),
    peakHeapDeltaMb: mb(peak - (base.heapUsed + base.external)),
    compressions: factory.compressions,
    timestampLogicalType: factory.timestampLogicalType,
    path,
  };
}

function runChild(contender: Contender): Promise<ChildResult> {
  const path = `${OUT}parquet-${contender.label.replace(/[^a-z0-9]+/gi, '-')}.parquet`;
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
    '| writer | codec | rows/s | vs fastest | file MB | RSS MB: start → peak | heap+external Δ MB | zstd | TIMESTAMP logical type (UTC) | DuckDB read-back | DuckDB types (timestamp / amount / score / user_id) |',
    '|---|---|---:|---:|---:|---:|---:|---|---|---|---|',
  ];
  for (const { contender, result, check } of results) {
    if (!result.ok) {
      lines.push(`| ${contender.label} | ${contender.compression} | failed: ${result.error} | | | | | | | | |`);
      continue;
    }
    const rate = (result.rows as number) / ((result.encodeMs as number) / 1000);
    const ratio = rate / (best * 1000);
    lines.push(
      `| ${contender.label}${contender.variant ? ' (variant)' : ''} | ${check?.codec ?? '?'} | ${fmt(rate)} | ${fmt(ratio, 2)}× | ${fmt(mb(result.bytes as number), 1)} | ${fmt(result.baselineRssMb as number)} → ${fmt(result.peakRssMb as number)} | ${fmt(result.peakHeapDeltaMb as number)} | ${result.compressions?.includes('zstd') ? 'yes' : 'no'} | ${result.timestampLogicalType ? 'yes' : 'no (TIMESTAMP_MILLIS converted type only)'} | ${check?.ok ? 'ok' : `FAILED: ${check?.problems.join('; ')}`} | ${check?.types ?? ''} |`,
    );
  }
  return lines.join('\n');
}

async function parent(): Promise<void> {
  mkdirSync(OUT, { recursive: true });
  const loadAtStart = os.loadavg()[0] ?? 0;
  const only = process.env.BENCH_WRITERS?.split(',');
  const expected: Expected = expectedFor(ROWS);
  const contenders = CONTENDERS.filter((c) => !only || only.includes(c.label));
  const best = new Map<Contender, { contender: Contender; result: ChildResult; check?: DuckCheck }>();
  const runs: Record<string, number[]> = {};
  for (let round = 1; round <= ROUNDS; round++) {
    for (const contender of contenders) {
      process.stderr.write(`round ${round}: ${contender.label} …\n`);
      const result = await runChild(contender);
      const check = result.ok ? await duckdbCheck(result.path as string, expected, contender.compression) : undefined;
      if (result.ok && process.env.BENCH_KEEP !== '1') rmSync(result.path as string, { force: true });
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
  const upload = await encodeVersusUpload();
  const machine = { cores: os.cpus().length, cpu: os.cpus()[0]?.model ?? '?', node: process.version, memoryGb: Math.round(os.totalmem() / 2 ** 30) };
  const markdown = [
    `Parquet writer bake-off: ${fmt(ROWS)} game-event rows, 14 columns, row groups of 100,000 rows, each writer in its own process, fastest of ${ROUNDS} interleaved round(s); ${machine.cores} cores (${machine.cpu}), Node ${machine.node}, load average ${loadAtStart.toFixed(1)} at start, ${(os.loadavg()[0] ?? 0).toFixed(1)} at end (other work shares the box).`,
    '',
    table(results),
    '',
    upload.markdown,
  ].join('\n');
  console.log(markdown);
  writeFileSync(`${OUT}parquet-writers.json`, JSON.stringify({ rows: ROWS, rounds: ROUNDS, machine, results, runs, upload: upload.json }, null, 2));
}

if (process.argv[2] === '--child') {
  const [writer, compression, path] = process.argv.slice(3) as [string, ParquetCompression, string];
  child(writer, compression, path)
    .catch((error: unknown): ChildResult => ({ ok: false, error: error instanceof Error ? error.message : String(error) }))
    .then((result) => process.send?.(result, () => process.exit(0)));
} else {
  await parent();
}
