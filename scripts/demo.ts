/**
 * The README's main command (`npm start`): starts the local stack, provisions what the default
 * topology names, produces seeded game traffic with injected duplicates, late events, malformed
 * records and fraud, runs the default topology until it has caught up, and prints what landed where
 * next to what the generator injected.
 *
 *   DEMO_EVENTS=20000   events to produce (default 20,000)
 *   DEMO_SEED=…         generator seed (default: the clock, so each run is new traffic)
 *   DEMO_FOLLOW=1       keep producing (DEMO_RATE events/s, default 500) and processing until Ctrl-C
 *   TOPOLOGY=…          another topology file (default topologies/game-events.yaml)
 */
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { Admin } from '@platformatic/kafka';
import { produce } from '../bench/generator/produce.ts';
import { connectionsFromEnv, createDynamoClient, createS3Client } from '../src/config.ts';
import { installSignalHandlers } from '../src/runtime/shutdown.ts';
import { countItems } from '../src/sinks/dynamodb-table.ts';
import { loadTopologyFile } from '../src/topology/load.ts';
import { provisionTopology } from '../src/topology/provision.ts';
import { loadSettings } from '../src/config-env.ts';
import { startOps, terminalView } from '../src/topology/ops.ts';
import { startTopology } from '../src/topology/run.ts';
import type { ValidTopology } from '../src/topology/types.ts';
import { up } from './stack.ts';

// A short idle timeout and rotation interval let the demo's last windows close and last Parquet files
// land soon after the traffic stops (the defaults, 1 minute and 5 minutes, suit a continuous stream).
const base: NodeJS.ProcessEnv = {
  ...process.env,
  TRIBUTARY_LOCAL: '1',
  LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn',
  WINDOW_IDLE_TIMEOUT: process.env.WINDOW_IDLE_TIMEOUT ?? '10s',
  PARQUET_ROTATION_INTERVAL: process.env.PARQUET_ROTATION_INTERVAL ?? '10s',
};
// The same rules as `tributary run` (src/topology/ops.ts terminalView): on a terminal, the progress
// line replaces the periodic status lines and the JSON logs go to TRIBUTARY_LOG_FILE (tributary.log).
const view = terminalView(loadSettings(base), process.stdout, process.stderr);
const env: NodeJS.ProcessEnv = { ...base, ...(view.logFile === undefined ? {} : { TRIBUTARY_LOG_FILE: view.logFile }) };
const file = env.TOPOLOGY ?? 'topologies/game-events.yaml';
const events = Number(env.DEMO_EVENTS ?? 20_000);
const seed = Number(env.DEMO_SEED ?? Date.now() % 1_000_000_007);
const follow = env.DEMO_FOLLOW === '1';
const tty = view.progress !== undefined;
// A line said while the progress line is drawn replaces it (the next redraw puts it back below).
const say = (line: string) => process.stdout.write(`${view.progress === process.stdout ? '\r\x1b[2K' : ''}${line}\n`);

/** Records not yet committed by the group, summed over the topology's source topics. */
async function lag(topology: ValidTopology, admin: Admin): Promise<number> {
  const topics = topology.sources.flatMap((s) => s.topics);
  const metadata = await admin.metadata({ topics });
  const partitionsOf = (name: string) => Array.from({ length: metadata.topics.get(name)?.partitionsCount ?? 0 }, (_, i) => i);
  const [ends, [group]] = await Promise.all([
    // Timestamp -1: the end offset of each partition.
    admin.listOffsets({ topics: topics.map((name) => ({ name, partitions: partitionsOf(name).map((partitionIndex) => ({ partitionIndex, timestamp: -1n })) })) }),
    admin.listConsumerGroupOffsets({ groups: [topology.sources[0]?.group ?? ''] }),
  ]);
  let behind = 0;
  for (const topic of ends) {
    for (const p of topic.partitions) {
      const committed = group?.topics.find((t) => t.name === topic.name)?.partitions.find((x) => x.partitionIndex === p.partitionIndex)?.committedOffset ?? 0n;
      behind += Number(p.offset - (committed < 0n ? 0n : committed));
    }
  }
  return behind;
}

