/**
 * Both sources read lz4-, zstd-, snappy- and gzip-compressed batches. Producers:
 * - @platformatic/kafka: gzip, snappy (raw blocks), lz4 (frame), zstd;
 * - kafkajs with Tributary's codecs: snappy (xerial-framed, as the Java producer writes);
 * - the Java producer (ProducerPerformance, from the local stack's Kafka jars), when Java is present:
 *   snappy and lz4, the formats MSK producers write.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import kafkajs from 'kafkajs';
import { describe, expect, it } from 'vitest';
import type { Envelope } from '../../src/core/envelope.ts';
import { silentLogger } from '../../src/core/logger.ts';
import { createRuntime } from '../../src/runtime/runtime.ts';
import { registerKafkajsCodecs } from '../../src/sources/kafkajs-codecs.ts';
import type { Sink } from '../../src/core/sink.ts';
import { brokers, createTopic, uniqueName } from '../support/stack.ts';
import { eventually, produce } from '../runtime/support.ts';

const PER_TOPIC = 300;
const kafkaLib = join(process.env.TRIBUTARY_CACHE ?? join(homedir(), '.cache', 'tributary'), 'kafka', 'lib');
const hasJava = existsSync(kafkaLib) && spawnSync('java', ['-version']).status === 0;

const values = (codec: string) => Array.from({ length: PER_TOPIC }, (_, i) => JSON.stringify({ codec, i, pad: 'x'.repeat(40 + (i % 20)) }));

interface Fixture {
  readonly topic: string;
  readonly label: string;
  readonly expected: string[];
}

async function producedWithPlatformatic(codec: 'gzip' | 'snappy' | 'lz4' | 'zstd'): Promise<Fixture> {
  const topic = await createTopic({ prefix: `codec-${codec}`, partitions: 1 });
  const expected = values(codec);
  await produce(brokers, topic, expected.map((value) => ({ value })), { compression: codec, batchSize: 100 });
  return { topic, label: `${codec} (@platformatic/kafka)`, expected };
}

async function snappyWithKafkajs(): Promise<Fixture> {
  registerKafkajsCodecs();
  const topic = await createTopic({ prefix: 'codec-snappy-xerial', partitions: 1 });
  const expected = values('snappy-xerial');
  const producer = new kafkajs.Kafka({ clientId: 'codec-test', brokers, logLevel: kafkajs.logLevel.NOTHING }).producer();
  await producer.connect();
  for (let i = 0; i < expected.length; i += 100) {
    await producer.send({ topic, compression: kafkajs.CompressionTypes.Snappy, messages: expected.slice(i, i + 100).map((value) => ({ value })) });
  }
  await producer.disconnect();
  return { topic, label: 'snappy xerial (kafkajs + Tributary codec)', expected };
}

async function producedWithJava(codec: 'snappy' | 'lz4'): Promise<Fixture> {
  const topic = await createTopic({ prefix: `codec-java-${codec}`, partitions: 1 });
  const run = spawnSync(
    'java',
    ['-Xmx256m', '-cp', `${kafkaLib}/*`, 'org.apache.kafka.tools.ProducerPerformance', '--topic', topic, '--num-records', String(PER_TOPIC),
      '--throughput', '-1', '--payload-monotonic', '--producer-props', `bootstrap.servers=${brokers[0]}`, `compression.type=${codec}`,
      'linger.ms=20', 'batch.size=65536'],
    { encoding: 'utf8', timeout: 120_000 },
  );
  if (run.status !== 0) throw new Error(`ProducerPerformance failed: ${run.stderr}`);
  return { topic, label: `${codec} (Java producer)`, expected: Array.from({ length: PER_TOPIC }, (_, i) => String(i)) };
}

describe('compressed batches', () => {
  it('are read by both sources, whatever the codec and the producer', async () => {
    const fixtures = [
      ...(await Promise.all((['gzip', 'snappy', 'lz4', 'zstd'] as const).map((codec) => producedWithPlatformatic(codec)))),
      await snappyWithKafkajs(),
      ...(hasJava ? [await producedWithJava('snappy'), await producedWithJava('lz4')] : []),
    ];
    const dlq = await createTopic({ prefix: 'codec-dlq', partitions: 1 });
    for (const client of ['platformatic', 'kafkajs'] as const) {
      const received = new Map<string, string[]>();
      const sink: Sink<Buffer | null> = {
        id: 'collect',
        async write(batch: readonly Envelope<Buffer | null>[]) {
          for (const envelope of batch) {
            const list = received.get(envelope.meta.topic) ?? [];
            list.push(String(envelope.value));
            received.set(envelope.meta.topic, list);
            envelope.lease.release();
          }
        },
        async flush() {},
        async close() {},
      };
      const runtime = createRuntime({
        source: { client, brokers, groupId: uniqueName(`codecs-${client}`), topics: fixtures.map((f) => f.topic), fromBeginning: true },
        deadLetterTopic: dlq,
        logger: silentLogger,
      });
      const done = runtime.run((input$, ctx) => input$.pipe(ctx.toSink(sink, { lingerMs: 10 })));
      const total = fixtures.length * PER_TOPIC;
      await eventually(() => [...received.values()].reduce((n, list) => n + list.length, 0) >= total, 120_000);
      await runtime.shutdown();
      await done;
      for (const fixture of fixtures) {
        expect({ client, codec: fixture.label, values: received.get(fixture.topic) }).toEqual({ client, codec: fixture.label, values: fixture.expected });
      }
    }
    expect(fixtures).toHaveLength(hasJava ? 7 : 5);
  });
});
