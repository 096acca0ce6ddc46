/**
 * The partitions this member owns, each with its offset tracker, and the ones just revoked whose
 * records in flight are still flushed (never committed: they are no longer ours).
 */
import { partitionKey, type CommitOffset, type TopicPartition } from '../core/partition.ts';
import { PartitionTracker, type DoneListener } from './offset-tracker.ts';

export class PartitionBook {
  readonly #live = new Map<string, PartitionTracker>();
  readonly #revoked = new Set<PartitionTracker>();
  readonly #onDone: DoneListener;
  #last: PartitionTracker | undefined;
  /** Per-topic records and bytes read since the last `takeCounts`. */
  readonly #counts = new Map<string, { records: number; bytes: number }>();

  constructor(onDone: DoneListener) {
    this.#onDone = onDone;
  }

  /** The live tracker of a partition (fast path: records come in runs of one partition). */
  tracker(topic: string, partition: number): PartitionTracker | undefined {
    const last = this.#last;
    if (last !== undefined && last.partition === partition && last.topic === topic && last.live) return last;
    const found = this.#live.get(partitionKey(topic, partition));
    if (found !== undefined) this.#last = found;
    return found;
  }

  assign(partitions: readonly TopicPartition[]): void {
    for (const { topic, partition } of partitions) {
      const key = partitionKey(topic, partition);
      if (!this.#live.has(key)) this.#live.set(key, new PartitionTracker(topic, partition, this.#onDone));
    }
  }

  /** Moves partitions out of the live set: their records still complete, but they no longer commit. */
  revoke(partitions: readonly TopicPartition[]): void {
    for (const { topic, partition } of partitions) {
      const key = partitionKey(topic, partition);
      const tracker = this.#live.get(key);
      if (tracker === undefined) continue;
      this.#live.delete(key);
      tracker.live = false;
      this.#revoked.add(tracker);
    }
    this.#last = undefined;
  }

  /** Revoked partitions whose last checkpoint (flush) is pending. */
  get revokedPending(): readonly PartitionTracker[] {
    return [...this.#revoked];
  }

  /** Forgets revoked partitions after their last checkpoint. */
  dropRevoked(trackers: readonly PartitionTracker[]): void {
    for (const tracker of trackers) {
      this.#count(tracker);
      this.#revoked.delete(tracker);
    }
  }

  live(): IterableIterator<PartitionTracker> {
    return this.#live.values();
  }

  /**
   * Every live partition whose commit point moved past its last commit. A revoked partition's new
   * owner may have committed further already: its late commit could move the group's offset back.
   */
  commitOffsets(): { offsets: CommitOffset[]; trackers: PartitionTracker[] } {
    const offsets: CommitOffset[] = [];
    const trackers: PartitionTracker[] = [];
    for (const tracker of this.#live.values()) {
      const point = tracker.commitPoint();
      if (point === undefined || point <= tracker.committed) continue;
      offsets.push({ topic: tracker.topic, partition: tracker.partition, offset: point, leaderEpoch: tracker.leaderEpoch });
      trackers.push(tracker);
    }
    return { offsets, trackers };
  }

  /** Records read and not covered by a commit, summed over live partitions. */
  commitLag(): number {
    let lag = 0;
    for (const tracker of this.#live.values()) lag += tracker.commitLag();
    return lag;
  }

  #count(tracker: PartitionTracker): void {
    if (tracker.readRecords === 0) return;
    let counts = this.#counts.get(tracker.topic);
    if (counts === undefined) this.#counts.set(tracker.topic, (counts = { records: 0, bytes: 0 }));
    counts.records += tracker.readRecords;
    counts.bytes += tracker.readBytes;
    tracker.readRecords = 0;
    tracker.readBytes = 0;
  }

  /** Records and bytes read per topic since the last call. */
  takeCounts(): Map<string, { records: number; bytes: number }> {
    for (const tracker of this.#live.values()) this.#count(tracker);
    for (const tracker of this.#revoked) this.#count(tracker);
    const result = new Map(this.#counts);
    this.#counts.clear();
    return result;
  }
}
