/**
 * Record-level operators on the hot path: parseJson -> validate -> flatten -> dedup (in memory) over
 * realistic game-event JSON buffers, against a hand-written loop doing the same work (JSON.parse,
 * the same checks, the same flattening, a Map for dedup) and a bare `JSON.parse` loop. The target:
 * the operators at least 0.6x the JSON.parse loop. Also the operators cumulatively, stage by stage.
 *
 *   node_modules/.bin/node bench/operators.bench.ts                  # 200k events
 *   BENCH_FULL=1 node_modules/.bin/node bench/operators.bench.ts     # 500k events
 *   BENCH_EVENTS=50000 BENCH_ROUNDS=3 node_modules/.bin/node bench/operators.bench.ts
 *
 * Rates are per CPU second of this process (steady on a shared machine) and per wall second.
 * Writes bench/out/operators.json and prints a Markdown table.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Observable, asyncScheduler, from, type OperatorFunction } from 'rxjs';
import { dedup } from '../src/operators/dedup.ts';
import { parseTimestampMs } from '../src/operators/event-time.ts';
import { flatten } from '../src/operators/flatten.ts';
import { parseJson } from '../src/operators/parse-json.ts';
import { validate, type EventSchema } from '../src/operators/validate.ts';
import { NOOP_LEASE, type Envelope } from '../src/core/envelope.ts';
import type { DeadLetter } from '../src/core/sink.ts';
import { generate } from './generator/generate.ts';

const EVENTS = Number(process.env.BENCH_EVENTS ?? (process.env.BENCH_FULL === '1' ? 500_000 : 200_000));
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const OUT = fileURLToPath(new URL('./out/', import.meta.url));
const TTL_MS = 3_600_000;
const MAX_KEYS = 1_000_000;

const SCHEMA: EventSchema = {
  common: { event_id: 'string', event_type: 'string', user_id: 'string', timestamp: 'timestamp', game_version: 'string', platform: 'string' },
  events: {
    game_start: { 'event_data.game_id': 'string', 'event_data.session_id': 'string', 'event_data.level': 'integer' },
    game_end: { 'event_data.game_id': 'string', 'event_data.final_score': 'integer', 'event_data.duration_s': 'number', 'event_data.result': 'string' },
    level_complete: { 'event_data.game_id': 'string', 'event_data.level': 'integer', 'event_data.score': 'integer', 'event_data.duration_ms': 'number' },
    achievement_unlocked: { 'event_data.game_id': 'string', 'event_data.achievement_id': 'string' },
    user_login: { 'event_data.device_id': 'string', 'event_data.session_id': 'string', 'event_data.country': 'string?' },
    user_logout: { 'event_data.session_id': 'string', 'event_data.session_duration_s': 'number' },
    account_created: { 'event_data.device_id': 'string', 'event_data.country': 'string' },
    device_change: { 'event_data.device_id': 'string', 'event_data.from_device_id': 'string' },
    purchase: { 'event_data.transaction_id': 'string', 'event_data.amount': 'number', 'event_data.currency': 'string', 'event_data.item_id': 'string' },
    refund_request: { 'event_data.transaction_id': 'string', 'event_data.amount': 'number', 'event_data.currency': 'string' },
  },
};

function loadEnvelopes(): Envelope<Buffer>[] {
  const out: Envelope<Buffer>[] = [];
  const it = generate({ events: EVENTS, seed: 42, oversized: 0 });
  for (let step = it.next(); step.done !== true; step = it.next()) {
    const r = step.value;
    out.push({ value: Buffer.from(r.value), meta: { topic: r.topic, partition: 0, offset: out.length, timestamp: r.eventTimeMs, key: null, headers: {} }, lease: NOOP_LEASE });
  }
  return out;
}

interface Tally {
  out: number;
  rejected: number;
}

const str = (x: unknown) => typeof x === 'string';
const num = (x: unknown) => typeof x === 'number';
const int = (x: unknown) => Number.isInteger(x);

/** The same checks as SCHEMA, written out by hand. */
function validByHand(v: Record<string, unknown>): boolean {
  if (!str(v.event_id) || !str(v.event_type) || !str(v.user_id) || parseTimestampMs(v.timestamp) === undefined || !str(v.game_version) || !str(v.platform)) return false;
  const d = v.event_data;
  const e = (typeof d === 'object' && d !== null ? d : {}) as Record<string, unknown>;
  switch (v.event_type) {
    case 'game_start': return str(e.game_id) && str(e.session_id) && int(e.level);
    case 'game_end': return str(e.game_id) && int(e.final_score) && num(e.duration_s) && str(e.result);
    case 'level_complete': return str(e.game_id) && int(e.level) && int(e.score) && num(e.duration_ms);
    case 'achievement_unlocked': return str(e.game_id) && str(e.achievement_id);
    case 'user_login': return str(e.device_id) && str(e.session_id) && (e.country == null || str(e.country));
    case 'user_logout': return str(e.session_id) && num(e.session_duration_s);
    case 'account_created': return str(e.device_id) && str(e.country);
    case 'device_change': return str(e.device_id) && str(e.from_device_id);
    case 'purchase': return str(e.transaction_id) && num(e.amount) && str(e.currency) && str(e.item_id);
    case 'refund_request': return str(e.transaction_id) && num(e.amount) && str(e.currency);
    default: return false;
  }
}

