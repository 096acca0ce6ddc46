/**
 * What each bound costs: V8 heap (and off-heap buffer) bytes per item held, for the constants of
 * src/runtime/memory-budget.ts. Each measure runs in its own process with `--expose-gc`: heap after a
 * full GC with `small` items held, then with `large` items held; the cost is the slope, so the
 * process's fixed costs (code, clients, buffers) cancel out.
 *
 *   node_modules/.bin/node bench/memory-model.ts [--large 100000] [--only dedup,window,distinct,fraud,parquet,inflight]
 *
 * - dedup: one key of the `dedup` operator's memory (lru-cache, maxKeys = items, event-id keys);
 *   `dedup-empty` is the part lru-cache allocates up front for `maxKeys` (paid even when empty);
 *   `dedup-changelog`: one key of the changelog store, all dedup keeps run on Kafka.
 * - window: one open window of the default topology's aggregate (count, sum, distinct with one value).
 * - distinct: one more distinct value in one window's `distinct` (exact up to 10,000 values).
 * - fraud: one key of a fraud pattern's state (the amount pattern, one sample per key).
 * - parquet: one row buffered in an open Parquet file (hyparquet, before its row group is encoded:
 *   in production that heap is the encoder worker's).
 * - inflight: one record read from Kafka (local stack) and held, parsed and flattened, by a sink that
 *   has not acknowledged it (the runtime's in-flight bound; the Parquet sink holds records this way
 *   until its file lands). Off-heap bytes (the client's fetch buffers) reported apart.
 * Writes bench/out/memory-model.json.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { asyncScheduler, map, Subject } from 'rxjs';
import { localStack } from '../src/config.ts';
import { NOOP_LEASE, withValue, type Envelope } from '../src/core/envelope.ts';
import { silentLogger } from '../src/core/logger.ts';
import type { Sink } from '../src/core/sink.ts';
import { count, distinct, sum, type Aggregator } from '../src/operators/aggregators.ts';
import { dedup } from '../src/operators/dedup.ts';
import { ChangelogDedupStore } from '../src/operators/dedup-changelog.ts';
import type { Changelog } from '../src/core/state.ts';
import { fraudAmount } from '../src/operators/fraud-amount.ts';
import { tumbling } from '../src/operators/window-assigners.ts';
import { eventTimeFromField } from '../src/operators/watermark.ts';
import { window } from '../src/operators/window.ts';
import { createRuntime } from '../src/runtime/runtime.ts';
import { flattenRecord } from '../src/sinks/parquet/flatten.ts';
import { hyparquetWriter } from '../src/sinks/parquet/hyparquet.ts';
import { toColumns } from '../src/sinks/parquet/columns.ts';
import { SchemaTracker, validateColumns } from '../src/sinks/parquet/schema.ts';
import { generate } from './generator/generate.ts';
import { produce } from './generator/produce.ts';

const MEASURES = ['dedup-empty', 'dedup', 'dedup-changelog', 'window', 'distinct', 'fraud', 'parquet', 'inflight'] as const;
type Measure = (typeof MEASURES)[number];

interface Point {
  heap: number;
  offHeap: number;
  rss: number;
}

/** Heap in use after full collections (and off-heap: external + ArrayBuffers). */
async function settle(): Promise<Point> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) throw new Error('run with --expose-gc');
  for (let i = 0; i < 3; i++) {
    gc();
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const m = process.memoryUsage();
  return { heap: m.heapUsed, offHeap: m.external + m.arrayBuffers, rss: m.rss };
}

/** Generated records (valid JSON only) as the topology sees them after `parse`. */
function events(n: number, seed = 42): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  const total = Math.ceil(n * 1.2);
  const it = generate({ events: total, seed, eventsPerSecond: Math.min(500, Math.max(1, Math.floor(total / 800))) });
  for (let step = it.next(); step.done !== true && out.length < n; step = it.next()) {
    try {
      out.push(JSON.parse(step.value.value) as Record<string, unknown>);
    } catch {
      // malformed on purpose
    }
  }
  return out;
}

/**
 * A fresh event id as `JSON.parse` hands it over: a flat string. (`crypto.randomUUID()` returns a
 * string of ~600 heap bytes, concatenated pieces: it would triple the measured cost of a key.)
 */
const eventId = (): string => JSON.parse(`"${crypto.randomUUID()}"`) as string;

const envelope = <T>(value: T, offset: number): Envelope<T> => ({
  value,
  meta: { topic: 'game-events', partition: offset % 3, offset, timestamp: 1_700_000_000_000 + offset, key: null, headers: {} },
  lease: NOOP_LEASE,
});
const deadLetter = () => {
  throw new Error('unexpected dead letter');
};

