/**
 * Produces a generated stream to Kafka with @platformatic/kafka: batched, as fast as the broker takes
 * it or at a fixed rate, each record stamped with a `tributary.produced_at` header (epoch ms) for
 * latency measurement. Writes the ground truth as JSON when asked.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Admin, Producer, ProduceAcks, stringSerializers, type MessageToProduce } from '@platformatic/kafka';
import { localStack } from '../../src/config.ts';
import { TOPICS, type LogicalTopic } from './events.ts';
import { generate } from './generate.ts';
import type { GroundTruth } from './ground-truth.ts';
import { resolveOptions, type GeneratorInput } from './options.ts';

/** The header carrying each record's produce time, epoch milliseconds as a decimal string. */
export const PRODUCED_AT_HEADER = 'tributary.produced_at';

export interface ProduceOptions extends GeneratorInput {
  brokers?: readonly string[];
  /** Prepended to each topic name (`x-` gives `x-game-events`). */
  topicPrefix?: string;
  /** Partitions of topics created here (existing topics are left as they are). Default 3. */
  partitions?: number;
  /** Records per second; 0 (default) sends as fast as the broker takes them. */
  rate?: number;
  /** Records per produce request. Default 2000 (smaller at low rates, for even pacing). */
  batchSize?: number;
  /** Produce requests in flight at once. Default 4. */
  maxInFlight?: number;
  compression?: 'none' | 'gzip' | 'snappy' | 'lz4' | 'zstd';
  /** Where to write the ground truth JSON. */
  out?: string;
  /** Called about once a second with the records sent so far. */
  onProgress?: (sent: number, total: number) => void;
}

export interface ProduceReport {
  /** Logical topic to the real topic name. */
  topics: Record<LogicalTopic, string>;
  records: number;
  bytes: number;
  seconds: number;
  recordsPerSec: number;
  truth: GroundTruth;
}

/** The real topic names for a prefix. */
export function topicNames(prefix = ''): Record<LogicalTopic, string> {
  return Object.fromEntries(TOPICS.map((t) => [t, `${prefix}${t}`])) as Record<LogicalTopic, string>;
}

/** Creates the topics that do not exist yet, with `partitions` partitions each. */
export async function ensureTopics(brokers: readonly string[], topics: readonly string[], partitions: number, maxMessageBytes?: number): Promise<void> {
  const admin = new Admin({ clientId: 'tributary-bench-admin', bootstrapBrokers: [...brokers] });
  try {
    const existing = new Set(await admin.listTopics());
    const missing = topics.filter((t) => !existing.has(t));
    if (missing.length === 0) return;
    await admin.createTopics({
      topics: missing,
      partitions,
      replicas: 1,
      ...(maxMessageBytes === undefined ? {} : { configs: [{ name: 'max.message.bytes', value: String(maxMessageBytes) }] }),
    });
  } finally {
    await admin.close();
  }
}

/**
 * Generates and produces a stream; resolves when every record is acknowledged.
 *
 * ```ts
 * const report = await produce({ events: 100_000, seed: 42, topicPrefix: 'run1-', out: 'bench/out/ground-truth.json' });
 * console.log(report.recordsPerSec, report.truth.totals.uniqueValid);
 * ```
 */
export async function produce(options: ProduceOptions = {}): Promise<ProduceReport> {
  const brokers = options.brokers ?? localStack().connections.brokers;
  const topics = topicNames(options.topicPrefix);
  const rate = options.rate ?? 0;
  const batchSize = rate > 0 ? Math.max(1, Math.min(options.batchSize ?? 2000, Math.ceil(rate / 100))) : (options.batchSize ?? 2000);
  const maxInFlight = options.maxInFlight ?? 4;
  const total = resolveOptions(options).events;
  const oversized = (options.oversized ?? 0) > 0;
  await ensureTopics(brokers, Object.values(topics), options.partitions ?? 3, oversized ? 8 * 1024 * 1024 : undefined);

  const producer = new Producer<string, string, string, string>({
    clientId: 'tributary-bench-generator',
    bootstrapBrokers: [...brokers],
    serializers: stringSerializers,
    // Idempotent with acks=all: a send retried under load must not write a record twice.
    acks: ProduceAcks.ALL,
    idempotent: true,
    compression: options.compression ?? 'none',
  });

  if (rate > 0) {
    // A live run times each record from its send: connect, learn the partitions' leaders and get a
    // producer id first, or the first records' latencies include the generator's own start-up.
    await producer.metadata({ topics: Object.values(topics) });
    await producer.initIdempotentProducer({});
  }
  const inFlight = new Set<Promise<unknown>>();
  let failure: unknown;
  let sent = 0;
  let bytes = 0;
  let lastProgress = 0;
  const started = performance.now();
  const send = async (messages: MessageToProduce<string, string, string, string>[]) => {
    const headers = new Map([[PRODUCED_AT_HEADER, String(Date.now())]]);
    for (const m of messages) m.headers = headers;
    const p = producer.send({ messages }).then(
      () => {
        sent += messages.length;
      },
      (error: unknown) => {
        failure ??= error;
      },
    );
    inFlight.add(p);
    void p.finally(() => inFlight.delete(p));
    while (inFlight.size >= maxInFlight) await Promise.race(inFlight);
  };

  let truth: GroundTruth;
  try {
    const it = generate(options);
    let batch: MessageToProduce<string, string, string, string>[] = [];
    let queued = 0;
    let step = it.next();
    for (; step.done !== true; step = it.next()) {
      const r = step.value;
      batch.push({ topic: topics[r.topic], key: r.key ?? undefined, value: r.value });
      bytes += r.value.length;
      if (batch.length < batchSize) continue;
      queued += batch.length;
      if (rate > 0) {
        const dueMs = started + (queued / rate) * 1000 - performance.now();
        if (dueMs > 1) await sleep(dueMs);
      }
      await send(batch);
      batch = [];
      if (failure !== undefined) throw failure;
      const now = performance.now();
      if (options.onProgress && now - lastProgress >= 1000) {
        lastProgress = now;
        options.onProgress(sent, total);
      }
    }
    truth = { ...step.value, topics };
    if (batch.length > 0) await send(batch);
    await Promise.all(inFlight);
    if (failure !== undefined) throw failure;
  } finally {
    await producer.close();
  }
  const seconds = (performance.now() - started) / 1000;
  if (options.out !== undefined) {
    await mkdir(dirname(options.out), { recursive: true });
    await writeFile(options.out, JSON.stringify(truth));
  }
  return { topics, records: sent, bytes, seconds, recordsPerSec: sent / seconds, truth };
}
