/** Between kafkajs's shapes and ours: its logs, record headers and partition lists. */
import kafkajs from 'kafkajs';
import type { IHeaders, LogEntry } from 'kafkajs';
import type { Logger } from '../core/logger.ts';
import { NO_HEADERS, type TopicPartition } from './source.ts';

const { logLevel } = kafkajs;

/** kafkajs's log lines for a broker it cannot reach: one per try, so they make an outage, logged by it. */
const UNREACHABLE = /^(Connection error|Failed to connect to seed broker|Connection timeout|Connection closed)/;

/**
 * Routes kafkajs logs (warn and above) to pino. A broker that cannot be reached is told to
 * `dependency` (which logs the outage once per interval) and logged at debug only: kafkajs logs
 * every failed connection at error level.
 */
export function kafkajsLogCreator(logger: Logger | undefined, dependency?: { failed(error: unknown): void }) {
  return () =>
    ({ level, label, log }: LogEntry) => {
      if (logger === undefined || level > logLevel.WARN) return;
      const { message, ...rest } = log;
      if (dependency !== undefined && UNREACHABLE.test(message)) {
        dependency.failed(new Error(message));
        logger.debug({ kafkajs: label, ...rest }, message);
      } else if (level <= logLevel.ERROR) logger.error({ kafkajs: label, ...rest }, message);
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
