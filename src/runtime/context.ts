/**
 * The types a pipeline sees: its context, the runtime's events and options.
 */
import type { Observable, OperatorFunction } from 'rxjs';
import type { StateBackend } from '../core/state.ts';
import type { DeadLetter, Sink, SinkContext } from '../core/sink.ts';
import type { KafkaProducerOptions } from '../sinks/kafka-producer.ts';
import type { CommitOffset, TopicPartition } from '../core/partition.ts';
import type { KafkaSource, SourceOptions } from '../sources/source.ts';
import type { Batch, Envelope } from '../core/envelope.ts';
import type { InflightLimits } from './inflight.ts';
import type { Logger } from '../core/logger.ts';
import type { Metrics } from '../core/metrics.ts';
import type { BatchingOptions } from './sink-runner.ts';

/** What a pipeline gets besides its input. */
export interface PipelineContext {
  /** Sends a record to the dead-letter topic; takes ownership of its lease. */
  readonly deadLetter: DeadLetter;
  readonly logger: Logger;
  readonly metrics: Metrics;
  /** The context to build sinks with. */
  readonly sinkContext: SinkContext;
  readonly events: Observable<RuntimeEvent>;
  /** Durable state for stateful steps (changelog topics); absent in memory, where state lives and dies with the run. */
  readonly state?: StateBackend;
  /**
   * Ends a branch of batches in a sink: regroups them into the sink's write batches, writes, retries on
   * overload, flushes at checkpoints. The runtime closes the sink when the pipeline is over.
   */
  toSink<T>(sink: Sink<T>, batching?: BatchingOptions): OperatorFunction<Batch<Envelope<T>>, never>;
}

/**
 * The pipeline: from the source's records, in batches (a batch holds records of one partition in
 * offset order), to an observable that completes when its input completes. Envelopes that reach its
 * output, alone or in arrays, are released (their records count as done).
 *
 * ```ts
 * runtime.run((input$, ctx) => input$.pipe(map((batch) => batch.map(decode)), ctx.toSink(sink)));
 * ```
 */
export type Pipeline = (input$: Observable<Batch<Envelope<Buffer | null>>>, ctx: PipelineContext) => Observable<unknown>;

export type RuntimeEvent =
  | { readonly type: 'assigned'; readonly partitions: readonly TopicPartition[] }
  | { readonly type: 'revoked'; readonly partitions: readonly TopicPartition[] }
  /** The member joined the group (first time only), with these partitions, possibly none. */
  | { readonly type: 'joined'; readonly partitions: readonly TopicPartition[] }
  /** The member heard of a rebalance; it may lose any partition until `rebalanced`. */
  | { readonly type: 'rebalancing' }
  /** The member has its next assignment (after `revoked` and `assigned` for what changed). */
  | { readonly type: 'rebalanced' }
  | {
      readonly type: 'paused';
      /** `records`, `bytes`, or the name of a hold (`sink:<id>`, `sink:<id>:overload`). */
      readonly reason: string;
      readonly partitions: readonly TopicPartition[];
      readonly inflightRecords: number;
      readonly inflightBytes: number;
    }
  | { readonly type: 'resumed'; readonly partitions: readonly TopicPartition[] }
  | { readonly type: 'committed'; readonly offsets: readonly CommitOffset[] }
  | { readonly type: 'stopping'; readonly reason: string };

export interface RuntimeOptions {
  readonly source: SourceOptions;
  /** Topic that receives dead letters (must exist). */
  readonly deadLetterTopic: string;
  /** Dead-letter producer settings; the connection defaults to the source's. */
  readonly deadLetterProducer?: Partial<KafkaProducerOptions>;
  readonly limits?: InflightLimits;
  /** Checkpoint period: flush sinks, then commit. Default 5000. */
  readonly commitIntervalMs?: number;
  /**
   * While the in-flight bound holds the source paused, every sink is flushed again this long after
   * the previous checkpoint ended, so that records reaching a file after the first flush do not wait
   * for its rotation. Default 500.
   */
  readonly backpressureFlushMs?: number;
  /** Graceful shutdown budget. Default 25000. */
  readonly shutdownTimeoutMs?: number;
  /** How long a revocation waits for the checkpoint. Default 10000. */
  readonly revocationTimeoutMs?: number;
  /** High watermark poll period for consumer lag. Default 5000. */
  readonly lagIntervalMs?: number;
  /** How often counters and gauges are published to `metrics`. Default 1000. */
  readonly metricsIntervalMs?: number;
  /**
   * How long S3 and DynamoDB may stay unavailable (a sink retrying a write meanwhile, holding the
   * source) before the pipeline fails and the process exits non-zero. Default 300000. Kafka's is the
   * source's `unavailableTimeoutMs`.
   */
  readonly sinkUnavailableTimeoutMs?: number;
  /**
   * The memory the process may use, in bytes: above 85% of it, a memory-reducing collection returns
   * the heap pages V8 pools (see runtime/memory-guard.ts), at most every 10 s. Unset: no guard.
   */
  readonly memoryLimitBytes?: number;
  readonly logger?: Logger;
  readonly metrics?: Metrics;
  /** Replaces the Kafka source (tests, other clients). */
  readonly createSource?: (options: SourceOptions, logger: Logger) => KafkaSource;
}

/** How a shutdown ended. */
export interface ShutdownResult {
  /** True when everything drained, flushed and committed within the deadline. */
  readonly clean: boolean;
  readonly reason: string;
}
