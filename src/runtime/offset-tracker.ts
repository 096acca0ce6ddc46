/**
 * Per-partition offset tracking: which records are read and not yet done, and the offset it is safe
 * to commit.
 *
 * Records of a partition arrive in offset order. One lease covers a run of them (the records one
 * fetch delivers, which enter the pipeline as one batch): each record holds one reference to it, and
 * the run is done when the last reference goes. The runs not done form a queue ordered by offset;
 * each lease is itself a node of that queue (an intrusive doubly linked list), so marking a run done,
 * wherever it sits, is O(1), and the memory held is one object per run not done, never per record,
 * nor for the runs done behind a slow one. The commit point is the first offset of the oldest run not
 * done, or the last read offset + 1 when none is left: Kafka's convention of committing the next
 * offset to read. A run partly done holds the commit at its first offset, so a restart may read a
 * few more records again than a lease per record would make it: never fewer.
 */
import type { Lease } from '../core/envelope.ts';

/** Called once per run when its lease is released for the last time. */
export type DoneListener = (lease: RangeLease) => void;

/**
 * The lease of a run of consecutive Kafka records of one partition: a reference count (one per
 * record, plus what fan-out retains), and a node in its partition's queue.
 */
export class RangeLease implements Lease {
  refs = 1;
  /** First offset of the run (gaps inside the run, as compaction leaves them, are fine). */
  readonly offset: number;
  /** Records in the run, and their value bytes. */
  records = 1;
  bytes: number;
  readonly tracker: PartitionTracker;
  prev: RangeLease | undefined = undefined;
  next: RangeLease | undefined = undefined;

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
  /** Records not done (counted by run: a run partly done counts whole). */
  pending = 0;
  /** Records and value bytes read since the metrics last took them. */
  readRecords = 0;
  readBytes = 0;
  /** False once the partition was revoked: its leases still complete, but it no longer commits. */
  live = true;
  #head: RangeLease | undefined = undefined;
  #tail: RangeLease | undefined = undefined;
  readonly #onDone: DoneListener;

  constructor(topic: string, partition: number, onDone: DoneListener) {
    this.topic = topic;
    this.partition = partition;
    this.#onDone = onDone;
  }

  /**
   * Registers the next record read and returns the lease it holds one reference to: `run`, extended
   * by this record, when `run` is the newest lease of this partition and not done (the caller's
   * batch being gathered), else a new lease. `undefined` when the offset was already read (a client
   * redelivering after a rejoin): that record is in flight or done already.
   */
  read(offset: number, bytes: number, leaderEpoch = -1, run?: RangeLease): RangeLease | undefined {
    if (offset <= this.lastRead) return undefined;
    if (this.firstRead < 0) this.firstRead = offset;
    this.lastRead = offset;
    this.leaderEpoch = leaderEpoch;
    this.pending += 1;
    this.readRecords += 1;
    this.readBytes += bytes;
    const tail = this.#tail;
    if (run !== undefined && run === tail && run.refs > 0) {
      run.refs += 1;
      run.records += 1;
      run.bytes += bytes;
      return run;
    }
    const lease = new RangeLease(this, offset, bytes);
    if (tail === undefined) this.#head = lease;
    else {
      tail.next = lease;
      lease.prev = tail;
    }
    this.#tail = lease;
    return lease;
  }

  /** Marks a run done (called by its lease). */
  done(lease: RangeLease): void {
    const { prev, next } = lease;
    if (prev === undefined) this.#head = next;
    else prev.next = next;
    if (next === undefined) this.#tail = prev;
    else next.prev = prev;
    lease.prev = lease.next = undefined;
    this.pending -= lease.records;
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
