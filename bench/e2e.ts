/**
 * The end-to-end benchmark harness: produces generated game traffic with ground truth, runs the
 * baselines and Tributary (each in its own process) over the same topics, checks every run against
 * the ground truth, and reports ratios to the issue's targets.
 *
 *   node_modules/.bin/node bench/e2e.ts --quick     # ~100k events, Kafka Streams reference skipped
 *   node_modules/.bin/node bench/e2e.ts --full      # 1M events, everything; copies JSON + SVG to bench/results/
 *   options: --events N, --seed 42, --skip reference,naive,dynamo,stall,latency,hot-kafka,kafkajs,operators,
 *            json,bare,bare-parse,bare-kafkajs,bare-kafkajs-parse,tributary,
 *            --stall-ms 15000, --naive-events 3000, --hot-rate N (events/s of the hot-Kafka-path run; default
 *            half of that path's maximum, measured first over the input),
 *            --bounds dedup=250000,windows=10000,fraud=25000 (operator bounds of every Tributary variant),
 *            --cpu-prof (profile every Tributary child: bench/out/e2e/prof-<variant>/), --keep-leftovers (keep earlier runs' e2e-* topics
 *            and buckets, deleted before the run by default)
 *   env: TRIBUTARY_MAX_INFLIGHT_RECORDS/_BYTES (the children's in-flight bound), BENCH_NODE_FLAGS (their V8 flags),
 *        BENCH_TOPOLOGY (the topology the variants start from; default topologies/game-events.yaml)
 *        BENCH_CHILD_LOGS=<dir> (each Tributary child logs at info to <dir>/<variant>.log),
 *        BENCH_ALLOC_PROF=<file> (each Tributary child writes an allocation profile there when caught up)
 *
 * Writes bench/out/e2e/e2e-<mode>.json, e2e-<mode>.md and e2e-<mode>.svg.
 */
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { chart } from './e2e/chart.ts';
import { markdown } from './e2e/report.ts';
import { runE2e } from './e2e/run.ts';
import { parseBounds } from './e2e/variants.ts';

const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    full: { type: 'boolean', default: false },
    events: { type: 'string' },
    seed: { type: 'string', default: '42' },
    skip: { type: 'string' },
    'stall-ms': { type: 'string' },
    'naive-events': { type: 'string' },
    'hot-rate': { type: 'string' },
    bounds: { type: 'string' },
    'cpu-prof': { type: 'boolean', default: false },
    'keep-leftovers': { type: 'boolean', default: false },
  },
  strict: true,
});
const mode = args.full ? 'full' : 'quick';
const outDir = 'bench/out/e2e';
const result = await runE2e({
  mode,
  events: Number(args.events ?? (mode === 'full' ? 1_000_000 : 100_000)),
  seed: Number(args.seed),
  skip: new Set((args.skip ?? (mode === 'quick' ? 'reference' : '')).split(',').filter(Boolean)),
  stallMs: Number(args['stall-ms'] ?? (mode === 'full' ? 60_000 : 15_000)),
  naiveEvents: Number(args['naive-events'] ?? (mode === 'full' ? 5000 : 3000)),
  ...(args['hot-rate'] === undefined ? {} : { hotRate: Number(args['hot-rate']) }),
  ...(args.bounds === undefined ? {} : { bounds: parseBounds(args.bounds) }),
  cpuProf: args['cpu-prof'],
  keepLeftovers: args['keep-leftovers'],
  outDir,
});
const command = `node_modules/.bin/node bench/e2e.ts ${process.argv.slice(2).join(' ')}`.trim();
const md = markdown(result, command);
writeFileSync(`${outDir}/e2e-${mode}.md`, md);
writeFileSync(`${outDir}/e2e-${mode}.svg`, chart(result));
console.log(md);
if (mode === 'full') {
  mkdirSync('bench/results', { recursive: true });
  copyFileSync(`${outDir}/e2e-${mode}.json`, 'bench/results/e2e-full.json');
  copyFileSync(`${outDir}/e2e-${mode}.svg`, 'bench/results/e2e-full.svg');
}
process.exit(result.errors.length === 0 ? 0 : 1);
