/**
 * Runs every baseline once over one generated stream, side by side, and prints a Markdown table
 * (JSON into bench/out/baselines.json). Produces the stream first unless `--topic-prefix` names one
 * that exists.
 *
 *   node_modules/.bin/node bench/baselines/cli.ts [--events 50000] [--seed 42] [--topic-prefix p-]
 *     [--naive-events 5000] [--skip naive,reference]
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { countRecords } from './common.ts';
import { bareConsumer } from './bare-consumer.ts';
import { jsonParse } from './json-parse.ts';
import { naiveService } from './naive-service.ts';
import { kafkaStreamsReference } from '../reference/run.ts';
import { produce, topicNames } from '../generator/produce.ts';
import { localStack } from '../../src/config.ts';
import type { BaselineResult } from './common.ts';

const { values: args } = parseArgs({
  options: {
    events: { type: 'string', default: '50000' },
    seed: { type: 'string', default: '42' },
    'topic-prefix': { type: 'string' },
    'naive-events': { type: 'string', default: '5000' },
    skip: { type: 'string', default: '' },
  },
});
const skip = new Set(args.skip.split(',').filter(Boolean));
const brokers = [...localStack().connections.brokers];
const generator = { events: Number(args.events), seed: Number(args.seed) };
let prefix = args['topic-prefix'];
if (prefix === undefined) {
  prefix = `bench-${Date.now().toString(36)}-`;
  const report = await produce({ ...generator, topicPrefix: prefix, out: `bench/out/${prefix}ground-truth.json` });
  console.error(`produced ${report.records} records in ${report.seconds.toFixed(1)} s to ${prefix}*`);
}
const topics = topicNames(prefix);
const all = Object.values(topics);
const game = [topics['game-events']];
console.error(`records: all topics ${await countRecords(brokers, all)}, game-events ${await countRecords(brokers, game)}`);

const results: (BaselineResult & { input: string })[] = [];
const step = async (name: string, input: string, run: () => Promise<BaselineResult>) => {
  if (skip.has(name)) return;
  console.error(`running ${name} over ${input}...`);
  results.push({ ...(await run()), input });
};
await step('bare', 'game-events', () => bareConsumer({ topics: game }));
await step('bare-parse', 'game-events', () => bareConsumer({ topics: game, parse: true }));
await step('json', 'game-events', () => jsonParse({ kafka: { topics: game } }));
await step('reference', 'game-events', () => kafkaStreamsReference({ inputTopics: game }));
await step('naive', 'all topics', () => naiveService({ topics: all, maxEvents: Number(args['naive-events']) }));

const ceiling = results[0]?.eventsPerSec ?? Number.NaN;
console.log('| baseline | input | events | seconds | events/s | vs bare consumer | RSS peak MiB |');
console.log('|---|---|---:|---:|---:|---:|---:|');
for (const r of results) {
  console.log(`| ${r.name} | ${r.input} | ${r.events} | ${r.seconds.toFixed(2)} | ${Math.round(r.eventsPerSec)} | ${(r.eventsPerSec / ceiling).toFixed(3)} | ${r.rssPeakMb ?? ''} |`);
}
await mkdir('bench/out', { recursive: true });
await writeFile('bench/out/baselines.json', JSON.stringify({ prefix, generator, results }, null, 2));
