import type { TributaryError } from './errors.ts';
import type { Envelope } from './envelope.ts';
import type { Health } from './health.ts';
import type { Logger } from './logger.ts';
import type { Metrics } from './metrics.ts';

/**
 * The one interface every sink implements (DynamoDB, S3 Parquet, Kafka).
 *
 * Acknowledgement is by lease (see `core/envelope.ts`): a sink releases an envelope's lease only
 * once that record is durable in the target, or after handing it to `deadLetter`. The runtime commits
 * a partition's offset only past records whose leases are all released, so a sink that acknowledges
 * early loses data on a crash, and one that never acknowledges stalls commits (and, through the
 * in-flight bound, the source).
 */
export interface Sink<T = unknown> {
  /** The topology step id, used in logs, metrics and dead-letter headers. */
  readonly id: string;
  /**
   * Takes a batch. Resolves once the sink has accepted it (written, or buffered within its bounds).
   * Rejects with `SinkOverloadError` (carrying `retryAfterMs`) to make the runtime wait and retry the
   * same batch; a rejection with any other error is treated as a failure of the whole pipeline.
   * Records the target refuses for good go to `context.deadLetter` and the rest of the batch goes on.
   */
  write(batch: readonly Envelope<T>[]): Promise<void>;
  /** Makes everything accepted so far durable (and so releases its leases). */
  flush(): Promise<void>;
  /** Flushes, then frees clients and timers. */
  close(): Promise<void>;
  /**
   * The member heard of a rebalance (before it rejoins): until `rebalanceEnded`, it may lose any
   * partition to another member. A sink whose writes a new owner could not see (S3 objects, listed
   * once by that owner) holds them until then.
   */
  rebalanceStarted?(): void;
  /** The member has its next assignment; `partitionsRevoked` was called for what it lost. */
  rebalanceEnded?(): void;
  /** Partitions assigned to this member (again): the counterpart of `partitionsRevoked`. */
  partitionsAssigned?(partitions: readonly { topic: string; partition: number }[]): void;
  /**
   * Partitions revoked from this member. The member never commits them again (their new owner
   * resumes from the last commit), so a sink may drop what it holds of them, and must forget what
   * it caches of their output (the Parquet sink's durable offsets): another member writes it now.
   */
  partitionsRevoked?(partitions: readonly { topic: string; partition: number }[]): void;
}

/** Takes ownership of the envelope's lease; releases it once the dead letter is durable. */
export type DeadLetter = (envelope: Envelope<unknown>, error: TributaryError, stepId: string) => void;

/** The headers a dead letter carries: where its record came from and why it failed (written by `runtime/dead-letters.ts`, read by the error archive and `redrive`). */
export const DEAD_LETTER_HEADERS = {
  topic: 'tributary.source.topic',
  partition: 'tributary.source.partition',
  offset: 'tributary.source.offset',
  step: 'tributary.step',
  code: 'tributary.error.code',
  message: 'tributary.error.message',
  error: 'tributary.error',
  dropped: 'tributary.value.dropped',
} as const;

/** What the runtime gives each sink when it builds it. */
export interface SinkContext {
  readonly deadLetter: DeadLetter;
  readonly logger: Logger;
  readonly metrics: Metrics;
  /**
   * The process's dependencies (`s3`, `dynamodb`, `kafka`): a sink reports its service's failures
   * and successes there, which decides readiness, logs outages and bounds retries. Absent, a sink
   * keeps its own.
   */
  readonly health?: Health;
}