/** The rival: the same work written as one plain loop. */
function handLoop(envelopes: readonly Envelope<Buffer>[]): Tally {
  const seen = new Map<string, number>();
  const tally: Tally = { out: 0, rejected: 0 };
  const into = (out: Record<string, unknown>, o: Record<string, unknown>, prefix: string): void => {
    for (const k in o) {
      const x = o[k];
      const name = prefix === '' ? k : `${prefix}_${k}`;
      if (typeof x === 'object' && x !== null && !Array.isArray(x)) into(out, x as Record<string, unknown>, name);
      else out[name] = x;
    }
  };
  for (const e of envelopes) {
    let v: Record<string, unknown>;
    try {
      v = JSON.parse(e.value.toString()) as Record<string, unknown>;
    } catch {
      tally.rejected++;
      continue;
    }
    if (typeof v !== 'object' || v === null || Array.isArray(v) || !validByHand(v)) {
      tally.rejected++;
      continue;
    }
    const flat: Record<string, unknown> = {};
    into(flat, v, '');
    const key = v.event_id as string;
    const now = Date.now();
    const first = seen.get(key);
    if (first !== undefined && now - first <= TTL_MS) continue;
    if (seen.size >= MAX_KEYS) seen.delete(seen.keys().next().value as string);
    seen.set(key, now);
    tally.out++;
  }
  return tally;
}

function jsonParseLoop(envelopes: readonly Envelope<Buffer>[]): Tally {
  const tally: Tally = { out: 0, rejected: 0 };
  for (const e of envelopes) {
    try {
      if (typeof JSON.parse(e.value.toString()) === 'object') tally.out++;
    } catch {
      tally.rejected++;
    }
  }
  return tally;
}

/**
 * What-if, not shipped: dedup memory as a Map in insertion order. With one TTL for every key,
 * insertion order is expiry order, so the oldest entry is both the next to expire and the one to
 * evict; no LRU bookkeeping.
 */
function mapDedup(): OperatorFunction<Envelope<Record<string, unknown>>, Envelope<Record<string, unknown>>> {
  return (source) =>
    new Observable((subscriber) => {
      const seen = new Map<string, number>();
      return source.subscribe({
        next(envelope) {
          const key = envelope.value.event_id as string;
          const now = asyncScheduler.now();
          for (const [oldest, at] of seen) {
            if (now - at <= TTL_MS && seen.size < MAX_KEYS) break;
            seen.delete(oldest);
          }
          if (seen.has(key)) return envelope.lease.release();
          seen.set(key, now);
          subscriber.next(envelope);
        },
        error: (error: unknown) => subscriber.error(error),
        complete: () => subscriber.complete(),
      });
    });
}

/** The operators; `stages` cuts the chain after that many operators. */
function operators(envelopes: readonly Envelope<Buffer>[], stages: number, dedupOnMap = false): Tally {
  const tally: Tally = { out: 0, rejected: 0 };
  const deadLetter: DeadLetter = () => void tally.rejected++;
  const chain: OperatorFunction<Envelope<any>, Envelope<any>>[] = [
    parseJson({ id: 'decode', deadLetter }),
    validate({ id: 'validate', schema: SCHEMA, deadLetter }),
    flatten({ id: 'flatten' }),
    dedupOnMap ? mapDedup() : dedup({ id: 'dedup', ttlMs: TTL_MS, maxKeys: MAX_KEYS, scheduler: asyncScheduler, deadLetter }),
  ].slice(0, stages);
  from(envelopes)
    .pipe(...(chain as [OperatorFunction<Envelope<Buffer>, Envelope<unknown>>]))
    .subscribe(() => void tally.out++);
  return tally;
}

