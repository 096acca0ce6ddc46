/**
 * The end-to-end benchmark: one generated stream, every contender side by side, ratios, correctness.
 * See bench/e2e.ts for the command line.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { createDynamoClient, createS3Client, localStack } from '../../src/config.ts';
import { bareConsumer } from '../baselines/bare-consumer.ts';
import { bareKafkajs } from '../baselines/bare-kafkajs.ts';
import type { BaselineResult } from '../baselines/common.ts';
import { jsonParse } from '../baselines/json-parse.ts';
import { naiveService } from '../baselines/naive-service.ts';
import { kafkaStreamsReference } from '../reference/run.ts';
import { checkHotKafka, checkRun, type Correctness } from './correctness.ts';
import { CHILD_NODE_FLAGS, metricSum, runTributary, type TributaryRun } from './contenders.ts';
import { imageMallocEnv } from './image-env.ts';
import { rawBatchWrite, type RawDynamo } from './dynamo-raw.ts';
import { expectationsOf } from './expectations.ts';
import { holdBackOf, produceInput, type Input } from './input.ts';
import { deleteTables, removeLeftovers } from './leftovers.ts';
import { operatorsAlone } from './operators-alone.ts';
import { HOT_KAFKA_SINK, writeVariant as writeSpec, type OperatorBounds, type Variant } from './variants.ts';

export interface E2eOptions {
  mode: 'quick' | 'full';
  events: number;
  seed: number;
  skip: Set<string>;
  stallMs: number;
  naiveEvents: number;
  /** Offered load of the hot-Kafka-path run, events/s; default half of that path's measured maximum. */
  hotRate?: number;
  /** Operator bounds set on every Tributary variant (default: the topology's). */
  bounds?: OperatorBounds;
  cpuProf: boolean;
  /** Keep earlier runs' `e2e-*` topics and buckets (deleted before the run by default). */
  keepLeftovers?: boolean;
  outDir: string;
}

export interface E2eResult {
  options: Omit<E2eOptions, 'skip'> & { skip: string[] };
  runId: string;
  startedAt: string;
  finishedAt?: string;
  machine: { cores: number; cpu: string; node: string; nodeFlags: string[]; mallocEnv?: Record<string, string>; loadAverageAtStart: number[]; loadAverageAtEnd?: number[]; memoryGb: number };
  input: { records: number; ticks: number; bytes: number; produceSeconds: number; eventsPerSecondOfEventTime: number; truth: string };
  baselines: Record<string, BaselineResult>;
  dynamoRawItemsPerSec?: number;
  /** DynamoDB Local's own figures in this run (BatchWriteItem(25), 8 in flight). */
  dynamoRaw?: RawDynamo;
  /** The hot Kafka path's maximum, events/s, when measured (its live run is offered half of it). */
  hotMaxEventsPerSec?: number;
  tributary: Record<string, Omit<TributaryRun, 'samples' | 'metrics'> & { counters: Record<string, number> }>;
  samples: Record<string, TributaryRun['samples']>;
  correctness: Correctness[];
  errors: string[];
}

const log = (message: string) => process.stderr.write(`[e2e ${new Date().toISOString().slice(11, 19)}] ${message}\n`);

const DYNAMO_SINKS = ['user-sessions', 'transactions', 'leaderboard', 'game-metrics', 'fraud-alerts-table'];
/**
 * Sinks acknowledged per event by a DynamoDB or Kafka write (the hot path, where the latency target
 * applies), as opposed to `game-metrics` (a window's result, written when the window closes) and
 * `cold-storage` (Parquet, durable when its file rotates).
 */
const HOT_SINKS = ['user-sessions', 'transactions', 'leaderboard', 'fraud-alerts', 'fraud-alerts-table', 'late-events'];
const COUNTERS = ['source_records_total', 'duplicates_total', 'dead_letters_total', 'late_events_total', 'alerts_total', 'sink_records_total', 'sink_files_total', 'pauses_total', 'commits_total'];

