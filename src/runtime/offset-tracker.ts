/**
 * Per-partition offset tracking: which records are read and not yet done, and the offset it is safe
 * to commit.
 *
 * Records of a partition arrive in offset order, so the not-done records form a queue ordered by
 * offset. Each record's lease is itself a node of that queue (an intrusive doubly linked list), so
 * marking a record done, wherever it sits, is O(1) and the memory held is proportional to the records
 * not done (bounded by the in-flight limit), never to the records done behind a slow one. The commit
 * point is the offset of the oldest not-done record, or the last read offset + 1 when none is left:
 * Kafka's convention of committing the next offset to read.
 */
import type { Lease } from '../core/envelope.ts';

/** Called once per record when its lease is released for the last time. */
export type DoneListener = (lease: RecordLease) => void;

/** The lease of one Kafka record: a reference count, and a node in its partition's queue. */
export class RecordLease implements Lease {
  refs = 1;
  readonly offset: number;
  readonly bytes: number;
  readonly tracker: PartitionTracker;
  prev: RecordLease | undefined = undefined;
  next: RecordLease | undefined = undefined;

  constructor(tracker: PartitionTracker, offset: number, bytes: number) {
    this.tracker = tracker;
    this.offset = offset;
    this.bytes = bytes;
  }

  get revoked(): boolean {
    return !this.tracker.live;
  }

  retain(count = 1): void {
    if (this.refs <= 0) throw new Error(`retain after the final release (${this.tracker.topic}:${this.tracker.partition}@${this.offset})`);
    this.refs += count;
  }

  release(): void {
    const refs = --this.refs;
    if (refs === 0) this.tracker.done(this);
    else if (refs < 0) throw new Error(`lease released more often than retained (${this.tracker.topic}:${this.tracker.partition}@${this.offset})`);
  }
}

export class PartitionTracker {
  readonly topic: string;
  readonly partition: number;
  /** Last offset read (accepted), -1 before the first. */
  lastRead = -1;
  /** First offset read by this member, -1 before the first. */
  firstRead = -1;
  /** Leader epoch of the last record read (-1 unknown), sent with commits. */
  leaderEpoch = -1;
  /** The offset last committed by this member, -1 if none yet. */
  committed = -1;
  /** Records not done. */
  pending = 0;
  /** Records and value bytes read since the metrics last took them. */
  readRecords = 0;
  readBytes = 0;
  /** False once the partition was revoked: its leases still complete, but it no longer commits. */
  live = true;
  #head: RecordLease | undefined = undefined;
  #tail: RecordLease | undefined = undefined;
  readonly #onDone: DoneListener;

  constructor(topic: string, partition: number, onDone: DoneListener) {
    this.topic = topic;
    this.partition = partition;
    this.#onDone = onDone;
  }

  /**
   * Registers the next record read; returns its lease, or `undefined` when the offset was already
   * read (a client redelivering after a rejoin): that record is in flight or done already.
   */
  read(offset: number, bytes: number, leaderEpoch = -1): RecordLease | undefined {
    if (offset <= this.lastRead) return undefined;
    const lease = new RecordLease(this, offset, bytes);
    if (this.firstRead < 0) this.firstRead = offset;
    this.lastRead = offset;
    this.leaderEpoch = leaderEpoch;
    this.pending += 1;
    this.readRecords += 1;
    this.readBytes += bytes;
    const tail = this.#tail;
    if (tail === undefined) this.#head = lease;
    else {
      tail.next = lease;
      lease.prev = tail;
    }
    this.#tail = lease;
    return lease;
  }

  /** Marks a record done (called by its lease). */
  done(lease: RecordLease): void {
    const { prev, next } = lease;
    if (prev === undefined) this.#head = next;
    else prev.next = next;
    if (next === undefined) this.#tail = prev;
    else next.prev = prev;
    lease.prev = lease.next = undefined;
    this.pending -= 1;
    this.#onDone(lease);
  }

  /** The offset safe to commit (next to read), or `undefined` if nothing was read. */
  commitPoint(): number | undefined {
    if (this.#head !== undefined) return this.#head.offset;
    return this.lastRead < 0 ? undefined : this.lastRead + 1;
  }

  /** The oldest record not done, if any. */
  oldestPending(): number | undefined {
    return this.#head?.offset;
  }

  /** Records read and not yet covered by a commit of this member. */
  commitLag(): number {
    if (this.lastRead < 0) return 0;
    const base = this.committed >= 0 ? this.committed : this.firstRead;
    return Math.max(0, this.lastRead + 1 - base);
  }
}