interface Row {
  name: string;
  /** Events per second of the process's CPU time (user + system): steadier than wall time on a shared box. */
  eventsPerCpuSec: number;
  /** Events per second of wall time. */
  eventsPerSec: number;
  bestEventsPerSec: number;
  out: number;
  rejected: number;
}

const envelopes = loadEnvelopes();
const bytes = envelopes.reduce((n, e) => n + e.value.length, 0);
const rivals: [string, () => Tally][] = [
  ['JSON.parse loop', () => jsonParseLoop(envelopes)],
  ['hand-written loop (parse, checks, flatten, Map dedup)', () => handLoop(envelopes)],
  ['operators: parseJson -> validate -> flatten -> dedup', () => operators(envelopes, 4)],
  ['  stages: parseJson', () => operators(envelopes, 1)],
  ['  stages: + validate', () => operators(envelopes, 2)],
  ['  stages: + flatten', () => operators(envelopes, 3)],
  ['  what-if: dedup on an insertion-ordered Map instead of lru-cache', () => operators(envelopes, 4, true)],
];
// BENCH_ONLY=<substring> keeps the rivals whose name contains it (for profiling one of them).
const only = process.env.BENCH_ONLY;
if (only !== undefined) rivals.splice(0, rivals.length, ...rivals.filter(([name]) => name.includes(only)));
// Rounds interleave the rivals, so that a busy moment of the machine falls on all of them.
const rates = rivals.map(() => [] as number[]);
const cpuRates = rivals.map(() => [] as number[]);
const tallies: Tally[] = rivals.map(([, run]) => run()); // warm-up
for (let round = 0; round < ROUNDS; round++) {
  rivals.forEach(([, run], i) => {
    globalThis.gc?.();
    const t0 = performance.now();
    const cpu0 = process.cpuUsage();
    tallies[i] = run();
    const cpu = process.cpuUsage(cpu0);
    rates[i]?.push(envelopes.length / ((performance.now() - t0) / 1000));
    cpuRates[i]?.push(envelopes.length / ((cpu.user + cpu.system) / 1e6));
  });
}
const rows: Row[] = rivals.map(([name], i) => {
  const sorted = [...(rates[i] ?? [])].sort((a, b) => a - b);
  const cpuSorted = [...(cpuRates[i] ?? [])].sort((a, b) => a - b);
  return { name, eventsPerCpuSec: cpuSorted[Math.floor(cpuSorted.length / 2)] ?? 0, eventsPerSec: sorted[Math.floor(sorted.length / 2)] ?? 0, bestEventsPerSec: sorted[sorted.length - 1] ?? 0, ...(tallies[i] as Tally) };
});
const jsonRate = rows[0]?.eventsPerCpuSec ?? 1;
const handRate = rows[1]?.eventsPerCpuSec ?? 1;
if (rows[1]?.out !== rows[2]?.out || rows[1]?.rejected !== rows[2]?.rejected)
  console.warn(`the hand loop and the operators disagree: ${rows[1]?.out}/${rows[1]?.rejected} vs ${rows[2]?.out}/${rows[2]?.rejected}`);

console.log(`\n${envelopes.length} events, ${Math.round(bytes / envelopes.length)} B average, median of ${ROUNDS} interleaved rounds, Node ${process.version}\n`);
const fmt = (x: number) => Math.round(x).toLocaleString('en');
console.log('| rival | events per CPU s (median) | vs JSON.parse | vs hand loop | events/s wall (median) | wall best | out | rejected |');
console.log('|---|---:|---:|---:|---:|---:|---:|---:|');
for (const r of rows)
  console.log(`| ${r.name} | ${fmt(r.eventsPerCpuSec)} | ${(r.eventsPerCpuSec / jsonRate).toFixed(2)}x | ${(r.eventsPerCpuSec / handRate).toFixed(2)}x | ${fmt(r.eventsPerSec)} | ${fmt(r.bestEventsPerSec)} | ${r.out} | ${r.rejected} |`);
console.log('\nRatios are of CPU-time rates (user + system of this process, GC threads included).');

mkdirSync(OUT, { recursive: true });
writeFileSync(`${OUT}operators.json`, JSON.stringify({ events: envelopes.length, averageBytes: bytes / envelopes.length, rounds: ROUNDS, node: process.version, rows }, null, 2));