/** Holds `n` items of the measure; returns what keeps them alive. */
async function hold(measure: Measure, n: number): Promise<unknown> {
  if (measure === 'dedup-empty' || measure === 'dedup') {
    const input = new Subject<Envelope<unknown>>();
    const out: unknown[] = [];
    // maxKeys follows the items, as a bound sized to the key count would.
    const sub = input.pipe(dedup({ id: 'dedup', key: 'event_id', ttlMs: 3_600_000, maxKeys: n, scheduler: asyncScheduler, deadLetter })).subscribe(() => out.push(undefined));
    if (measure === 'dedup') for (let i = 0; i < n; i++) input.next(envelope({ event_id: eventId() }, i));
    return { input, sub };
  }
  if (measure === 'dedup-changelog') {
    // Run on Kafka, dedup keeps its keys in the changelog store only (no lru-cache in front).
    const changelog: Changelog = { topic: 'dedup-changelog', restore: async () => new Map(), write: async () => {}, register: () => () => {} };
    const store = new ChangelogDedupStore(changelog, { maxKeys: n });
    for (let i = 0; i < n; i += 2000) {
      const claims = Array.from({ length: Math.min(2000, n - i) }, (_, j) => ({ key: eventId(), origin: { topic: 'game-events', partition: (i + j) % 3, offset: i + j } }));
      await store.claim(claims, { nowMs: 0, ttlMs: 3_600_000 });
    }
    return store;
  }
  if (measure === 'window' || measure === 'distinct') {
    const input = new Subject<Envelope<Record<string, unknown>>>();
    type Row = Record<string, unknown>;
    const step = window<Row, Record<string, Aggregator<Row>>>({
      id: 'game-minute',
      window: tumbling({ sizeMs: 60_000 }),
      key: (e) => String(e.game_id),
      eventTime: eventTimeFromField((e) => e.timestamp),
      aggregators: { active_users: distinct((e: Row) => e.user_id), events: count<Row>(), revenue: sum((e: Row) => e.amount) },
      graceMs: 30_000,
      maxOutOfOrdernessMs: 5_000,
      maxOpenWindows: n + 1,
      deadLetter,
    });
    const sub = input.pipe(step).subscribe();
    const t = '2026-12-03T12:00:10.000Z';
    // window: n keys, one window each; distinct: one key, n users in its window.
    for (let i = 0; i < n; i++) {
      const value = measure === 'window' ? { game_id: eventId(), user_id: `user-${i % 5000}`, amount: 1.5, timestamp: t } : { game_id: 'game-1', user_id: eventId(), amount: 1.5, timestamp: t };
      input.next(envelope(value, i));
    }
    return { input, sub };
  }
  if (measure === 'fraud') {
    const input = new Subject<Envelope<Record<string, unknown>>>();
    const step = fraudAmount<Record<string, unknown>>({ id: 'fraud-amount', key: (e) => e.user_id as string, severity: 'high', amount: (e) => e.amount, factor: 10, windowMs: 86_400_000, absoluteThreshold: 1000, maxKeys: n + 1 });
    const sub = input.pipe(step).subscribe();
    for (let i = 0; i < n; i++) input.next({ ...envelope({ user_id: eventId(), amount: 10, event_id: eventId() }, i), eventTimeMs: 1_700_000_000_000 + i });
    return { input, sub };
  }
  if (measure === 'parquet') {
    const schema = new SchemaTracker(validateColumns([
      { name: 'event_id', type: 'string' }, { name: 'user_id', type: 'string' }, { name: 'event_type', type: 'string' }, { name: 'timestamp', type: 'timestamp' },
      { name: 'game_version', type: 'string', nullable: true }, { name: 'platform', type: 'string', nullable: true },
      { name: 'event_data_amount', type: 'double', nullable: true }, { name: 'event_data_score', type: 'int64', nullable: true },
    ], 'cold-storage'));
    const rows = [];
    for (const e of events(n)) {
      const fit = schema.fit(flattenRecord(e));
      if (fit.ok) rows.push(fit.row);
    }
    const file = hyparquetWriter.open({ columns: schema.columns, compression: 'snappy', rowGroupRows: n + 1 });
    await file.write(toColumns(rows, schema.columns));
    rows.length = 0;
    return file;
  }
  return holdInflight(n);
}

