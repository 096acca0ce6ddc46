/**
 * `JSON.parse` of the same events in a loop, in memory: what parsing alone costs, with no Kafka.
 * The values are Buffers, as a consumer hands them over, so each is decoded then parsed.
 */
import { Consumer } from '@platformatic/kafka';
import { localStack } from '../../src/config.ts';
import type { LogicalTopic } from '../generator/events.ts';
import { generate } from '../generator/generate.ts';
import type { GeneratorInput } from '../generator/options.ts';
import { countRecords, deleteGroup, result, runInChild, uniqueId, type BaselineResult } from './common.ts';

export interface JsonParseOptions {
  /** Regenerate the values (same seed and options give the same bytes as the produced topic)... */
  generator?: GeneratorInput & { topics?: LogicalTopic[] };
  /** ...or read them from Kafka into memory first (the read is not timed). */
  kafka?: { topics: string[]; brokers?: string[] };
  /** Passes over the values (the rate is over all passes). Default 3. */
  passes?: number;
}

async function loadFromKafka(topics: string[], brokers: string[]): Promise<Buffer[]> {
  const expected = await countRecords(brokers, topics);
  const groupId = uniqueId('bench-load');
  const consumer = new Consumer({ groupId, clientId: uniqueId('bench-load'), bootstrapBrokers: brokers, autocommit: false, highWaterMark: 8192 });
  const values: Buffer[] = [];
  try {
    const stream = await consumer.consume({ topics, mode: 'earliest' });
    await new Promise<void>((resolve, reject) => {
      stream.on('error', reject);
      stream.on('data', (message: { value: Buffer | undefined }) => {
        values.push(message.value ?? Buffer.alloc(0));
        if (values.length === expected) resolve();
      });
    });
    await stream.close();
  } finally {
    await consumer.close(true);
    await deleteGroup(brokers, groupId);
  }
  return values;
}

function loadFromGenerator(input: GeneratorInput & { topics?: LogicalTopic[] }): Buffer[] {
  const wanted = input.topics === undefined ? undefined : new Set(input.topics);
  const values: Buffer[] = [];
  const it = generate(input);
  for (let step = it.next(); step.done !== true; step = it.next()) {
    if (wanted === undefined || wanted.has(step.value.topic)) values.push(Buffer.from(step.value.value));
  }
  return values;
}

/** Parses every value `passes` times in this process and measures values per second. */
export async function measureJsonParse(options: JsonParseOptions): Promise<BaselineResult> {
  const startedMs = performance.now();
  const values = options.kafka !== undefined
    ? await loadFromKafka(options.kafka.topics, options.kafka.brokers ?? [...localStack().connections.brokers])
    : loadFromGenerator(options.generator ?? {});
  const passes = options.passes ?? 3;
  let parsed = 0;
  let failed = 0;
  const firstMs = performance.now();
  for (let pass = 0; pass < passes; pass++) {
    for (const value of values) {
      try {
        const event = JSON.parse(value.toString('utf8')) as { event_id?: unknown };
        if (event.event_id !== undefined) parsed++;
      } catch {
        failed++;
      }
    }
  }
  const endMs = performance.now();
  return result('JSON.parse loop', values.length * passes, { startedMs, firstMs, endMs }, { values: values.length, passes, parsed, failed });
}

/** {@link measureJsonParse} in a separate process. */
export function jsonParse(options: JsonParseOptions): Promise<BaselineResult> {
  return runInChild(import.meta.url, 'measureJsonParse', options);
}
