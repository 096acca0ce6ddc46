/**
 * Kafka source throughput: the same pre-filled topic read by
 *   (a) a bare @platformatic/kafka consumer with its default options,
 *   (b) the same, tuned (Tributary's defaults: highWaterMark, maxBytesPerPartition, maxBytes, maxWaitTime),
 *   (c) a bare kafkajs consumer (eachBatch),
 *   (d) the Tributary runtime on @platformatic/kafka: source -> identity -> no-op sink (leases, commits),
 *   (e) the same on kafkajs,
 * plus optional tuning sweeps. Each variant runs in its own child process (peak RSS per variant).
 *
 *   node_modules/.bin/node bench/sources.bench.ts            # 500k records of ~220 B
 *   BENCH_FULL=1 node_modules/.bin/node bench/sources.bench.ts  # 2M records
 *   BENCH_SWEEP=1 ...                                         # also sweep the platformatic fetch options
 *   BENCH_REPEAT=3 ...                                        # rounds (default 2; best run kept)
 *   BENCH_ONLY='^\(b\)|hwm' ...                              # only the variants whose label matches
 *
 * Prints a Markdown table (events/s, ratio to (b), peak RSS) and writes bench/out/sources.json.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Admin, Consumer } from '@platformatic/kafka';
import kafkajs from 'kafkajs';
import { map } from 'rxjs';
import { localStack } from '../src/config.ts';
import { silentLogger } from '../src/core/logger.ts';
import { createRuntime } from '../src/runtime/runtime.ts';
import type { Sink } from '../src/core/sink.ts';
import { registerKafkajsCodecs } from '../src/sources/kafkajs-codecs.ts';
import { endOffsets, produce } from '../test/runtime/support.ts';

const here = dirname(fileURLToPath(import.meta.url));
const brokers = [...localStack().connections.brokers];
const full = process.env.BENCH_FULL === '1';
const count = Number(process.env.BENCH_RECORDS ?? (full ? 2_000_000 : 500_000));
const topic = process.env.BENCH_TOPIC ?? `bench-sources-${count}`;
const repeat = Number(process.env.BENCH_REPEAT ?? 2);

interface Variant {
  readonly name: string;
  readonly label: string;
  readonly options?: Record<string, number>;
}

const TUNED = { highWaterMark: 8192, maxBytesPerPartition: 1024 * 1024, maxBytes: 16 * 1024 * 1024, maxWaitTime: 500 };

const VARIANTS: Variant[] = [
  { name: 'platformatic-default', label: '(a) @platformatic/kafka, default options' },
  { name: 'platformatic-tuned', label: '(b) @platformatic/kafka, tuned', options: TUNED },
  { name: 'kafkajs', label: '(c) kafkajs eachBatch' },
  { name: 'runtime-platformatic', label: '(d) Tributary runtime, platformatic source' },
  { name: 'runtime-kafkajs', label: '(e) Tributary runtime, kafkajs source' },
];

const SWEEP: Variant[] = [
  { name: 'platformatic-tuned', label: 'hwm 1024, 1 MiB/partition', options: { ...TUNED, highWaterMark: 1024 } },
  { name: 'platformatic-tuned', label: 'hwm 32768, 1 MiB/partition', options: { ...TUNED, highWaterMark: 32768 } },
  { name: 'platformatic-tuned', label: 'hwm 8192, 4 MiB/partition', options: { ...TUNED, maxBytesPerPartition: 4 * 1024 * 1024 } },
  { name: 'platformatic-tuned', label: 'hwm 8192, 16 MiB/partition, 50 MiB max', options: { ...TUNED, maxBytesPerPartition: 16 * 1024 * 1024, maxBytes: 50 * 1024 * 1024 } },
  { name: 'platformatic-tuned', label: 'hwm 8192, maxWaitTime 5000', options: { ...TUNED, maxWaitTime: 5000 } },
];

/** A game event of about 220 bytes of JSON. */
function gameEvent(i: number): string {
  return JSON.stringify({
    eventId: `evt-${i.toString(36).padStart(10, '0')}`,
    type: ['match_start', 'score', 'purchase', 'level_up', 'match_end'][i % 5],
    playerId: `player-${(i * 7919) % 100_000}`,
    matchId: `match-${Math.floor(i / 50)}`,
    ts: 1_760_000_000_000 + i * 10,
    points: (i * 31) % 1000,
    region: ['eu-west-1', 'us-east-1', 'ap-south-1'][i % 3],
    platform: ['pc', 'ps5', 'xbox', 'switch'][i % 4],
    version: '4.12.1',
  });
}

