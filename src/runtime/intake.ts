/**
 * Where records enter: the source's handlers. Each record counts against the in-flight bound; the
 * records a fetch delivers at once enter the pipeline as one batch per partition (at the end of the
 * delivery, on a microtask), and the records of such a batch share one lease from their partition's
 * tracker (a reference each). Assignment, revocation and
 * the gate's pause and resume are applied to the source and published as events, after the records
 * delivered before them.
 */
import type { Subject } from 'rxjs';
import type { TopicPartition } from '../core/partition.ts';
import type { KafkaSource, SourceHandlers } from '../sources/source.ts';
import type { RuntimeEvent } from './context.ts';
import type { Batch, Envelope, RecordMeta } from '../core/envelope.ts';
import type { RangeLease } from './offset-tracker.ts';
import type { InflightGate } from './inflight.ts';
import type { Logger } from '../core/logger.ts';
import type { Metrics } from '../core/metrics.ts';
import type { PartitionBook } from './partitions.ts';
import { withTimeout } from './timeouts.ts';

export interface IntakeDeps {
  readonly source: KafkaSource;
  readonly book: PartitionBook;
  readonly gate: () => InflightGate;
  readonly input: Subject<Batch<Envelope<Buffer | null>>>;
  readonly events: Subject<RuntimeEvent>;
  readonly metrics: Metrics;
  readonly logger: Logger;
  /** `periodic`: sinks that pace their own durability are not flushed (see `Checkpointer.checkpoint`). */
  readonly checkpoint: (periodic?: boolean) => Promise<void>;
  readonly revocationTimeoutMs: number;
  /** Whether the pipeline runs normally (not draining, stopped or failed). */
  readonly running: () => boolean;
  readonly onError: (error: Error) => void;
}

export class Intake implements SourceHandlers {
  readonly #deps: IntakeDeps;
  #closed = false;
  #joined = false;
  /** Records taken and not yet handed to the pipeline, by partition tracker (their leases are the tracker's). */
  readonly #pending = new Map<object, Envelope<Buffer | null>[]>();
  #flushQueued = false;
  readonly #flushSoon = () => {
    this.#flushQueued = false;
    this.flush();
  };

  constructor(deps: IntakeDeps) {
    this.#deps = deps;
  }

  /** Set once the pipeline's input completes: later records are not taken (they are read again). */
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Takes no more records. `handOver`: what was taken goes to the pipeline first (a drain); without
   * it, it is dropped (a failure: their leases stay held, so no commit passes them).
   */
  close(handOver = true): void {
    if (handOver) this.flush();
    else this.#pending.clear();
    this.#closed = true;
  }

  /** Hands the records taken so far to the pipeline, a batch per partition. */
  flush(): void {
    if (this.#pending.size === 0) return;
    const batches = [...this.#pending.values()];
    this.#pending.clear();
    for (const batch of batches) this.#deps.input.next(batch);
  }

  onRecord(meta: RecordMeta, value: Buffer | null, leaderEpoch: number): void {
    if (this.#closed) return;
    const tracker = this.#deps.book.tracker(meta.topic, meta.partition);
    if (tracker === undefined) return;
    const bytes = value === null ? 0 : value.length;
    const batch = this.#pending.get(tracker);
    // The batch being gathered extends the lease of its latest record.
    const lease = tracker.read(meta.offset, bytes, leaderEpoch, batch?.at(-1)?.lease as RangeLease | undefined);
    if (lease === undefined) return;
    this.#deps.gate().add(bytes);
    if (batch === undefined) this.#pending.set(tracker, [{ value, meta, lease }]);
    else batch.push({ value, meta, lease });
    if (!this.#flushQueued) {
      this.#flushQueued = true;
      queueMicrotask(this.#flushSoon);
    }
  }

  onAssigned(partitions: readonly TopicPartition[]): void {
    this.flush();
    const { book, gate, logger, events } = this.#deps;
    book.assign(partitions);
    if (gate().closed) this.#pause(partitions);
    logger.info({ partitions }, 'partitions assigned');
    events.next({ type: 'assigned', partitions });
  }

  onJoined(partitions: readonly TopicPartition[]): void {
    this.flush();
    this.#deps.events.next({ type: 'rebalanced' });
    if (this.#joined) return;
    this.#joined = true;
    this.#deps.logger.info({ partitions: partitions.length }, 'joined the group');
    this.#deps.events.next({ type: 'joined', partitions });
  }

  async onRevoking(partitions: readonly TopicPartition[]): Promise<void> {
    this.flush();
    const { running, logger, checkpoint, revocationTimeoutMs, events } = this.#deps;
    // Sinks hold their uploads even while the runtime stops: its flush may still be running.
    events.next({ type: 'rebalancing' });
    if (!running()) return;
    logger.info({ partitions }, 'rebalance: checkpoint before the partitions go');
    // Files are not cut for a rebalance: a revoked partition's open files are dropped (see
    // `Lease.revoked`), and an upload racing its new owner's listing of S3 would duplicate rows.
    await withTimeout(checkpoint(true), revocationTimeoutMs, 'revocation checkpoint').catch((error: unknown) =>
      logger.warn({ err: error }, 'revocation checkpoint did not finish'),
    );
  }

  onRevoked(partitions: readonly TopicPartition[]): void {
    this.flush();
    const { book, logger, events, running, checkpoint } = this.#deps;
    book.revoke(partitions);
    logger.info({ partitions }, 'partitions revoked');
    events.next({ type: 'revoked', partitions });
    if (running()) checkpoint(true).catch((error: unknown) => logger.warn({ err: error }, 'checkpoint after revocation failed'));
  }

  onError(error: Error): void {
    this.#deps.onError(error);
  }

  #pause(partitions: readonly TopicPartition[]): void {
    const { source, metrics } = this.#deps;
    source.pause(partitions);
    metrics.set('paused_partitions', {}, source.assigned().length);
  }

  /** The gate closed: pause every assigned partition. */
  pauseAll(reason: string): void {
    const { source, gate, metrics, logger, events } = this.#deps;
    const partitions = source.assigned();
    const { records, bytes } = gate();
    this.#pause(partitions);
    metrics.inc('pauses_total');
    logger.info({ reason, records, bytes }, 'source paused');
    events.next({ type: 'paused', reason, partitions, inflightRecords: records, inflightBytes: bytes });
  }

  /** The gate opened: resume every assigned partition (unless the input is closed). */
  resumeAll(): void {
    if (this.#closed) return;
    const { source, gate, metrics, logger, events } = this.#deps;
    const partitions = source.assigned();
    source.resume(partitions);
    metrics.set('paused_partitions', {}, 0);
    logger.info({ records: gate().records, bytes: gate().bytes }, 'source resumed');
    events.next({ type: 'resumed', partitions });
  }
}
