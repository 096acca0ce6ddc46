/**
 * The contract between stateful steps (windows, dedup, fraud patterns) and the runtime that makes
 * their state durable. State is kept per input partition and written to a compacted changelog topic
 * partitioned like the input: changelog partition `p` holds the state of input partition `p`.
 *
 * A checkpoint first flushes the sinks, then takes every registered step's snapshot (synchronously,
 * so it describes one point in the stream), writes it, calls `durable`, and only then commits the
 * source offsets. A step holds the leases of the records whose effect is in its state until
 * `durable`: the committed offset never passes a record whose state change is not in the changelog.
 */

/** One changelog record: `key` within changelog partition `partition`; a null value removes it. */
export interface ChangelogEntry {
  readonly partition: number;
  readonly key: string;
  readonly value: Buffer | null;
}

/** What a checkpoint takes from a stateful step. */
export interface StateSnapshot {
  readonly entries: readonly ChangelogEntry[];
  /** The entries are durable: release the leases held for them. */
  readonly durable: () => void;
}

export interface StatefulStep {
  /** Captures, synchronously, the state changed since the last snapshot. */
  snapshot(): StateSnapshot;
}

/** One step's changelog topic. */
export interface Changelog {
  readonly topic: string;
  /**
   * The value of every key of one changelog partition: the latest one (compaction semantics: null
   * removes), or the one `choose` prefers among the versions still in the log.
   */
  restore(partition: number, choose?: (previous: Buffer, next: Buffer) => Buffer): Promise<Map<string, Buffer>>;
  /** Writes entries at once and resolves when they are durable (write-through state: dedup claims). */
  write(entries: readonly ChangelogEntry[]): Promise<void>;
  /** Makes every checkpoint take the step's snapshot before it commits; returns the unregistration. */
  register(step: StatefulStep): () => void;
}

/** Gives each stateful step its changelog. */
export interface StateBackend {
  changelog(stepId: string): Changelog;
}

/** The changelog topic of a step in a consumer group. */
export function changelogTopic(groupId: string, stepId: string): string {
  return `${groupId}-${stepId}-changelog`;
}

/** The repartition topic feeding a step keyed differently from its input. */
export function repartitionTopic(groupId: string, stepId: string): string {
  return `${groupId}-${stepId}-repartition`;
}

/** Header a repartitioned record carries: where it was read before (`topic:partition:offset`). */
export const ORIGIN_HEADER = 'tributary.origin';
/** Header a repartitioned record carries: its event time in epoch ms. */
export const EVENT_TIME_HEADER = 'tributary.event-time';
/**
 * Header of a watermark marker in a repartition topic: `topic:partition:eventTimeMs`, the newest
 * event time written so far from that upstream partition. Markers go to every partition of the topic
 * (as Flink broadcasts watermarks across a shuffle), so each reader knows every upstream partition's
 * progress, including those that send it no records.
 */
export const WATERMARK_HEADER = 'tributary.watermark';