/** Reads `n` records through the runtime into a sink that keeps them unacknowledged. */
async function holdInflight(n: number): Promise<unknown> {
  const prefix = process.env.MEMORY_MODEL_PREFIX as string;
  const held: Envelope<unknown>[] = [];
  let reached: () => void = () => {};
  const full = new Promise<void>((resolve) => (reached = resolve));
  const sink: Sink<unknown> = {
    id: 'hold',
    async write(batch) {
      held.push(...batch);
      if (held.length >= n) reached();
    },
    async flush() {},
    async close() {},
  };
  const runtime = createRuntime({
    source: { brokers: [...localStack().connections.brokers], groupId: `memory-model-${process.pid}`, topics: ['game-events', 'user-activity', 'transaction-events'].map((t) => `${prefix}${t}`), fromBeginning: true },
    deadLetterTopic: `${prefix}dead-letters`,
    logger: silentLogger,
    limits: { maxInflightRecords: n, maxInflightBytes: 2 ** 40 },
  });
  const parse = (e: Envelope<Buffer | null>): Envelope<unknown> => {
    try {
      return withValue(e, flattenRecord(JSON.parse(e.value?.toString('utf8') ?? '')));
    } catch {
      return e;
    }
  };
  const done = runtime.run((input$, ctx) => input$.pipe(map((batch) => batch.map(parse)), ctx.toSink(sink)));
  await full;
  await new Promise((resolve) => setTimeout(resolve, 2000)); // the source pauses; fetches in flight land
  return { runtime, held, done, count: held.length };
}

/** One point, in its own process: nothing of the small run survives into the large one. */
async function child(measure: Measure): Promise<void> {
  const n = Number(process.env.MEMORY_MODEL_N);
  const before = await settle();
  const kept = await hold(measure, n);
  const after = await settle();
  const held = (kept as { count?: number }).count ?? n;
  process.stdout.write(`RESULT ${JSON.stringify({ measure, n, held, heap: after.heap - before.heap, offHeap: after.offHeap - before.offHeap, rss: after.rss - before.rss })}\n`);
  process.exit(0);
}

interface Sample {
  n: number;
  held: number;
  heap: number;
  offHeap: number;
  rss: number;
}

function run(measure: Measure, n: number, env: Record<string, string>): Sample {
  const out = spawnSync(process.execPath, ['--expose-gc', '--max-semi-space-size=8', fileURLToPath(import.meta.url), '--child', measure], {
    env: { ...process.env, ...env, MEMORY_MODEL_N: String(n) },
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    maxBuffer: 2 ** 24,
  });
  const line = out.stdout.split('\n').find((l) => l.startsWith('RESULT '));
  if (out.status !== 0 || line === undefined) throw new Error(`${measure} ${n}: exited ${out.status}: ${out.stdout.slice(-1000)}`);
  return JSON.parse(line.slice(7)) as Sample;
}

const { values: args } = parseArgs({
  options: { child: { type: 'string' }, large: { type: 'string', default: '100000' }, only: { type: 'string' } },
  strict: true,
});
const large = Number(args.large);
const small = Math.round(large / 5);
if (args.child !== undefined) {
  await child(args.child as Measure);
} else {
  const only = args.only === undefined ? undefined : new Set(args.only.split(','));
  const wanted = MEASURES.filter((m) => only === undefined || only.has(m) || (m === 'dedup-empty' && only.has('dedup')));
  const env: Record<string, string> = {};
  if (wanted.includes('inflight')) {
    const prefix = `memory-model-${Date.now().toString(36)}-`;
    const report = await produce({ events: Math.round(large * 1.1), seed: 42, topicPrefix: prefix });
    console.error(`produced ${report.records} records to ${prefix}*`);
    env.MEMORY_MODEL_PREFIX = prefix;
  }
  const results: Record<string, { bytesPerItem: number; offHeapBytesPerItem: number; rssBytesPerItem: number; small: Sample; large: Sample }> = {};
  console.log('| item | items (small / large) | V8 heap bytes per item | off-heap bytes per item | RSS bytes per item |');
  console.log('|---|---:|---:|---:|---:|');
  for (const measure of wanted) {
    // A distinct counts exactly up to 10,000 values (then a 16 KiB HyperLogLog): stay under.
    const [lo, hi] = measure === 'distinct' ? [2000, 10_000] : [small, large];
    const a = run(measure, lo, env);
    const b = run(measure, hi, env);
    const slope = (k: 'heap' | 'offHeap' | 'rss') => (b[k] - a[k]) / (b.held - a.held);
    results[measure] = { bytesPerItem: Math.round(slope('heap')), offHeapBytesPerItem: Math.round(slope('offHeap')), rssBytesPerItem: Math.round(slope('rss')), small: a, large: b };
    console.log(`| ${measure} | ${a.held} / ${b.held} | ${Math.round(slope('heap'))} | ${Math.round(slope('offHeap'))} | ${Math.round(slope('rss'))} |`);
  }
  mkdirSync('bench/out', { recursive: true });
  writeFileSync('bench/out/memory-model.json', JSON.stringify({ at: new Date().toISOString(), node: process.version, large, small, results }, null, 2));
}
