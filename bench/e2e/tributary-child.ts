/**
 * The Tributary process of the end-to-end harness: runs one topology until its consumer group has
 * committed every record of its input topics, sampling its own RSS and CPU, then writes a JSON result.
 *
 *   node bench/e2e/tributary-child.ts '<ChildConfig as JSON>'
 *
 * Options: `latency` wraps each input lease to time produce -> final release (sinks done);
 * `stall` makes one sink's writes wait `ms` from its first write, to watch memory under backpressure.
 */
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { map, tap } from 'rxjs';
import { connectionsFromEnv, createDynamoClient, createS3Client } from '../../src/config.ts';
import type { Pipeline } from '../../src/runtime/context.ts';
import { createRuntime } from '../../src/runtime/runtime.ts';
import type { Sink } from '../../src/core/sink.ts';
import { compileTopology } from '../../src/topology/compile.ts';
import { loadTopologyFile } from '../../src/topology/load.ts';
import { ensureTopologyTopics, kafkaConnectionFromEnv, runtimeOptionsOf } from '../../src/topology/run.ts';
import { LatencyRecorder, SinkLatencies } from './lease-latency.ts';
import { progressReader } from './offsets.ts';
import { startSampler, summarize } from './sampler.ts';

export interface ChildConfig {
  yaml: string;
  env: Record<string, string>;
  /** Records the input topics will hold in all (the run ends when all are committed). */
  expected: number;
  inputTopics: string[];
  group: string;
  /** Per topic, records per partition allowed to stay uncommitted at the end (held by the last open window). */
  holdBack?: Record<string, number>;
  out: string;
  latency?: boolean;
  /** With `latency`: the sinks whose latencies are also pooled as "hot" (per-event DynamoDB/Kafka writes). */
  hotSinks?: string[];
  stall?: { sink: string; ms: number };
  timeoutMs?: number;
  /** Gives up when every record was read and the commits have not moved for this long. Default 60000. */
  stuckMs?: number;
}

const config = JSON.parse(process.argv[2] ?? '') as ChildConfig;
// BENCH_ALLOC_PROF=<file>: where the run's bytes are allocated, collected objects included (V8's
// sampling heap profiler, one sample per 64 KiB), written when the run is caught up.
const allocations = process.env.BENCH_ALLOC_PROF ? new Session() : undefined;
if (allocations !== undefined) {
  allocations.connect();
  await allocations.post('HeapProfiler.startSampling', { samplingInterval: 65_536, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true });
}
const sampler = startSampler(500);
const env = { ...process.env, ...config.env };
const topology = await loadTopologyFile(config.yaml, { env });
const connections = connectionsFromEnv(env);
const dynamo = createDynamoClient(connections);
const s3 = createS3Client(connections);
// The same options as `tributary run` (bounds and timings from the environment).
const runtime = createRuntime(runtimeOptionsOf(topology, kafkaConnectionFromEnv(env), env));
const partitionCounts = await ensureTopologyTopics(topology, kafkaConnectionFromEnv(env));
const compiled = compileTopology(topology, { dynamo, s3, kafka: kafkaConnectionFromEnv(env), partitionCounts });

let firstMs: number | undefined;
let readMs: number | undefined;
let read = 0;
const latency = config.latency === true ? new LatencyRecorder() : undefined;
const sinkLatency = config.latency === true ? new SinkLatencies(config.hotSinks ?? []) : undefined;
const stall = { startedMs: undefined as number | undefined, endedMs: undefined as number | undefined };

function stalling<T>(sink: Sink<T>, ms: number): Sink<T> {
  const wait = async () => {
    if (stall.startedMs === undefined) {
      stall.startedMs = performance.now();
      setTimeout(() => (stall.endedMs = performance.now()), ms);
    }
    const left = stall.startedMs + ms - performance.now();
    if (left > 0) await sleep(left);
  };
  return {
    id: sink.id,
    write: async (batch) => {
      await wait();
      return sink.write(batch);
    },
    flush: async () => {
      if (stall.startedMs !== undefined) await wait();
      return sink.flush();
    },
    close: () => sink.close(),
  };
}

