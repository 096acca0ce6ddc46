/**
 * Dead letters on a Kafka topic: the record's key, original headers and bytes (a decoded value as
 * its JSON), plus `tributary.*` headers saying where it came from and why it failed. The envelope's
 * lease is released only once the broker has acknowledged the dead letter, so the source offset is
 * committed only after it.
 *
 * If the broker refuses the dead letter itself for good (a value over the topic's `max.message.bytes`),
 * it is written again without its value and with `tributary.value.dropped` saying why; the original
 * bytes stay in the source topic at the offset given. Any other failure fails the pipeline (the
 * record is never dropped silently): the producer has retried it already, for as long as the Kafka
 * outage timeout, so the writer adds no retry layer of its own.
 */
import { describeError, type TributaryError } from '../core/errors.ts';
import { stringifyJson } from '../core/json.ts';
import { DEAD_LETTER_HEADERS, type DeadLetter } from '../core/sink.ts';
import type { Envelope } from '../core/envelope.ts';
import type { OutgoingRecord, RecordSender } from '../sinks/kafka-producer.ts';
import { logsRecordContent, type Logger } from '../core/logger.ts';
import type { Metrics } from '../core/metrics.ts';

export { DEAD_LETTER_HEADERS } from '../core/sink.ts';

export interface DeadLetterWriterOptions {
  readonly topic: string;
  readonly producer: RecordSender;
  readonly logger: Logger;
  readonly metrics: Metrics;
  /** Called when a dead letter cannot be written (after the producer's retries): the pipeline must stop. */
  readonly onFatal: (error: Error) => void;
  /**
   * Log lines name a dead letter's topic, partition, offset, step, error code and content-free
   * summary; with `true`, the error message (which may quote the record) too. Default: whether
   * `TRIBUTARY_LOG_RECORD_CONTENT=1`.
   */
  readonly logRecordContent?: boolean;
}

interface Pending {
  readonly envelope: Envelope<unknown>;
  readonly stepId: string;
  /** The error's code: with the step, the labels of `dead_letters_total` (both bounded sets). */
  readonly code: TributaryError['code'];
  readonly record: OutgoingRecord;
}

/**
 * The bytes a dead letter carries: a Buffer as is, a string as UTF-8, anything else as JSON (at any
 * depth). Throws a TypeError for a value JSON cannot encode (a cycle, a BigInt).
 */
export function deadLetterValue(value: unknown): Buffer | null {
  if (value === null || value === undefined) return null;
  if (Buffer.isBuffer(value)) return value;
  if (typeof value === 'string') return Buffer.from(value);
  const text = stringifyJson(value);
  return text === undefined ? null : Buffer.from(text);
}

/**
 * The dead-letter record for an envelope that failed at `stepId` with `error`. Never throws: a value
 * JSON cannot encode is left out, and `tributary.value.dropped` says why.
 */
export function deadLetterRecord(topic: string, envelope: Envelope<unknown>, error: TributaryError, stepId: string): OutgoingRecord {
  const { meta } = envelope;
  let value: Buffer | null;
  let dropped: string | undefined;
  try {
    value = deadLetterValue(envelope.value);
  } catch (failure) {
    value = null;
    dropped = `the value cannot be encoded as JSON: ${failure instanceof Error ? failure.message : String(failure)}`;
  }
  return {
    topic,
    key: meta.key,
    value,
    headers: {
      ...meta.headers,
      [DEAD_LETTER_HEADERS.topic]: meta.topic,
      [DEAD_LETTER_HEADERS.partition]: String(meta.partition),
      [DEAD_LETTER_HEADERS.offset]: String(meta.offset),
      [DEAD_LETTER_HEADERS.step]: stepId,
      [DEAD_LETTER_HEADERS.code]: error.code,
      [DEAD_LETTER_HEADERS.message]: error.message,
      [DEAD_LETTER_HEADERS.error]: JSON.stringify(describeError(error)),
      ...(dropped === undefined ? {} : { [DEAD_LETTER_HEADERS.dropped]: dropped }),
    },
  };
}

export class KafkaDeadLetters {
  readonly #options: DeadLetterWriterOptions;
  #queue: Pending[] = [];
  #scheduled = false;
  #inflight = 0;
  #idle: (() => void)[] = [];
  #failed: Error | undefined;

  /** The `DeadLetter` function handed to sinks and operators. */
  readonly deadLetter: DeadLetter;

  constructor(options: DeadLetterWriterOptions) {
    this.#options = options;
    const content = options.logRecordContent ?? logsRecordContent();
    this.deadLetter = (envelope, error, stepId) => {
      this.#queue.push({ envelope, stepId, code: error.code, record: deadLetterRecord(options.topic, envelope, error, stepId) });
      const { topic, partition, offset } = envelope.meta;
      options.logger.warn(
        {
          step: stepId,
          topic,
          partition,
          offset,
          code: error.code,
          ...(error.summary === undefined ? {} : { reason: error.summary }),
          ...(content ? { err: error.message } : {}),
        },
        'dead letter',
      );
      if (!this.#scheduled) {
        this.#scheduled = true;
        setImmediate(() => this.#send());
      }
    };
  }

  /** Dead letters handed over and not yet acknowledged. */
  get pending(): number {
    return this.#queue.length + this.#inflight;
  }

  /** Resolves when every dead letter handed over so far is acknowledged; rejects if one failed. */
  flush(): Promise<void> {
    if (this.#failed) return Promise.reject(this.#failed);
    if (this.pending === 0) return Promise.resolve();
    return new Promise((resolve, reject) => this.#idle.push(() => (this.#failed ? reject(this.#failed) : resolve())));
  }

  async #send(): Promise<void> {
    this.#scheduled = false;
    const batch = this.#queue;
    if (batch.length === 0) return;
    this.#queue = [];
    this.#inflight += batch.length;
    try {
      await this.#sendBatch(batch);
    } catch (error) {
      this.#failed ??= error as Error;
      this.#options.logger.error({ err: error }, 'dead letters could not be written');
      this.#options.onFatal(error as Error);
    } finally {
      this.#inflight -= batch.length;
      if (this.pending === 0) for (const notify of this.#idle.splice(0)) notify();
    }
  }

  /** Sends the batch; a dead letter refused for its size goes again without its value. */
  async #sendBatch(batch: readonly Pending[]): Promise<void> {
    const { producer, metrics } = this.#options;
    let todo = batch;
    while (todo.length > 0) {
      const outcomes = await producer.send(todo.map((p) => p.record));
      const refused: Pending[] = [];
      for (const [i, p] of todo.entries()) {
        const outcome = outcomes[i];
        if (outcome === undefined) {
          metrics.inc('dead_letters_total', { step: p.stepId, code: p.code });
          p.envelope.lease.release();
        } else if (p.record.value === null) {
          throw new Error(`the broker refused a dead letter even without its value: ${outcome.message}`, { cause: outcome });
        } else refused.push({ ...p, record: withoutValue(p.record, outcome) });
      }
      todo = refused;
    }
  }
}

function withoutValue(record: OutgoingRecord, error: Error): OutgoingRecord {
  const size = record.value?.length ?? 0;
  return {
    ...record,
    value: null,
    headers: { ...record.headers, [DEAD_LETTER_HEADERS.dropped]: `${size} bytes refused by the broker: ${error.message}` },
  };
}
