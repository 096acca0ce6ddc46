/**
 * Generates benchmark traffic and produces it to Kafka, writing the ground truth.
 *
 *   node_modules/.bin/node bench/generator/cli.ts --events 100000 --seed 42 --rate 0 \
 *     --out bench/out/ground-truth.json [--topic-prefix x-] [--partitions 3] [--dry-run]
 *
 * `--dry-run` generates and writes the ground truth without Kafka. Other options: --users, --games,
 * --eps (event-time events per second), --epoch, --oversized N, --compression, --brokers a:1,b:2,
 * --dup-rate, --ooo-rate, --late-rate, --malformed-rate, --fraud-rate (each fraud kind).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { parseArgs } from 'node:util';
import { generate } from './generate.ts';
import type { GeneratorInput, InjectionRates } from './options.ts';
import { produce, topicNames, type ProduceOptions } from './produce.ts';

const { values: args } = parseArgs({
  options: {
    events: { type: 'string', default: '100000' },
    seed: { type: 'string', default: '42' },
    rate: { type: 'string', default: '0' },
    out: { type: 'string', default: 'bench/out/ground-truth.json' },
    'topic-prefix': { type: 'string', default: '' },
    partitions: { type: 'string', default: '3' },
    brokers: { type: 'string' },
    users: { type: 'string' },
    games: { type: 'string' },
    eps: { type: 'string' },
    epoch: { type: 'string' },
    oversized: { type: 'string' },
    compression: { type: 'string' },
    'batch-size': { type: 'string' },
    'dup-rate': { type: 'string' },
    'ooo-rate': { type: 'string' },
    'late-rate': { type: 'string' },
    'malformed-rate': { type: 'string' },
    'fraud-rate': { type: 'string' },
    'dry-run': { type: 'boolean', default: false },
  },
  strict: true,
});

const num = (v: string | undefined) => (v === undefined ? undefined : Number(v));
const defined = <T extends object>(o: T) => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
const fraudRate = num(args['fraud-rate']);
const rates: Partial<InjectionRates> = defined({
  duplicate: num(args['dup-rate']),
  outOfOrder: num(args['ooo-rate']),
  late: num(args['late-rate']),
  malformed: num(args['malformed-rate']),
  purchaseBurst: fraudRate,
  amountSpike: fraudRate,
  manyDevices: fraudRate,
  refundAfterPurchase: fraudRate,
});
const input: GeneratorInput = {
  ...defined({
    events: num(args.events),
    seed: num(args.seed),
    users: num(args.users),
    games: num(args.games),
    eventsPerSecond: num(args.eps),
    epoch: args.epoch,
    oversized: num(args.oversized),
  }),
  rates,
};

if (args['dry-run']) {
  const started = performance.now();
  const it = generate(input);
  let step = it.next();
  let records = 0;
  for (; step.done !== true; step = it.next()) records++;
  const truth = { ...step.value, topics: topicNames(args['topic-prefix']) };
  await mkdir(dirname(args.out), { recursive: true });
  await writeFile(args.out, JSON.stringify(truth));
  console.log(JSON.stringify({ records, seconds: (performance.now() - started) / 1000, out: args.out, totals: truth.totals }));
} else {
  const options: ProduceOptions = {
    ...input,
    topicPrefix: args['topic-prefix'],
    partitions: Number(args.partitions),
    rate: Number(args.rate),
    out: args.out,
    ...defined({ batchSize: num(args['batch-size']), brokers: args.brokers?.split(','), compression: args.compression as ProduceOptions['compression'] }),
    onProgress: (sent, total) => process.stderr.write(`\rsent ${sent}/${total}`),
  };
  const report = await produce(options);
  process.stderr.write('\n');
  const { truth, ...summary } = report;
  console.log(JSON.stringify({ ...summary, out: args.out, totals: truth.totals }));
}
