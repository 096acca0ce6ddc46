/** Checking runtime options once, and building the default source. */
import { ConfigError } from '../core/errors.ts';
import { validateConnection } from '../sources/connection.ts';
import { GROUP_INSTANCE_ID } from '../sources/ecs.ts';
import { KafkajsSource } from '../sources/kafkajs.ts';
import { PlatformaticSource } from '../sources/platformatic.ts';
import type { KafkaSource, SourceOptions } from '../sources/source.ts';
import type { RuntimeOptions } from './context.ts';
import type { KafkaProducerOptions } from '../sinks/kafka-producer.ts';
import type { Logger } from '../core/logger.ts';

/** The source for `options.client` (default @platformatic/kafka). */
export function defaultSource(options: SourceOptions, logger: Logger): KafkaSource {
  return options.client === 'kafkajs' ? new KafkajsSource(options, logger) : new PlatformaticSource(options);
}

/** The dead-letter producer's settings: the source's connection unless overridden. */
export function deadLetterProducerOptions(options: RuntimeOptions): KafkaProducerOptions {
  const { source } = options;
  return {
    brokers: source.brokers,
    clientId: `tributary-dlq-${source.groupId}`,
    ...(source.tls === undefined ? {} : { tls: source.tls }),
    ...(source.sasl === undefined ? {} : { sasl: source.sasl }),
    ...(source.unavailableTimeoutMs === undefined ? {} : { unavailableTimeoutMs: source.unavailableTimeoutMs }),
    ...options.deadLetterProducer,
  };
}

function membershipProblems({ client, groupProtocol, groupInstanceId }: SourceOptions): string[] {
  const problems: string[] = [];
  if (groupProtocol !== undefined && groupProtocol !== 'classic' && groupProtocol !== 'consumer') problems.push(`source/groupProtocol must be 'classic' or 'consumer'`);
  if (groupProtocol === 'consumer' && client === 'kafkajs') problems.push(`source/groupProtocol: kafkajs has only the classic protocol; 'consumer' (KIP-848) needs client 'platformatic'`);
  if (groupInstanceId !== undefined && !GROUP_INSTANCE_ID.test(groupInstanceId)) problems.push(`source/groupInstanceId must be 1-249 of a-z A-Z 0-9 . _ -, got ${JSON.stringify(groupInstanceId)}`);
  if (groupInstanceId !== undefined && groupProtocol === 'consumer' && client !== 'kafkajs') {
    // KIP-848 refuses a restarted member its id (UNRELEASED_INSTANCE_ID) until the old session expires.
    problems.push(`source/groupInstanceId: static membership needs the classic protocol; with 'consumer' a restarted member cannot rejoin until its old session expires`);
  }
  return problems;
}

/** Throws a ConfigError naming every problem. */
export function validateRuntimeOptions(options: RuntimeOptions): void {
  validateConnection(options.source, 'source');
  const problems: string[] = [];
  const { source } = options;
  if (!source.groupId) problems.push('source/groupId is required');
  if (!Array.isArray(source.topics) || source.topics.length === 0) problems.push('source/topics must list at least one topic');
  if (source.client !== undefined && source.client !== 'platformatic' && source.client !== 'kafkajs') {
    problems.push(`source/client must be 'platformatic' or 'kafkajs'`);
  }
  problems.push(...membershipProblems(options.source));
  if (!options.deadLetterTopic) problems.push('deadLetterTopic is required');
  for (const key of ['commitIntervalMs', 'backpressureFlushMs', 'shutdownTimeoutMs', 'revocationTimeoutMs', 'lagIntervalMs', 'metricsIntervalMs', 'sinkUnavailableTimeoutMs', 'memoryLimitBytes'] as const) {
    const value = options[key];
    if (value !== undefined && !(value > 0)) problems.push(`${key} must be > 0`);
  }
  if (problems.length > 0) throw new ConfigError(problems);
}
