/**
 * Checkpoints: flush every sink runner, write the stateful steps' changelogs, flush the dead letters,
 * then commit each partition's commit point. Never the other way round: a commit only ever covers
 * records whose leases are released, and steps hold leases until their state is in the changelog.
 */
import type { Subject } from 'rxjs';
import { partitionKey, type CommitOffset } from '../core/partition.ts';
import { type KafkaSource } from '../sources/source.ts';
import type { RuntimeEvent } from './context.ts';
import type { KafkaDeadLetters } from './dead-letters.ts';
import type { Logger } from '../core/logger.ts';
import type { Metrics } from '../core/metrics.ts';
import type { PartitionBook } from './partitions.ts';
import type { SinkRunnerHandle } from './sink-runner.ts';

export interface CheckpointDeps {
  readonly book: PartitionBook;
  readonly source: KafkaSource;
  readonly deadLetters: Pick<KafkaDeadLetters, 'flush'>;
  /** Stateful steps' changelogs: written after the sinks, before the commit. */
  readonly state?: { checkpoint(): Promise<void> };
  /** Told whether commits pass (the runtime's Kafka health). */
  readonly kafka?: { failed(error: unknown): void; succeeded(): void };
  readonly metrics: Metrics;
  readonly logger: Logger;
  readonly events: Subject<RuntimeEvent>;
}

export class Checkpointer {
  readonly #deps: CheckpointDeps;
  readonly #runners = new Set<SinkRunnerHandle>();
  #last: Promise<void> = Promise.resolve();
  #queued: Promise<void> | undefined;
  /** Whether the queued checkpoint is only a periodic one (a full request upgrades it). */
  #queuedPeriodic = true;

  constructor(deps: CheckpointDeps) {
    this.#deps = deps;
  }

  /** Registers a running sink runner; returns the unregistration. */
  register(runner: SinkRunnerHandle): () => void {
    this.#runners.add(runner);
    return () => this.#runners.delete(runner);
  }

  /**
   * Flushes, then commits. Calls made while one runs share the next one. A `periodic` checkpoint
   * (the commit timer) leaves sinks that pace their own durability (`flushOnCheckpoint: false`)
   * unflushed; any other request flushes every sink.
   */
  checkpoint(periodic = false): Promise<void> {
    if (this.#queued) {
      if (!periodic) this.#queuedPeriodic = false;
      return this.#queued;
    }
    this.#queuedPeriodic = periodic;
    const next = this.#last
      .catch(() => {})
      .then(() => {
        this.#queued = undefined;
        return this.#run(this.#queuedPeriodic);
      });
    this.#queued = next;
    this.#last = next;
    return next;
  }

  async #run(periodic: boolean): Promise<void> {
    const { book, deadLetters } = this.#deps;
    const revoked = book.revokedPending;
    try {
      await Promise.all([...this.#runners].map((runner) => runner.flush(periodic)));
      await this.#deps.state?.checkpoint();
      await deadLetters.flush();
      await this.commitDone();
    } finally {
      book.dropRevoked(revoked);
    }
  }

  /**
   * Commits what is done, without flushing (after a failure or past the shutdown deadline). Only
   * partitions this member owns are committed, each under the generation it owns them in; what the
   * source reports as no longer ours (revoked, or fenced by the group) stays uncommitted here, and
   * the partition's owner resumes from the last commit.
   */
  async commitDone(): Promise<void> {
    const { book, source, metrics, logger, events } = this.#deps;
    const { offsets, trackers } = book.commitOffsets();
    if (offsets.length === 0) return;
    let refused: readonly CommitOffset[];
    try {
      refused = await source.commit(offsets);
    } catch (error) {
      // Not committed: the next checkpoint commits these offsets (or later ones) again.
      this.#deps.kafka?.failed(error);
      throw error;
    }
    this.#deps.kafka?.succeeded();
    if (refused.length > 0) logger.debug({ offsets: refused }, 'not committed: the partitions are no longer ours under the generation they were read in');
    const gone = new Set(refused.map((o) => partitionKey(o.topic, o.partition)));
    const committed = offsets.filter((o, i) => {
      if (gone.has(partitionKey(o.topic, o.partition))) return false;
      (trackers[i] as { committed: number }).committed = o.offset;
      return true;
    });
    if (committed.length === 0) return;
    metrics.inc('commits_total');
    logger.debug({ offsets: committed }, 'committed');
    events.next({ type: 'committed', offsets: committed });
  }
}
