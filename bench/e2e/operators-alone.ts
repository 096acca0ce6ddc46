/**
 * The compiled default topology driven in memory: no Kafka, no sinks (an in-memory context whose
 * `toSink` releases leases), over the generated records. Run in a child via `operatorsAlone()`.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { lastValueFrom, Subject } from 'rxjs';
import { envelopeOf, type Batch, type Envelope } from '../../src/core/envelope.ts';
import { memoryContext } from '../../src/runtime/memory-context.ts';
import { compileTopology } from '../../src/topology/compile.ts';
import { loadTopologyFile } from '../../src/topology/load.ts';
import { runInChild, result, type BaselineResult } from '../baselines/common.ts';
import { generate } from '../generator/generate.ts';
import type { GeneratorInput } from '../generator/options.ts';
import { PRODUCED_AT_HEADER } from '../generator/produce.ts';

/** Records per batch handed to the pipeline (a fetch of one partition holds a few thousand). */
const BATCH = Number(process.env.BENCH_OPERATORS_BATCH ?? 500);

export interface OperatorsAloneOptions {
  generator: GeneratorInput;
  yaml?: string;
  passes?: number;
}

export async function measureOperatorsAlone(o: OperatorsAloneOptions): Promise<BaselineResult> {
  const startedMs = performance.now();
  const topology = await loadTopologyFile(o.yaml ?? 'topologies/game-events.yaml', { env: {} });
  const topicOf = new Map(topology.sources.map((s) => [s.id, s.topics[0] as string]));
  const records: { topic: string; value: Buffer; key: Buffer | null }[] = [];
  const it = generate(o.generator);
  for (let step = it.next(); step.done !== true; step = it.next()) {
    const r = step.value;
    records.push({ topic: topicOf.get(r.topic) as string, value: Buffer.from(r.value), key: r.key === null ? null : Buffer.from(r.key) });
  }
  const passes = o.passes ?? 1;
  const dynamo = new DynamoDBClient({ region: 'us-east-1', endpoint: 'http://127.0.0.1:9', credentials: { accessKeyId: 'x', secretAccessKey: 'x' } });
  const s3 = new S3Client({ region: 'us-east-1', endpoint: 'http://127.0.0.1:9', credentials: { accessKeyId: 'x', secretAccessKey: 'x' }, forcePathStyle: true });
  const perSink: Record<string, number> = {};
  let deadLetters = 0;
  let firstMs = 0;
  for (let pass = 0; pass < passes; pass++) {
    const ctx = memoryContext({
      onDeadLetter: () => void deadLetters++,
      onSink: (id) => void (perSink[id] = (perSink[id] ?? 0) + 1),
    });
    const pipeline = compileTopology(topology, { dynamo, s3, kafka: { brokers: ['127.0.0.1:9'] }, bounded: true });
    const input = new Subject<Batch<Envelope<Buffer | null>>>();
    const done = lastValueFrom(pipeline(input, ctx), { defaultValue: undefined });
    if (pass === 0) firstMs = performance.now();
    // Batches per topic of up to BATCH records, as fetches hand them to the runtime.
    const pending = new Map<string, Envelope<Buffer | null>[]>();
    const partitions = new Map<string, number>();
    for (const r of records) {
      const offset = partitions.get(r.topic) ?? 0;
      partitions.set(r.topic, offset + 1);
      const batch = pending.get(r.topic) ?? [];
      batch.push(envelopeOf<Buffer | null>(r.value, { topic: r.topic, partition: 0, offset, timestamp: 0, key: r.key, headers: { [PRODUCED_AT_HEADER]: '0' } }));
      pending.set(r.topic, batch);
      if (batch.length >= BATCH) {
        pending.delete(r.topic);
        input.next(batch);
      }
    }
    for (const batch of pending.values()) input.next(batch);
    input.complete();
    await done;
  }
  const endMs = performance.now();
  dynamo.destroy();
  s3.destroy();
  return result('Tributary operators alone (in memory)', records.length * passes, { startedMs, firstMs, endMs }, { passes, perSink, deadLetters });
}

/** {@link measureOperatorsAlone} in a separate process. */
export function operatorsAlone(o: OperatorsAloneOptions): Promise<BaselineResult> {
  return runInChild(import.meta.url, 'measureOperatorsAlone', o);
}
