/**
 * The kafkajs ceiling: a bare kafkajs consumer (`eachBatch`, the fastest of its two loops) that reads
 * the topics and discards every record, or `JSON.parse`s each value (the "consumer + parse" variant,
 * the ceiling Tributary's kafkajs source is compared with). Codecs registered as Tributary does.
 */
import kafkajs from 'kafkajs';
import { localStack } from '../../src/config.ts';
import { registerKafkajsCodecs } from '../../src/sources/kafkajs-codecs.ts';
import { countRecords, deleteGroup, result, runInChild, uniqueId, type BaselineResult } from './common.ts';

export interface BareKafkajsOptions {
  topics: string[];
  brokers?: string[];
  /** Records to read; default: all the topics hold when the run starts. */
  expected?: number;
  /** Also `JSON.parse` each value. */
  parse?: boolean;
}

/** Reads the topics from the start in this process and measures records per second. */
export async function measureBareKafkajs(options: BareKafkajsOptions): Promise<BaselineResult> {
  registerKafkajsCodecs();
  const brokers = options.brokers ?? [...localStack().connections.brokers];
  const expected = options.expected ?? (await countRecords(brokers, options.topics));
  const groupId = uniqueId('bench-bare-kafkajs');
  const kafka = new kafkajs.Kafka({ clientId: groupId, brokers, logLevel: kafkajs.logLevel.NOTHING });
  const consumer = kafka.consumer({ groupId, maxWaitTimeInMs: 500 });
  const startedMs = performance.now();
  let firstMs = 0;
  let count = 0;
  let parsed = 0;
  try {
    await consumer.connect();
    await consumer.subscribe({ topics: options.topics, fromBeginning: true });
    const endMs = await new Promise<number>((resolve, reject) => {
      consumer
        .run({
          autoCommit: false,
          eachBatch: async ({ batch }) => {
            if (count === 0) firstMs = performance.now();
            if (options.parse === true) {
              for (const message of batch.messages) {
                if (message.value === null) continue;
                try {
                  JSON.parse(message.value.toString('utf8'));
                  parsed++;
                } catch {
                  // malformed records are counted, not parsed
                }
              }
            }
            count += batch.messages.length;
            if (count >= expected) resolve(performance.now());
          },
        })
        .catch(reject);
    });
    return result(options.parse === true ? 'kafkajs-consumer+parse' : 'kafkajs-consumer', count, { startedMs, firstMs, endMs }, options.parse === true ? { parsed } : undefined);
  } finally {
    await consumer.disconnect().catch(() => {});
    await deleteGroup(brokers, groupId);
  }
}

/** {@link measureBareKafkajs} in a separate process. */
export function bareKafkajs(options: BareKafkajsOptions): Promise<BaselineResult> {
  return runInChild(import.meta.url, 'measureBareKafkajs', options);
}
