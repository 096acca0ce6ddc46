/**
 * The four fraud patterns (velocity, amount, distinct, sequence) as operators, fed with expressions
 * compiled the way the topology compiles them, against hand-written loops doing the same detection
 * (bench/fraud-loops.ts) over the same synthetic purchase/login events, in one run.
 *
 *   node_modules/.bin/node bench/fraud.bench.ts                  # 200,000 events
 *   BENCH_FULL=1 node_modules/.bin/node bench/fraud.bench.ts     # 1,000,000 events
 *   BENCH_EVENTS=50000 BENCH_ROUNDS=3 node_modules/.bin/node bench/fraud.bench.ts
 *
 * Events: 20,000 users drawn Zipf-like (u^3: the busiest user has ~4% of the traffic), 200 events
 * per second of event time, 2% of them up to 5 s out of order; purchases with log-normal amounts and
 * rare spikes, logins mostly from a user's usual 2-3 devices, refund requests for a recent purchase.
 * Both sides must report the same alerts (count and checksum). Writes bench/out/fraud.json and prints
 * a Markdown table.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { from, type OperatorFunction } from 'rxjs';
import { NOOP_LEASE, type Envelope } from '../src/core/envelope.ts';
import { compileField, compileKey, compilePredicate } from '../src/core/expression.ts';
import type { FraudAlert } from '../src/operators/fraud-alert.ts';
import { fraudAmount } from '../src/operators/fraud-amount.ts';
import { fraudDistinct } from '../src/operators/fraud-distinct.ts';
import { fraudSequence } from '../src/operators/fraud-sequence.ts';
import { fraudVelocity } from '../src/operators/fraud-velocity.ts';
import { amountLoop, distinctLoop, sequenceLoop, velocityLoop, type BenchEvent, type Tally } from './fraud-loops.ts';

const EVENTS = Number(process.env.BENCH_EVENTS ?? (process.env.BENCH_FULL === '1' ? 1_000_000 : 200_000));
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const USERS = 20_000;
const EVENTS_PER_SECOND = 200;
const OUT = fileURLToPath(new URL('./out/', import.meta.url));
const MINUTE = 60_000;

function synthesize(n: number): Envelope<BenchEvent>[] {
  let seed = 11;
  const random = () => {
    seed = (seed + 0x6d2b79f5) >>> 0;
    let t = seed;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const base = Date.UTC(2026, 0, 1);
  const lastTxn = new Map<string, string>();
  const out: Envelope<BenchEvent>[] = new Array(n);
  for (let i = 0; i < n; i++) {
    const user = `u${Math.floor(USERS * random() ** 3)}`;
    const r = random();
    let value: BenchEvent;
    if (r < 0.3) {
      const txn = `t${i}`;
      lastTxn.set(user, txn);
      const amount = random() < 0.002 ? 500 + random() * 5000 : Math.round(Math.exp(2 + random() * 1.5) * 100) / 100;
      value = { event_id: `e${i}`, user_id: user, event_type: 'purchase', event_data: { amount, transaction_id: txn } };
    } else if (r < 0.8) {
      const device = random() < 0.03 ? `d${Math.floor(random() * 1e6)}` : `${user}-d${Math.floor(random() * 3)}`;
      value = { event_id: `e${i}`, user_id: user, event_type: 'login', event_data: { device_id: device } };
    } else if (r < 0.85) {
      const txn = random() < 0.7 ? lastTxn.get(user) : `t${Math.floor(random() * i)}`;
      value = { event_id: `e${i}`, user_id: user, event_type: 'refund_request', event_data: txn === undefined ? {} : { transaction_id: txn } };
    } else value = { event_id: `e${i}`, user_id: user, event_type: 'game_end', event_data: {} };
    const onTime = base + Math.floor((i * 1000) / EVENTS_PER_SECOND);
    const timeMs = random() < 0.02 ? onTime - Math.floor(random() * 5000) : onTime;
    out[i] = { value, meta: { topic: 'game-events', partition: 0, offset: i, timestamp: timeMs, key: null, headers: {} }, lease: NOOP_LEASE, eventTimeMs: timeMs };
  }
  return out;
}

const key = compileKey('user_id');
const isPurchase = compilePredicate("event_type == 'purchase'");
const common = { key, severity: 'high', maxKeys: 1_000_000 } as const;

interface Pattern {
  readonly name: string;
  readonly operator: () => OperatorFunction<Envelope<BenchEvent>, Envelope<FraudAlert>>;
  readonly loop: (events: readonly Envelope<BenchEvent>[]) => Tally;
}

const PATTERNS: Pattern[] = [
  {
    name: 'velocity: > 5 purchases in 60 s',
    operator: () => fraudVelocity<BenchEvent>({ ...common, id: 'velocity', when: isPurchase, threshold: 5, withinMs: MINUTE }),
    loop: (events) => velocityLoop(events, 5, MINUTE),
  },
  {
    name: 'amount: > 5x the 10 min average, or > 1000',
    operator: () =>
      fraudAmount<BenchEvent>({ ...common, id: 'amount', when: isPurchase, amount: compileField('event_data.amount'), factor: 5, windowMs: 10 * MINUTE, minSamples: 3, absoluteThreshold: 1000, maxSamplesPerKey: 1_000_000 }),
    loop: (events) => amountLoop(events, 5, 10 * MINUTE, 3, 1000),
  },
  {
    name: 'distinct: > 3 devices in 10 min',
    operator: () =>
      fraudDistinct<BenchEvent>({ ...common, id: 'distinct', when: compilePredicate("event_type == 'login'"), field: compileField('event_data.device_id'), threshold: 3, withinMs: 10 * MINUTE }),
    loop: (events) => distinctLoop(events, 3, 10 * MINUTE),
  },
  {
    name: 'sequence: purchase then refund, same txn, 5 min',
    operator: () =>
      fraudSequence<BenchEvent>({
        ...common,
        id: 'sequence',
        withinMs: 5 * MINUTE,
        steps: [
          { name: 'purchase', when: isPurchase },
          { name: 'refund', when: compilePredicate("event_type == 'refund_request'") },
        ],
        correlate: compileField('event_data.transaction_id'),
        maxPartialsPerKey: 32,
      }),
    loop: (events) => sequenceLoop(events, 5 * MINUTE, 32),
  },
];

function viaOperator(events: readonly Envelope<BenchEvent>[], operator: OperatorFunction<Envelope<BenchEvent>, Envelope<FraudAlert>>): Tally {
  const tally: Tally = { alerts: 0, checksum: 0 };
  from(events)
    .pipe(operator)
    .subscribe((alert) => {
      tally.alerts++;
      tally.checksum += alert.value.last_event_time % 1_000_003;
    });
  return tally;
}

/** Operator and loop rounds alternate, so a busy machine's drift favours neither; medians of each. */
function race(operator: () => Tally, loop: () => Tally): { op: number; loop: number; opTally: Tally; loopTally: Tally } {
  let opTally = operator(); // warm-up, twice: the first rounds still run half-optimised code
  let loopTally = loop();
  opTally = operator();
  loopTally = loop();
  const rates: [number[], number[]] = [[], []];
  for (let i = 0; i < ROUNDS; i++) {
    for (const side of [0, 1] as const) {
      globalThis.gc?.();
      const t0 = performance.now();
      if (side === 0) opTally = operator();
      else loopTally = loop();
      rates[side].push(EVENTS / ((performance.now() - t0) / 1000));
    }
  }
  const mid = (xs: number[]) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
  return { op: mid(rates[0]), loop: mid(rates[1]), opTally, loopTally };
}

