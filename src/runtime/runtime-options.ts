/** Checking runtime options once, and building the default source. */
import { ConfigError } from '../errors.ts';
import { validateConnection } from '../sources/connection.ts';
import { KafkajsSource } from '../sources/kafkajs.ts';
import { PlatformaticSource } from '../sources/platformatic.ts';
import type { KafkaSource, SourceOptions } from '../sources/source.ts';
import type { RuntimeOptions } from './context.ts';
import type { KafkaProducerOptions } from './kafka-producer.ts';
import type { Logger } from './logger.ts';

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
    ...options.deadLetterProducer,
  };
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
  if (!options.deadLetterTopic) problems.push('deadLetterTopic is required');
  for (const key of ['commitIntervalMs', 'shutdownTimeoutMs', 'revocationTimeoutMs', 'lagIntervalMs', 'metricsIntervalMs'] as const) {
    const value = options[key];
    if (value !== undefined && !(value > 0)) problems.push(`${key} must be > 0`);
  }
  if (problems.length > 0) throw new ConfigError(problems);
}