async function prepareTopic(): Promise<void> {
  const admin = new Admin({ clientId: 'bench-admin', bootstrapBrokers: brokers });
  try {
    const topics = await admin.listTopics();
    if (topics.includes(topic)) {
      const ends = await endOffsets(brokers, topic);
      if ([...ends.values()].reduce((a, b) => a + b, 0) >= count) return;
      await admin.deleteTopics({ topics: [topic] });
      await new Promise((r) => setTimeout(r, 1000));
    }
    await admin.createTopics({ topics: [topic], partitions: 3, replicas: 1 });
  } finally {
    await admin.close();
  }
  const started = performance.now();
  await produce(brokers, topic, (function* () {
    for (let i = 0; i < count; i++) yield { key: `player-${(i * 7919) % 100_000}`, value: gameEvent(i) };
  })(), { batchSize: 5000 });
  process.stderr.write(`filled ${topic} with ${count} records in ${((performance.now() - started) / 1000).toFixed(1)} s\n`);
}

interface Timing {
  /** Wall time from the first record to the `count`-th. */
  ms: number;
  /** CPU time (user + system) of this process over the same span. */
  cpuMs: number;
}

/** Measures from the first record to the `count`-th (the group join is not counted). */
function stopwatch() {
  let first = 0;
  let firstCpu: NodeJS.CpuUsage | undefined;
  let seen = 0;
  const { promise, resolve } = Promise.withResolvers<Timing>();
  return {
    tick(n = 1) {
      if (seen === 0) {
        first = performance.now();
        firstCpu = process.cpuUsage();
      }
      seen += n;
      if (seen >= count && seen - n < count) {
        const cpu = process.cpuUsage(firstCpu);
        resolve({ ms: performance.now() - first, cpuMs: (cpu.user + cpu.system) / 1000 });
      }
    },
    done: promise,
  };
}

async function runPlatformatic(options: Record<string, number> | undefined): Promise<Timing> {
  const consumer = new Consumer({ clientId: 'bench', groupId: `bench-${process.pid}-${Date.now()}`, bootstrapBrokers: brokers, autocommit: false, ...options });
  const watch = stopwatch();
  const stream = await consumer.consume({ topics: [topic], mode: 'earliest', autocommit: false });
  stream.on('data', () => watch.tick());
  const timing = await watch.done;
  await consumer.close(true);
  return timing;
}

async function runKafkajs(): Promise<Timing> {
  registerKafkajsCodecs();
  const kafka = new kafkajs.Kafka({ clientId: 'bench', brokers, logLevel: kafkajs.logLevel.NOTHING });
  const consumer = kafka.consumer({ groupId: `bench-${process.pid}-${Date.now()}`, maxWaitTimeInMs: 500 });
  const watch = stopwatch();
  await consumer.connect();
  await consumer.subscribe({ topics: [topic], fromBeginning: true });
  await consumer.run({ autoCommit: false, eachBatch: async ({ batch }) => watch.tick(batch.messages.length) });
  const timing = await watch.done;
  await consumer.disconnect();
  return timing;
}

async function runRuntime(client: 'platformatic' | 'kafkajs'): Promise<Timing> {
  const watch = stopwatch();
  const sink: Sink<Buffer | null> = {
    id: 'noop',
    async write(batch) {
      for (const envelope of batch) envelope.lease.release();
      watch.tick(batch.length);
    },
    async flush() {},
    async close() {},
  };
  const runtime = createRuntime({
    source: { client, brokers, groupId: `bench-${process.pid}-${Date.now()}`, topics: [topic], fromBeginning: true },
    deadLetterTopic: `${topic}-dlq`,
    logger: silentLogger,
  });
  const done = runtime.run((input$, ctx) => input$.pipe(map((e) => e), ctx.toSink(sink)));
  const timing = await watch.done;
  await runtime.shutdown();
  await done;
  return timing;
}

