/**
 * The Kafka sink: produces each record to a topic with an idempotent producer and acks=all, and
 * releases each lease once the broker has acknowledged it. A record the broker refuses for good
 * (larger than the topic's `max.message.bytes`, say) goes to dead letters; the rest of its batch is
 * written. Network trouble, a broker restarting and leader changes are retried by the producer
 * itself (the one retry layer: the client's, which asks each error whether it can be retried) for
 * up to the Kafka outage timeout, while the write waits and the sink's queue holds the source; past
 * it the write fails with `UnavailableError`.
 *
 * @example
 * ```ts
 * const sink = createKafkaSink({ id: 'alerts-out', brokers, topic: 'fraud-alerts',
 *   key: (e) => e.value.playerId }, ctx.sinkContext);
 * alerts$.pipe(ctx.toSink(sink));
 * ```
 */
import { ConfigError, SinkPermanentError } from '../core/errors.ts';
import type { Envelope } from '../core/envelope.ts';
import { stringifyJson } from '../core/json.ts';
import {
  KafkaProducer,
  sendForSink,
  type KafkaCompression,
  type OutgoingRecord,
  type RecordProducer,
} from './kafka-producer.ts';
import { validateConnection, type KafkaConnectionOptions } from '../sources/connection.ts';
import type { Sink, SinkContext } from '../core/sink.ts';

export interface KafkaSinkOptions<T> extends KafkaConnectionOptions {
  /** The topology step id. */
  readonly id: string;
  /** A fixed topic, or one chosen per record. */
  readonly topic: string | ((envelope: Envelope<T>) => string);
  /** The record key. Default: the source record's key. */
  readonly key?: (envelope: Envelope<T>) => Buffer | string | null;
  /** Headers to write. Default: none. */
  readonly headers?: (envelope: Envelope<T>) => Readonly<Record<string, string>>;
  /** An explicit partition; undefined: by key. Default: by key. */
  readonly partition?: (envelope: Envelope<T>) => number | undefined;
  /** Default `lz4`. */
  readonly compression?: KafkaCompression;
}

/**
 * A Buffer as is, a string as UTF-8, null as a tombstone, anything else as JSON (at any depth).
 * Throws a TypeError for a value JSON cannot encode (a cycle, a BigInt).
 */
export function encodeValue(value: unknown): Buffer | null {
  if (value === null || value === undefined) return null;
  if (Buffer.isBuffer(value)) return value;
  if (typeof value === 'string') return Buffer.from(value);
  const text = stringifyJson(value);
  return text === undefined ? null : Buffer.from(text);
}

const NO_HEADERS: Readonly<Record<string, string>> = Object.freeze({});

export class KafkaSink<T> implements Sink<T> {
  readonly id: string;
  readonly #options: KafkaSinkOptions<T>;
  readonly #context: SinkContext;
  readonly #producer: RecordProducer;
  readonly #unavailableTimeoutMs: number | undefined;

  /** The producer's delivery settings (idempotent, acks, compression). */
  get producerSettings(): RecordProducer['settings'] {
    return this.#producer.settings;
  }

  /** `producer` replaces the default one (tests). */
  constructor(options: KafkaSinkOptions<T>, context: SinkContext, producer?: RecordProducer) {
    validateConnection(options, `sinks/${options.id}`);
    if (!options.topic) throw new ConfigError(`sinks/${options.id}/topic is required`, { stepId: options.id });
    this.id = options.id;
    this.#options = options;
    this.#context = context;
    this.#unavailableTimeoutMs = options.unavailableTimeoutMs;
    const dependency = options.dependency ?? context.health?.dependency('kafka');
    this.#producer =
      producer ??
      new KafkaProducer({
        ...options,
        clientId: options.clientId ?? `tributary-sink-${options.id}`,
        compression: options.compression ?? 'lz4',
        ...(dependency === undefined ? {} : { dependency }),
      });
  }

  #record(envelope: Envelope<T>): OutgoingRecord {
    const { topic, key, headers, partition } = this.#options;
    const chosenKey = key === undefined ? envelope.meta.key : key(envelope);
    const chosenPartition = partition?.(envelope);
    return {
      topic: typeof topic === 'string' ? topic : topic(envelope),
      ...(chosenPartition === undefined ? {} : { partition: chosenPartition }),
      key: typeof chosenKey === 'string' ? Buffer.from(chosenKey) : chosenKey,
      value: encodeValue(envelope.value),
      headers: headers === undefined ? NO_HEADERS : headers(envelope),
    };
  }

  async write(input: readonly Envelope<T>[]): Promise<void> {
    // A record that cannot be encoded (or keyed) goes to dead letters; the rest of the batch is sent.
    const batch: Envelope<T>[] = [];
    const records: OutgoingRecord[] = [];
    for (const envelope of input) {
      try {
        records.push(this.#record(envelope));
        batch.push(envelope);
      } catch (error) {
        const reason = `cannot encode the record: ${error instanceof Error ? error.message : String(error)}`;
        this.#context.deadLetter(envelope, new SinkPermanentError(reason, { cause: error, stepId: this.id, summary: reason }), this.id);
      }
    }
    if (records.length === 0) return;
    const outcomes = await sendForSink(this.#producer, records, this.id, this.#unavailableTimeoutMs);
    let written = 0;
    for (const [i, envelope] of batch.entries()) {
      const outcome = outcomes[i];
      if (outcome === undefined) {
        written += 1;
        envelope.lease.release();
      } else {
        const error = new SinkPermanentError(`broker refused the record: ${outcome.message}`, { cause: outcome, stepId: this.id });
        this.#context.deadLetter(envelope, error, this.id);
      }
    }
    if (written > 0) this.#context.metrics.inc('sink_records_total', { step: this.id }, written);
  }

  /** Nothing is buffered: `write` resolves after the broker acknowledged. */
  async flush(): Promise<void> {}

  async close(): Promise<void> {
    await this.#producer.close();
  }
}

/** Builds a Kafka sink. */
export function createKafkaSink<T>(options: KafkaSinkOptions<T>, context: SinkContext): KafkaSink<T> {
  return new KafkaSink(options, context);
}