export async function runE2e(o: E2eOptions): Promise<E2eResult> {
  const runId = Date.now().toString(36);
  mkdirSync(o.outDir, { recursive: true });
  const r: E2eResult = {
    options: { ...o, skip: [...o.skip] },
    runId,
    startedAt: new Date().toISOString(),
    machine: { cores: cpus().length, cpu: cpus()[0]?.model ?? '?', node: process.version, nodeFlags: CHILD_NODE_FLAGS, mallocEnv: imageMallocEnv(), loadAverageAtStart: loadavg(), memoryGb: Math.round(totalmem() / 2 ** 30) },
    input: { records: 0, ticks: 0, bytes: 0, produceSeconds: 0, eventsPerSecondOfEventTime: 0, truth: '' },
    baselines: {},
    tributary: {},
    samples: {},
    correctness: [],
    errors: [],
  };
  const save = () => writeFileSync(`${o.outDir}/e2e-${o.mode}.json`, JSON.stringify(r, null, 2));
  const attempt = async (name: string, fn: () => Promise<void>) => {
    if (o.skip.has(name)) return log(`skipping ${name}`);
    log(`${name}...`);
    try {
      await fn();
    } catch (error) {
      log(`${name} FAILED: ${(error as Error).stack ?? String(error)}`);
      r.errors.push(`${name}: ${(error as Error).message}`);
    }
    save();
  };

  const writeVariant = (dir: string, name: string, variant: Variant) => writeSpec(dir, name, { ...variant, ...(o.bounds ? { bounds: o.bounds } : {}) });

  // 1. Input, on a stack cleared of earlier runs.
  if (!o.keepLeftovers) {
    const s3 = createS3Client(localStack().connections);
    const dynamo = createDynamoClient(localStack().connections);
    const removed = await removeLeftovers(localStack().connections.brokers, s3, dynamo).finally(() => {
      s3.destroy();
      dynamo.destroy();
    });
    log(`removed earlier runs' leftovers: ${removed.topics} topics, ${removed.buckets} buckets (${removed.objects} objects), ${removed.tables} tables`);
  }
  const inputPrefix = `e2e-${runId}-in-`;
  const truthPath = `${o.outDir}/${runId}-ground-truth.json`;
  log(`producing ${o.events} events to ${inputPrefix}*`);
  const input = await produceInput({ events: o.events, seed: o.seed, prefix: inputPrefix, out: truthPath });
  r.input = { records: input.records, ticks: input.ticks, bytes: input.bytes, produceSeconds: input.seconds, eventsPerSecondOfEventTime: input.eventsPerSecond, truth: truthPath };
  const topics = Object.values(input.topics);
  const expected = expectationsOf(input.truth);
  save();

  // 2. Baselines over the same topics.
  // The ceiling of each client is its bare consumer with JSON.parse per record; without it, a reference.
  await attempt('bare', async () => void (r.baselines.bare = await bareConsumer({ topics, expected: input.expected })));
  await attempt('bare-parse', async () => void (r.baselines['bare-parse'] = await bareConsumer({ topics, expected: input.expected, parse: true })));
  await attempt('bare-kafkajs', async () => void (r.baselines['bare-kafkajs'] = await bareKafkajs({ topics, expected: input.expected })));
  await attempt('bare-kafkajs-parse', async () => void (r.baselines['bare-kafkajs-parse'] = await bareKafkajs({ topics, expected: input.expected, parse: true })));
  await attempt('json', async () => void (r.baselines.json = await jsonParse({ generator: { ...input.truth.options } })));
  await attempt('naive', async () => void (r.baselines.naive = await naiveService({ topics, maxEvents: o.naiveEvents })));
  await attempt('reference', async () => void (r.baselines.reference = await kafkaStreamsReference({ inputTopics: [input.topics['game-events']], threads: 1 })));
  await attempt('operators', async () => void (r.baselines.operators = await operatorsAlone({ generator: { ...input.truth.options } })));

  // 3. Tributary, each variant in its own process, each with its own output names.
  const record = async (run: TributaryRun, inputOf: Input, withDynamo: boolean) => {
    const { samples, metrics, ...rest } = run;
    const counters = Object.fromEntries(COUNTERS.map((c) => [c, metricSum(metrics, c)]));
    counters.dynamo_items = DYNAMO_SINKS.reduce((sum, step) => sum + metricSum(metrics, 'sink_records_total', ['step', step]), 0);
    r.tributary[run.name] = { ...rest, counters };
    r.samples[run.name] = samples;
    if (!run.ok) r.errors.push(`${run.name}: ${run.error ?? 'did not catch up'}`);
    log(`${run.name}: ${run.ok ? 'caught up' : `NOT caught up (${run.error ?? ''})`} in ${run.seconds.toFixed(1)} s, ${Math.round(run.eventsPerSec)} ev/s, RSS peak ${run.resources.rssPeakMb} MB`);
    const exp = inputOf === input ? expected : expectationsOf(inputOf.truth);
    r.correctness.push(await checkRun(run, inputOf.truth, exp, inputOf.ticks, withDynamo));
  };
  const common = { runId, inputPrefix, inputTopics: topics, expected: input.expected, holdBack: holdBackOf(input.topics), outDir: o.outDir, cpuProf: o.cpuProf };
  const noDynamo = writeVariant(o.outDir, `${runId}-no-dynamo`, { noDynamo: true });
  await attempt('tributary', async () => record(await runTributary({ ...common, name: 'no-dynamo', yaml: noDynamo }), input, false));
  await attempt('kafkajs', async () =>
    record(await runTributary({ ...common, name: 'no-dynamo-kafkajs', yaml: writeVariant(o.outDir, `${runId}-no-dynamo-kafkajs`, { noDynamo: true, client: 'kafkajs' }) }), input, false));
  await attempt('dynamo', async () => {
    r.dynamoRaw = await rawBatchWrite();
    r.dynamoRawItemsPerSec = r.dynamoRaw.itemsPerSec;
    log(`raw BatchWriteItem: ${Math.round(r.dynamoRaw.itemsPerSec)} items/s, request p99 ${Math.round(r.dynamoRaw.requestP99Ms)} ms`);
    await record(await runTributary({ ...common, name: 'full', yaml: writeVariant(o.outDir, `${runId}-full`, {}) }), input, true);
    // Checked: its ~200k items would stay in DynamoDB Local's heap through the latency run.
    if (!o.keepLeftovers) {
      const dynamo = createDynamoClient(localStack().connections);
      await deleteTables(dynamo, `e2e_${runId}_full_`).finally(() => dynamo.destroy());
    }
  });
  await attempt('stall', async () =>
    record(await runTributary({ ...common, name: 'stalled-cold-storage', yaml: noDynamo, stall: { sink: 'cold-storage', ms: o.stallMs } }), input, false));

  /** Runs `yaml` while producing `events` live at `rate` events/s to fresh input topics. */
  const live = async (name: string, yaml: string, rate: number, events: number, hotSinks: string[], windowed: boolean) => {
    const livePrefix = `e2e-${runId}-${name}-in-`;
    const liveTopics = ['game-events', 'user-activity', 'transaction-events'].map((t) => `${livePrefix}${t}`);
    let produced: Promise<Input> | undefined;
    const run = await runTributary({
      ...common,
      name,
      inputPrefix: livePrefix,
      inputTopics: liveTopics,
      expected: events + 18,
      // Without a window, nothing holds the last tick back.
      holdBack: windowed ? holdBackOf(Object.fromEntries(liveTopics.map((t) => [t.slice(livePrefix.length), t]))) : {},
      yaml,
      latency: true,
      hotSinks,
      onStarted: () => {
        produced = sleep(4000).then(() => produceInput({ events, seed: o.seed + 1, prefix: livePrefix, rate }));
      },
    });
    const liveInput = await (produced as Promise<Input>);
    if (liveInput.expected !== events + 18) throw new Error(`live input has ${liveInput.expected} records, expected ${events + 18}`);
    run.rate = rate;
    return { run, liveInput };
  };
  const liveSeconds = o.mode === 'full' ? 60 : 20;

  // 4. Latency at 50% of the measured maximum of the full default topology (of the no-DynamoDB one
  // when the full run was skipped or failed), produced live while Tributary runs.
  await attempt('latency', async () => {
    const full = r.tributary.full?.ok === true ? r.tributary.full : undefined;
    const max = (full ?? r.tributary['no-dynamo'])?.eventsPerSec;
    if (max === undefined || !Number.isFinite(max)) throw new Error('no measured maximum (the full and no-dynamo runs failed or were skipped)');
    const rate = Math.round(max / 2);
    const events = Math.max(20_000, Math.min(o.events, rate * liveSeconds));
    const { run, liveInput } = await live('latency', full === undefined ? noDynamo : writeVariant(o.outDir, `${runId}-latency`, {}), rate, events, HOT_SINKS, true);
    await record(run, liveInput, full !== undefined);
  });

  // 5. The hot Kafka path alone (parse, validate, dedup, route, one Kafka sink): its maximum over the
  // input (unless `--hot-rate` fixes the load), then produce header to the Kafka sink's
  // acknowledgement at half of it.
  const recordHot = async (run: TributaryRun, inputOf: Input) => {
    const { samples, metrics, ...rest } = run;
    r.tributary[run.name] = { ...rest, counters: Object.fromEntries(COUNTERS.map((c) => [c, metricSum(metrics, c)])) };
    r.samples[run.name] = samples;
    if (!run.ok) r.errors.push(`${run.name}: ${run.error ?? 'did not catch up'}`);
    r.correctness.push(await checkHotKafka(run, inputOf === input ? expected : expectationsOf(inputOf.truth), inputOf.ticks));
  };
  await attempt('hot-kafka', async () => {
    const yaml = writeVariant(o.outDir, `${runId}-hot-kafka`, { hotKafka: true });
    let rate = o.hotRate;
    if (rate === undefined) {
      const max = await runTributary({ ...common, name: 'hot-kafka-max', yaml, holdBack: {} });
      await recordHot(max, input);
      if (!max.ok) throw new Error(`the hot Kafka path did not catch up on the input: ${max.error ?? ''}`);
      r.hotMaxEventsPerSec = max.eventsPerSec;
      rate = Math.round(max.eventsPerSec / 2);
      log(`hot-kafka-max: ${Math.round(max.eventsPerSec)} ev/s; live run at ${rate} ev/s`);
    }
    const events = Math.max(20_000, Math.min(o.events, rate * liveSeconds));
    const { run, liveInput } = await live('hot-kafka', yaml, rate, events, [HOT_KAFKA_SINK], false);
    await recordHot(run, liveInput);
    const hot = run.sinkLatency?.hot;
    log(`hot-kafka: ${run.ok ? 'caught up' : 'NOT caught up'} at ${rate} ev/s, Kafka sink ack p50 ${hot?.p50} ms, p99 ${hot?.p99} ms (${hot?.steady?.p99} ms after the warm-up)`);
  });
  r.finishedAt = new Date().toISOString();
  r.machine.loadAverageAtEnd = loadavg();
  save();
  return r;
}