async function child(variant: Variant): Promise<void> {
  let peak = 0;
  const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 50);
  let timing: Timing;
  if (variant.name.startsWith('platformatic')) timing = await runPlatformatic(variant.options);
  else if (variant.name === 'kafkajs') timing = await runKafkajs();
  else timing = await runRuntime(variant.name === 'runtime-kafkajs' ? 'kafkajs' : 'platformatic');
  clearInterval(sampler);
  process.stdout.write(`${JSON.stringify({ ...timing, peakRss: peak })}\n`);
  process.exit(0);
}

async function main(): Promise<void> {
  await prepareTopic();
  const only = process.env.BENCH_ONLY === undefined ? undefined : new RegExp(process.env.BENCH_ONLY);
  const variants = (process.env.BENCH_SWEEP === '1' ? [...VARIANTS, ...SWEEP] : VARIANTS).filter((v) => only?.test(v.label) ?? true);
  interface Result {
    label: string;
    eventsPerSecond: number;
    cpuUsPerEvent: number;
    peakRssMb: number;
    runs: number[];
  }
  const results: Result[] = [];
  // Rounds alternate the variants, and each keeps its best run: the box is shared, so the best of a
  // few runs is the least disturbed figure. CPU time per event is steadier than wall time under load.
  for (let round = 0; round < repeat; round++) {
    for (const variant of variants) {
      const run = spawnSync(process.execPath, [fileURLToPath(import.meta.url)], {
        env: { ...process.env, BENCH_CHILD: JSON.stringify(variant), BENCH_TOPIC: topic, BENCH_RECORDS: String(count), LOG_LEVEL: 'silent' },
        encoding: 'utf8',
        timeout: 600_000,
      });
      const line = run.stdout.trim().split('\n').pop() ?? '';
      if (run.status !== 0 || !line.startsWith('{')) {
        process.stderr.write(`${variant.label} failed (${run.status}):\n${run.stderr.slice(-2000)}\n`);
        continue;
      }
      const { ms, cpuMs, peakRss } = JSON.parse(line) as { ms: number; cpuMs: number; peakRss: number };
      const eventsPerSecond = Math.round((count / ms) * 1000);
      const cpuUsPerEvent = (cpuMs * 1000) / count;
      const peakRssMb = Math.round(peakRss / 1024 / 1024);
      const existing = results.find((r) => r.label === variant.label);
      if (existing === undefined) results.push({ label: variant.label, eventsPerSecond, cpuUsPerEvent, peakRssMb, runs: [eventsPerSecond] });
      else {
        existing.runs.push(eventsPerSecond);
        if (eventsPerSecond > existing.eventsPerSecond) Object.assign(existing, { eventsPerSecond, peakRssMb });
        existing.cpuUsPerEvent = Math.min(existing.cpuUsPerEvent, cpuUsPerEvent);
      }
      process.stderr.write(`${variant.label}: ${eventsPerSecond} events/s, ${cpuUsPerEvent.toFixed(2)} us CPU/event\n`);
    }
  }
  const base = results.find((r) => r.label.startsWith('(b)'));
  const table = [
    `Kafka sources, ${count} records of ~220 B, 3 partitions, first to last record, best of ${repeat}`,
    '',
    '| reader | events/s | ratio to (b) | CPU us/event | CPU ratio to (b) | peak RSS MB | all runs, events/s |',
    '|---|---:|---:|---:|---:|---:|---|',
    ...results.map(
      (r) =>
        `| ${r.label} | ${r.eventsPerSecond.toLocaleString('en')} | ${(r.eventsPerSecond / (base?.eventsPerSecond ?? 1)).toFixed(2)} | ` +
        `${r.cpuUsPerEvent.toFixed(2)} | ${(r.cpuUsPerEvent / (base?.cpuUsPerEvent ?? 1)).toFixed(2)} | ${r.peakRssMb} | ${r.runs.join(', ')} |`,
    ),
  ].join('\n');
  process.stdout.write(`${table}\n`);
  mkdirSync(join(here, 'out'), { recursive: true });
  writeFileSync(join(here, 'out', 'sources.json'), JSON.stringify({ count, topic, results, at: new Date().toISOString() }, null, 2));
}

if (process.env.BENCH_CHILD) await child(JSON.parse(process.env.BENCH_CHILD) as Variant);
else await main();