const pipeline: Pipeline = (input$, ctx) =>
  compiled(
    input$.pipe(
      tap((batch) => {
        firstMs ??= performance.now();
        read += batch.length;
        if (read >= config.expected) readMs ??= performance.now();
      }),
      map((batch) => (latency === undefined ? batch : batch.map((e) => latency.wrap(e)))),
    ),
    {
      ...ctx,
      toSink: (sink, batching) => {
        const toSink = ctx.toSink(config.stall !== undefined && sink.id === config.stall.sink ? stalling(sink, config.stall.ms) : sink, batching);
        return sinkLatency === undefined ? toSink : (input$) => toSink(input$.pipe(map((batch) => batch.map((e) => sinkLatency.wrap(sink.id, e)))));
      },
    },
  );

const done = runtime.run(pipeline);
let failure: unknown;
done.catch((error: unknown) => (failure ??= error));
const progress = progressReader(connections.brokers, config.group, config.inputTopics, config.holdBack);
const deadline = performance.now() + (config.timeoutMs ?? 20 * 60_000);
let caughtUpMs: number | undefined;
let last = { end: 0, committed: 0, caughtUp: false };
let stuck: string | undefined;
let lastChangeMs = performance.now();
while (failure === undefined && performance.now() < deadline) {
  await sleep(250);
  const before = last.committed;
  last = await progress.read().catch(() => last);
  if (last.end >= config.expected && last.caughtUp) {
    caughtUpMs = performance.now();
    break;
  }
  if (last.committed !== before) lastChangeMs = performance.now();
  // Everything read and commits stopped: give up rather than wait for the deadline.
  if (readMs !== undefined && performance.now() - lastChangeMs > (config.stuckMs ?? 60_000)) {
    stuck = `committed offsets stopped at ${last.committed} of ${last.end} for ${config.stuckMs ?? 60_000} ms after every record was read`;
    break;
  }
}
await progress.close();
if (allocations !== undefined) {
  const { profile } = await allocations.post('HeapProfiler.stopSampling');
  writeFileSync(process.env.BENCH_ALLOC_PROF as string, JSON.stringify(profile));
}
const shutdown = await runtime.shutdown(caughtUpMs === undefined ? 'bench timeout' : 'bench caught up');
await done.catch(() => {});
sampler.stop();
dynamo.destroy();
s3.destroy();

const relative = (ms: number | undefined) => (ms === undefined ? undefined : Math.round(ms - sampler.t0));
const seconds = firstMs !== undefined && caughtUpMs !== undefined ? (caughtUpMs - firstMs) / 1000 : Number.NaN;
const result = {
  ok: caughtUpMs !== undefined && failure === undefined,
  error: failure === undefined ? stuck : String((failure as Error).stack ?? failure),
  shutdown,
  events: config.expected,
  seconds,
  eventsPerSec: config.expected / seconds,
  progress: last,
  /** From the first record to the last one read (the source's own pace, sinks and windows not awaited). */
  readSeconds: firstMs !== undefined && readMs !== undefined ? (readMs - firstMs) / 1000 : Number.NaN,
  startupSeconds: firstMs === undefined ? undefined : (firstMs - sampler.t0) / 1000,
  resources: summarize(sampler.samples, relative(firstMs) ?? 0, relative(caughtUpMs) ?? Infinity),
  latency: latency?.percentiles(),
  sinkLatency: sinkLatency?.summary(),
  stall:
    stall.startedMs === undefined
      ? undefined
      : { startedAtMs: relative(stall.startedMs), endedAtMs: relative(stall.endedMs), ...summarize(sampler.samples, relative(stall.startedMs), relative(stall.endedMs) ?? Infinity) },
  metrics: runtime.metrics.snapshot(),
  samples: sampler.samples,
};
writeFileSync(config.out, JSON.stringify(result));
process.exit(0);
