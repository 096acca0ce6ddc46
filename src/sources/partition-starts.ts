/**
 * Where a partition newly assigned to this member starts reading, enforced record by record.
 *
 * A member that loses a partition drops what it holds of it and not yet durable (the Parquet sink's
 * open files: uploading them could race the new owner's listing of S3), so the partition's next
 * owner, this member included, must read it again from the last commit. @platformatic/kafka restarts
 * a partition from its committed offset after a join, but keeps its own position for a partition
 * with no commit, and a fetch requested under an earlier assignment can still deliver records, and
 * move the position, after the join. So for every fresh ownership the source asks the group for the
 * committed offset (the target), rewinds the client there, and takes the partition's records only
 * from the target on:
 * - before the target is known, records are skipped (the rewind covers them);
 * - records below the target are skipped (committed: done);
 * - the record at the target is taken, and everything after it;
 * - a record past the target makes the source rewind again, unless it is the lowest such record
 *   and was seen before (the offsets between are missing: transaction markers, compaction, retention).
 */
import type { TopicPartition } from '../core/partition.ts';

/** What to do with a record of a freshly assigned partition. */
export type StartDecision = 'take' | 'skip' | 'rewind';

interface Start {
  /** The offset to read from, once known. */
  target: number | undefined;
  /** The lowest offset skipped while the target was unknown. */
  lowestSkipped: number | undefined;
  /** The lowest offset past the target seen, and whether it came more than once. */
  lowestPast: number | undefined;
}

export class PartitionStarts {
  readonly #starts = new Map<string, Start>();

  get size(): number {
    return this.#starts.size;
  }

  /** A fresh ownership of `key`: its records wait for `resolve`. */
  begin(key: string): void {
    this.#starts.set(key, { target: undefined, lowestSkipped: undefined, lowestPast: undefined });
  }

  /** The partition is no longer this member's. */
  end(key: string): void {
    this.#starts.delete(key);
  }

  /** Whether `key` still waits for its target. */
  unresolved(key: string): boolean {
    return this.#starts.get(key)?.target === undefined && this.#starts.has(key);
  }

  /**
   * Sets the target from the group's committed offset (-1: none) or, without one, the log start when
   * reading from the beginning (`earliest`), else the lowest record skipped so far. Returns the offset
   * to rewind the client to, or `undefined` when any record may be taken (nothing to go back to).
   */
  resolve(key: string, committed: number, earliest: number | undefined): number | undefined {
    const start = this.#starts.get(key);
    if (start === undefined || start.target !== undefined) return undefined;
    const target = committed >= 0 ? committed : (earliest ?? start.lowestSkipped);
    if (target === undefined) {
      this.#starts.delete(key);
      return undefined;
    }
    start.target = target;
    return target;
  }

  /** The decision for a record of `key` at `offset`; `rewind` means: rewind to `target(key)`, skip the record. */
  decide(key: string, offset: number): StartDecision {
    const start = this.#starts.get(key);
    if (start === undefined) return 'take';
    const { target } = start;
    if (target === undefined) {
      if (start.lowestSkipped === undefined || offset < start.lowestSkipped) start.lowestSkipped = offset;
      return 'skip';
    }
    if (offset < target) return 'skip';
    if (offset === target || offset === start.lowestPast) {
      this.#starts.delete(key);
      return 'take';
    }
    if (start.lowestPast === undefined || offset < start.lowestPast) start.lowestPast = offset;
    return 'rewind';
  }

  target(key: string): number | undefined {
    return this.#starts.get(key)?.target;
  }
}

/** `partitions` grouped by topic, in the shape group requests take. */
export function byTopic(partitions: readonly TopicPartition[]): { topic: string; partitions: number[] }[] {
  const topics = new Map<string, number[]>();
  for (const { topic, partition } of partitions) {
    let list = topics.get(topic);
    if (list === undefined) topics.set(topic, (list = []));
    list.push(partition);
  }
  return [...topics].map(([topic, list]) => ({ topic, partitions: list }));
}
