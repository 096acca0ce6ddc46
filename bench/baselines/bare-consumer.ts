/**
 * The ceiling: a bare @platformatic/kafka consumer that reads the topics and discards every record.
 * Tuned as in STACK.md: `highWaterMark` 8192 and `maxBytesPerPartition` 4 MiB.
 */
import { Consumer } from '@platformatic/kafka';
import { localStack } from '../../src/config.ts';
import { countRecords, deleteGroup, result, runInChild, uniqueId, type BaselineResult } from './common.ts';

export interface BareConsumerOptions {
  topics: string[];
  brokers?: string[];
  /** Records to read; default: all the topics hold when the run starts. */
  expected?: number;
  highWaterMark?: number;
  maxBytesPerPartition?: number;
  /** Also `JSON.parse` each value (the "consumer + parse" variant). */
  parse?: boolean;
}

/** Reads the topics from the start in this process and measures records per second. */
export async function measureBareConsumer(options: BareConsumerOptions): Promise<BaselineResult> {
  const brokers = options.brokers ?? [...localStack().connections.brokers];
  const expected = options.expected ?? (await countRecords(brokers, options.topics));
  const maxBytesPerPartition = options.maxBytesPerPartition ?? 4 * 1024 * 1024;
  const groupId = uniqueId('bench-bare');
  const consumer = new Consumer({
    groupId,
    clientId: uniqueId('bench-bare'),
    bootstrapBrokers: brokers,
    highWaterMark: options.highWaterMark ?? 8192,
    maxBytesPerPartition,
    maxBytes: Math.max(maxBytesPerPartition * 4, 16 * 1024 * 1024),
    autocommit: false,
  });
  const startedMs = performance.now();
  let firstMs = 0;
  let count = 0;
  let parsed = 0;
  try {
    const stream = await consumer.consume({ topics: options.topics, mode: 'earliest' });
    const endMs = await new Promise<number>((resolve, reject) => {
      stream.on('error', reject);
      stream.on('data', (message: { value: Buffer | undefined }) => {
        if (count === 0) firstMs = performance.now();
        count++;
        if (options.parse === true && message.value !== undefined) {
          try {
            JSON.parse(message.value.toString('utf8'));
            parsed++;
          } catch {
            // malformed records are counted, not parsed
          }
        }
        if (count === expected) resolve(performance.now());
      });
    });
    await stream.close();
    return result(options.parse === true ? 'platformatic-consumer+parse' : 'platformatic-consumer', count, { startedMs, firstMs, endMs }, {
      highWaterMark: options.highWaterMark ?? 8192,
      maxBytesPerPartition,
      ...(options.parse === true ? { parsed } : {}),
    });
  } finally {
    await consumer.close(true);
    await deleteGroup(brokers, groupId);
  }
}

/** {@link measureBareConsumer} in a separate process. */
export function bareConsumer(options: BareConsumerOptions): Promise<BaselineResult> {
  return runInChild(import.meta.url, 'measureBareConsumer', options);
}