async function summary(topology: ValidTopology, metrics: { total(name: string): number }): Promise<void> {
  const connections = connectionsFromEnv(env);
  const dynamo = createDynamoClient(connections);
  const s3 = createS3Client(connections);
  say('\nwhat landed where:');
  const tables = new Set<string>();
  for (const sink of topology.sinks) {
    if (sink.kind === 'dynamodb') {
      // Several sinks may write one table (a session's login and logout): one line per table.
      if (tables.has(sink.table)) continue;
      tables.add(sink.table);
      say(`  DynamoDB ${sink.table.padEnd(28)} ${String(await countItems(dynamo, sink.table)).padStart(7)} items`);
    } else if (sink.kind === 's3-parquet') {
      let objects = 0;
      let token: string | undefined;
      do {
        const page = await s3.send(new ListObjectsV2Command({ Bucket: sink.bucket, Prefix: sink.prefix, ContinuationToken: token }));
        objects += page.KeyCount ?? 0;
        token = page.NextContinuationToken;
      } while (token);
      say(`  S3       s3://${sink.bucket}/${sink.prefix}/…`.padEnd(38) + `${String(objects).padStart(7)} Parquet objects (hourly partitions)`);
    }
  }
  say(`  Kafka    fraud alerts ${String(metrics.total('alerts_total')).padStart(21)}`);
  say(`  Kafka    dead letters ${String(metrics.total('dead_letters_total')).padStart(21)}`);
  say(`           duplicates removed ${String(metrics.total('duplicates_total')).padStart(15)}`);
  say(`           late events routed ${String(metrics.total('late_events_total')).padStart(15)}`);
  dynamo.destroy();
  s3.destroy();
}

async function main(): Promise<number> {
  await up();
  const topology = await loadTopologyFile(file, { env });
  const connections = connectionsFromEnv(env);
  const created = await provisionTopology(topology, connections);
  say(`topology "${topology.name}": ${topology.sources.length} sources, ${topology.steps.length} steps, ${topology.sinks.length} sinks`);
  say(`provisioned: ${created.topics.length} topics, ${created.tables.length} tables, ${created.buckets.length} buckets created (others existed)`);

  const generator = {
    brokers: connections.brokers,
    topicPrefix: env.TOPIC_PREFIX ?? '',
    seed,
    eventsPerSecond: 20, // 20 events per second of event time: long enough for the fraud patterns' windows
  };
  const settings = loadSettings(env);
  const started = startTopology(topology, env);
  const { runtime } = started;
  const ops = await startOps(topology, runtime, {
    ...(settings.httpPort === undefined ? {} : { httpPort: settings.httpPort }),
    ...(view.progress === undefined ? {} : { progress: view.progress }),
  });
  if (ops.server !== undefined) say(`status page: http://127.0.0.1:${ops.server.port}/ (also /metrics, /readyz, /healthz)`);

  if (follow) {
    const rate = Number(env.DEMO_RATE ?? 500);
    say(`following: producing ${rate} events/s and processing them; Ctrl-C stops gracefully`);
    void produce({ ...generator, events: 10_000_000, rate }).catch((error: unknown) => say(`generator stopped: ${String(error)}`));
    const timer = setInterval(() => {
      if (tty) return;
      const m = runtime.metrics;
      say(`read ${m.total('source_records_total')}  alerts ${m.total('alerts_total')}  dead letters ${m.total('dead_letters_total')}  duplicates ${m.total('duplicates_total')}  in flight ${runtime.inflight.records}`);
    }, 10_000);
    installSignalHandlers(runtime, { exit: () => {} });
    await started.done;
    clearInterval(timer);
    await ops.close();
    await summary(topology, runtime.metrics);
    started.close();
    return 0;
  }

  const t0 = Date.now();
  const report = await produce({ ...generator, events, out: '.stack/demo-ground-truth.json' });
  const t = report.truth.totals;
  say(
    `produced ${report.records} records in ${report.seconds.toFixed(1)} s (seed ${seed}): ${t.uniqueValid} unique valid events, ` +
      `${t.duplicates} duplicates, ${t.malformed} malformed, ${t.late} late, ${report.truth.fraud.length} fraud cases; ground truth in .stack/demo-ground-truth.json`,
  );

  const admin = new Admin({ clientId: 'tributary-demo', bootstrapBrokers: [...connections.brokers] });
  let behind = Infinity;
  const deadline = Date.now() + Number(env.DEMO_TIMEOUT_MS ?? 300_000);
  while (behind > 0 && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 2000));
    behind = await lag(topology, admin);
    if (!tty) say(`  processed ${runtime.metrics.total('source_records_total')} records, ${behind} not yet committed`);
  }
  await admin.close();
  const seconds = (Date.now() - t0) / 1000;
  const result = await runtime.shutdown(behind === 0 ? 'caught up' : 'demo timeout');
  await started.done.catch(() => {});
  await ops.close();
  say(`${behind === 0 ? 'caught up' : 'stopped before catching up'} in ${seconds.toFixed(1)} s; shutdown ${result.clean ? 'clean' : `not clean (${result.reason})`}`);
  await summary(topology, runtime.metrics);
  say(`\nexpected from the ground truth: ${report.truth.fraud.length} fraud cases, ${t.duplicates} duplicates, ${t.malformed} malformed records`);
  say('the stack keeps running: `npm run stack:down` stops it');
  started.close();
  return behind === 0 ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
  },
);
