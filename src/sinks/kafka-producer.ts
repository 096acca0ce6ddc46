/**
 * The producer the Kafka sink and the dead-letter writer share: @platformatic/kafka, idempotent,
 * acks=all, with per-record outcomes so one record the broker refuses for good does not sink the
 * rest of its batch. The client retries what may pass later (a broker down or restarting, a leader
 * moving) for up to the connection's `unavailableTimeoutMs`, so a send waits out an outage.
 */
import { findErrorBy, Producer, ProduceAcks, stringSerializer, type CompressionAlgorithmValue } from '@platformatic/kafka';
import { platformaticConnection, type KafkaConnectionOptions } from '../sources/connection.ts';
import { UnavailableError } from '../core/errors.ts';
import { DEFAULT_UNAVAILABLE_TIMEOUT_MS } from '../core/health.ts';

export type KafkaCompression = 'none' | 'gzip' | 'snappy' | 'lz4' | 'zstd';

export interface KafkaProducerOptions extends KafkaConnectionOptions {
  /** Default `lz4`. */
  readonly compression?: KafkaCompression;
  /** Default true (with acks=all, the broker drops retried duplicates). */
  readonly idempotent?: boolean;
}

export interface OutgoingRecord {
  readonly topic: string;
  readonly partition?: number;
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  readonly headers: Readonly<Record<string, string>>;
  readonly timestamp?: number;
}

/** Broker error codes that refuse a record for good: retrying the same bytes cannot succeed. */
export const PERMANENT_RECORD_ERRORS = ['MESSAGE_TOO_LARGE', 'RECORD_LIST_TOO_LARGE', 'INVALID_RECORD', 'CORRUPT_MESSAGE', 'INVALID_TIMESTAMP'];

/** Whether a produce error refuses the records themselves (not the connection or the topic). */
export function isPermanentRecordError(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  return PERMANENT_RECORD_ERRORS.some((id) => findErrorBy(error, 'apiId', id) !== null);
}

/** Whether a produce error may pass if tried later (network, timeout, leader moving). */
export function isRetriableProduceError(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  return (
    findErrorBy(error, 'code', 'PLT_KFK_NETWORK') !== null ||
    findErrorBy(error, 'code', 'PLT_KFK_TIMEOUT') !== null ||
    findErrorBy(error, 'canRetry', true) !== null
  );
}

/**
 * A sink's send: `producer.send`, with a failure the client retried for as long as the outage
 * timeout allows (network, timeout, leader moving) turned into `UnavailableError` for step `stepId`.
 */
export async function sendForSink(producer: RecordSender, records: readonly OutgoingRecord[], stepId: string, unavailableTimeoutMs: number | undefined): Promise<(Error | undefined)[]> {
  try {
    return await producer.send(records);
  } catch (error) {
    if (!isRetriableProduceError(error)) throw error;
    throw new UnavailableError('kafka', unavailableTimeoutMs ?? DEFAULT_UNAVAILABLE_TIMEOUT_MS, { cause: error, stepId });
  }
}

/** What the dead-letter writer and the Kafka sink need from a producer. */
export interface RecordSender {
  send(records: readonly OutgoingRecord[]): Promise<(Error | undefined)[]>;
}

/** A sender that can be closed and reports its delivery settings. */
export interface RecordProducer extends RecordSender {
  readonly settings: { readonly idempotent: boolean; readonly acks: number; readonly compression: KafkaCompression };
  close(): Promise<void>;
}

export class KafkaProducer implements RecordProducer {
  readonly #producer: Producer<Buffer, Buffer, string, string>;
  readonly #dependency: KafkaConnectionOptions['dependency'];
  /** The delivery settings in force (acks -1 = all in-sync replicas). */
  readonly settings: { readonly idempotent: boolean; readonly acks: number; readonly compression: KafkaCompression };

  constructor(options: KafkaProducerOptions) {
    this.settings = { idempotent: options.idempotent ?? true, acks: ProduceAcks.ALL, compression: options.compression ?? 'lz4' };
    this.#dependency = options.dependency;
    this.#producer = new Producer({
      clientId: options.clientId ?? 'tributary-producer',
      ...platformaticConnection(options),
      idempotent: this.settings.idempotent,
      acks: this.settings.acks,
      compression: this.settings.compression as CompressionAlgorithmValue,
      serializers: { headerKey: stringSerializer, headerValue: stringSerializer },
    });
  }

  /**
   * Sends records and waits for the broker's acknowledgement. Resolves with one entry per record:
   * `undefined` when acknowledged, the error when the broker refused that record for good. Rejects
   * when the whole send failed otherwise (network, authorization, unknown topic).
   */
  async send(records: readonly OutgoingRecord[]): Promise<(Error | undefined)[]> {
    if (records.length === 0) return [];
    try {
      await this.#producer.send({
        messages: records.map((r) => ({
          topic: r.topic,
          ...(r.partition === undefined ? {} : { partition: r.partition }),
          ...(r.key === null ? {} : { key: r.key }),
          ...(r.value === null ? {} : { value: r.value }),
          headers: r.headers as Record<string, string>,
          ...(r.timestamp === undefined ? {} : { timestamp: BigInt(r.timestamp) }),
        })),
      });
      this.#dependency?.succeeded();
      return records.map(() => undefined);
    } catch (error) {
      if (!isPermanentRecordError(error)) throw error;
      if (records.length === 1) return [error as Error];
      // Split to find the refused records; the others are sent (possibly again: at-least-once).
      const middle = Math.ceil(records.length / 2);
      const [left, right] = await Promise.all([this.send(records.slice(0, middle)), this.send(records.slice(middle))]);
      return [...left, ...right];
    }
  }

  async close(): Promise<void> {
    await this.#producer.close();
  }
}
