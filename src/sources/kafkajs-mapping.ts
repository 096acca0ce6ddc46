/** Between kafkajs's shapes and ours: its logs, record headers and partition lists. */
import kafkajs from 'kafkajs';
import type { IHeaders, LogEntry } from 'kafkajs';
import type { Logger } from '../core/logger.ts';
import { NO_HEADERS, type TopicPartition } from './source.ts';

const { logLevel } = kafkajs;

/** Routes kafkajs logs (warn and above) to pino. */
export function kafkajsLogCreator(logger: Logger | undefined) {
  return () =>
    ({ level, label, log }: LogEntry) => {
      if (logger === undefined || level > logLevel.WARN) return;
      const { message, ...rest } = log;
      if (level <= logLevel.ERROR) logger.error({ kafkajs: label, ...rest }, message);
      else logger.warn({ kafkajs: label, ...rest }, message);
    };
}

export function headersOf(headers: IHeaders | undefined): Readonly<Record<string, string>> {
  if (headers === undefined) return NO_HEADERS;
  const keys = Object.keys(headers);
  if (keys.length === 0) return NO_HEADERS;
  const result: Record<string, string> = {};
  for (const key of keys) {
    const value = headers[key];
    if (value === undefined) continue;
    const last = Array.isArray(value) ? value[value.length - 1] : value;
    if (last !== undefined) result[key] = last.toString();
  }
  return result;
}

export function byTopic(partitions: readonly TopicPartition[]): { topic: string; partitions: number[] }[] {
  const grouped = new Map<string, number[]>();
  for (const { topic, partition } of partitions) {
    let list = grouped.get(topic);
    if (list === undefined) grouped.set(topic, (list = []));
    list.push(partition);
  }
  return [...grouped].map(([topic, list]) => ({ topic, partitions: list }));
}
