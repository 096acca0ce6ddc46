/** A Kafka topic-partition, its key format, and what a commit names: shared by every layer. */

export interface TopicPartition {
  readonly topic: string;
  readonly partition: number;
}

/** An offset to commit: the next offset to read (Kafka's convention). */
export interface CommitOffset extends TopicPartition {
  readonly offset: number;
  /** Leader epoch of the last record read, -1 when unknown. */
  readonly leaderEpoch: number;
}

/** `topic:partition`, the key used for per-partition maps. */
export function partitionKey(topic: string, partition: number): string {
  return `${topic}:${partition}`;
}

/**
 * `topic:partition:number` (a partition key and an offset or a time; a topic name may itself hold
 * colons) as its parts; NaN numbers for text with fewer than two colons.
 */
export function splitPartitionNumber(text: string): [topic: string, partition: number, n: number] {
  const last = text.lastIndexOf(':');
  const middle = last <= 0 ? -1 : text.lastIndexOf(':', last - 1);
  if (middle < 0) return [text, Number.NaN, Number.NaN];
  return [text.slice(0, middle), Number(text.slice(middle + 1, last)), Number(text.slice(last + 1))];
}

/**
 * `partitionKey` for a run of records that mostly share a partition (a fetched batch): the last key
 * is reused instead of built again per record.
 */
export class PartitionKeys {
  #topic = '';
  #partition = -1;
  #key = '';

  of(topic: string, partition: number): string {
    if (topic !== this.#topic || partition !== this.#partition) {
      this.#topic = topic;
      this.#partition = partition;
      this.#key = partitionKey(topic, partition);
    }
    return this.#key;
  }
}

/** Shared empty headers object (most records carry none). */
export const NO_HEADERS: Readonly<Record<string, string>> = Object.freeze({});