const events = synthesize(EVENTS);
const rows = PATTERNS.map((p) => {
  const r = race(() => viaOperator(events, p.operator()), () => p.loop(events));
  const same = r.opTally.alerts === r.loopTally.alerts && r.opTally.checksum === r.loopTally.checksum;
  return { pattern: p.name, operatorEventsPerSec: r.op, loopEventsPerSec: r.loop, ratio: r.op / r.loop, alerts: r.opTally.alerts, loopAlerts: r.loopTally.alerts, same };
});

const fmt = (x: number) => Math.round(x).toLocaleString('en');
console.log(`\n${EVENTS.toLocaleString('en')} events, ${USERS.toLocaleString('en')} users, median of ${ROUNDS} rounds, Node ${process.version}\n`);
console.log('| pattern | operator events/s | hand loop events/s | operator / loop | alerts | same alerts |');
console.log('|---|---:|---:|---:|---:|:---:|');
for (const r of rows) console.log(`| ${r.pattern} | ${fmt(r.operatorEventsPerSec)} | ${fmt(r.loopEventsPerSec)} | ${r.ratio.toFixed(2)}x | ${r.alerts} | ${r.same ? 'yes' : `NO (loop ${r.loopAlerts})`} |`);

mkdirSync(OUT, { recursive: true });
writeFileSync(`${OUT}fraud.json`, JSON.stringify({ events: EVENTS, users: USERS, rounds: ROUNDS, node: process.version, rows }, null, 2));
if (rows.some((r) => !r.same)) process.exitCode = 1;
