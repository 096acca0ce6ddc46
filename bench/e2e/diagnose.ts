/**
 * Diagnostic: how long the default topology (no DynamoDB) takes from the last record read to the
 * consumer caught up, with and without the per-minute window step, over one small input.
 *
 *   node_modules/.bin/node bench/e2e/diagnose.ts [--events 20000]
 */
import { mkdirSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { runTributary } from './contenders.ts';
import { holdBackOf, produceInput } from './input.ts';
import { writeVariant } from './variants.ts';

const { values } = parseArgs({ options: { events: { type: 'string', default: '20000' } } });
const runId = `d${Date.now().toString(36)}`;
const outDir = 'bench/out/e2e';
mkdirSync(outDir, { recursive: true });
const inputPrefix = `e2e-${runId}-in-`;
const input = await produceInput({ events: Number(values.events), seed: 42, prefix: inputPrefix });
for (const [name, variant] of [['no-dynamo', { noDynamo: true }], ['no-dynamo-no-window', { noDynamo: true, noWindow: true }]] as const) {
  const run = await runTributary({ name, yaml: writeVariant(outDir, `${runId}-${name}`, variant), runId, inputPrefix, inputTopics: Object.values(input.topics), expected: input.expected, holdBack: holdBackOf(input.topics), outDir });
  console.log(`${name}: read ${run.readSeconds.toFixed(1)} s, caught up ${run.seconds.toFixed(1)} s (tail ${(run.seconds - run.readSeconds).toFixed(1)} s), RSS peak ${run.resources.rssPeakMb} MB`);
}
process.exit(0);
