/**
 * The stateless shaping operators, each against a hand-written loop doing the same work over the
 * same parsed game events: `route` (first match, four outputs), `filter`, `project` (a map of
 * expressions). Rates are per CPU second of this process (steadier than wall time on a shared box).
 *
 *   node_modules/.bin/node bench/routing.bench.ts                  # 200k events
 *   BENCH_FULL=1 node_modules/.bin/node bench/routing.bench.ts     # 1M events
 *
 * Writes bench/out/routing.json and prints a Markdown table.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { from, type OperatorFunction } from 'rxjs';
import { filter } from '../src/operators/filter.ts';
import { project } from '../src/operators/project.ts';
import { route } from '../src/operators/route.ts';
import { NOOP_LEASE, type Envelope } from '../src/core/envelope.ts';
import { generate } from './generator/generate.ts';

const EVENTS = Number(process.env.BENCH_EVENTS ?? (process.env.BENCH_FULL === '1' ? 1_000_000 : 200_000));
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const OUT = fileURLToPath(new URL('./out/', import.meta.url));

type Event = { event_type: string; user_id: string; event_data: Record<string, unknown> };

function load(): Envelope<Event>[] {
  const out: Envelope<Event>[] = [];
  const it = generate({ events: EVENTS, seed: 7, oversized: 0, rates: { malformed: 0 } });
  for (let step = it.next(); step.done !== true; step = it.next()) {
    const r = step.value;
    out.push({ value: JSON.parse(r.value) as Event, meta: { topic: r.topic, partition: 0, offset: out.length, timestamp: r.eventTimeMs, key: null, headers: {} }, lease: NOOP_LEASE });
  }
  return out;
}

/** CPU milliseconds of `work`, best of `ROUNDS`. */
function cpuMs(work: () => number): { ms: number; out: number } {
  let best = Infinity;
  let out = 0;
  for (let i = 0; i < ROUNDS; i++) {
    const t0 = process.cpuUsage();
    out = work();
    const t = process.cpuUsage(t0);
    best = Math.min(best, (t.user + t.system) / 1000);
  }
  return { ms: best, out };
}

function throughOperator<T>(events: Envelope<Event>[], operator: OperatorFunction<Envelope<Event>, T>): number {
  let n = 0;
  from(events).pipe(operator).subscribe(() => n++);
  return n;
}

const TYPES: [string, string][] = [['logins', 'user_login'], ['purchases', 'purchase'], ['scores', 'level_complete'], ['refunds', 'refund_request']];

const rivals: { name: string; operator: (e: Envelope<Event>[]) => number; loop: (e: Envelope<Event>[]) => number }[] = [
  {
    name: 'route (first of 4)',
    operator: (e) => throughOperator(e, route({ id: 'r', routes: TYPES.map(([output, type]) => ({ output, when: `event_type == '${type}'` })), defaultOutput: 'other' })),
    loop: (e) => {
      let n = 0;
      for (const x of e) {
        const t = x.value.event_type;
        const output = t === 'user_login' ? 'logins' : t === 'purchase' ? 'purchases' : t === 'level_complete' ? 'scores' : t === 'refund_request' ? 'refunds' : 'other';
        if (output.length > 0) n++;
      }
      return n;
    },
  },
  {
    name: 'filter',
    operator: (e) => throughOperator(e, filter({ id: 'f', when: "event_type == 'level_complete' and event_data.score > 500" })),
    loop: (e) => {
      let n = 0;
      for (const x of e) {
        const score = x.value.event_data?.score;
        if (x.value.event_type === 'level_complete' && typeof score === 'number' && score > 500) n++;
      }
      return n;
    },
  },
  {
    name: 'project (3 expressions)',
    operator: (e) => throughOperator(e, project({ id: 'p', fields: { user: 'user_id', type: 'event_type', amount: 'event_data.amount' } })),
    loop: (e) => {
      let n = 0;
      for (const x of e) {
        const row: Record<string, unknown> = { user: x.value.user_id, type: x.value.event_type };
        const amount = x.value.event_data?.amount;
        if (amount !== undefined) row.amount = amount;
        if (row.user !== undefined) n++;
      }
      return n;
    },
  },
];

const events = load();
const rows = rivals.map((r) => {
  const op = cpuMs(() => r.operator(events));
  const loop = cpuMs(() => r.loop(events));
  if (op.out !== loop.out) throw new Error(`${r.name}: operator emitted ${op.out}, loop counted ${loop.out}`);
  return { name: r.name, events: events.length, operatorPerSec: Math.round(events.length / (op.ms / 1000)), loopPerSec: Math.round(events.length / (loop.ms / 1000)), ratio: loop.ms / op.ms };
});
console.log(`| operator, ${events.length} events | operator events/CPU s | hand loop events/CPU s | operator / loop |\n|---|---:|---:|---:|`);
for (const r of rows) console.log(`| ${r.name} | ${r.operatorPerSec.toLocaleString('en')} | ${r.loopPerSec.toLocaleString('en')} | ${r.ratio.toFixed(2)}x |`);
mkdirSync(OUT, { recursive: true });
writeFileSync(`${OUT}routing.json`, JSON.stringify({ node: process.version, rows }, null, 2));
