import { describe, expect, it } from 'vitest';
import { PartitionTracker, type RecordLease } from '../../src/runtime/offset-tracker.ts';

function tracker() {
  const done: number[] = [];
  const t = new PartitionTracker('t', 0, (lease) => done.push(lease.offset));
  return { t, done };
}

describe('PartitionTracker', () => {
  it('has no commit point before the first record', () => {
    const { t } = tracker();
    expect(t.commitPoint()).toBeUndefined();
    expect(t.commitLag()).toBe(0);
  });

  it('commits the oldest offset not done, or last read + 1 when all are done', () => {
    const { t, done } = tracker();
    const leases = [10, 11, 12, 13].map((o) => t.read(o, 5) as RecordLease);
    expect(t.commitPoint()).toBe(10);
    leases[1]?.release();
    leases[2]?.release();
    expect(t.commitPoint()).toBe(10);
    leases[0]?.release();
    expect(t.commitPoint()).toBe(13);
    leases[3]?.release();
    expect(t.commitPoint()).toBe(14);
    expect(done).toEqual([11, 12, 10, 13]);
    expect(t.pending).toBe(0);
  });

  it('follows gaps in offsets (compaction, transaction markers)', () => {
    const { t } = tracker();
    const a = t.read(5, 1) as RecordLease;
    const b = t.read(9, 1) as RecordLease;
    a.release();
    expect(t.commitPoint()).toBe(9);
    b.release();
    expect(t.commitPoint()).toBe(10);
  });

  it('marks a record done only at the last release of its lease', () => {
    const { t, done } = tracker();
    const lease = t.read(0, 1) as RecordLease;
    lease.retain(2);
    lease.release();
    lease.release();
    expect(done).toEqual([]);
    expect(t.commitPoint()).toBe(0);
    lease.release();
    expect(done).toEqual([0]);
    expect(t.commitPoint()).toBe(1);
  });

  it('throws on a release past the last one and on retain after it', () => {
    const { t } = tracker();
    const lease = t.read(0, 1) as RecordLease;
    lease.release();
    expect(() => lease.release()).toThrow(/more often/);
    expect(() => lease.retain()).toThrow(/after the final release/);
  });

  it('ignores offsets already read (a client redelivering after a rejoin)', () => {
    const { t } = tracker();
    t.read(0, 1);
    t.read(1, 1);
    expect(t.read(1, 1)).toBeUndefined();
    expect(t.read(0, 1)).toBeUndefined();
    expect(t.read(2, 1)).toBeDefined();
    expect(t.pending).toBe(3);
  });

  it('keeps memory proportional to records not done: a stuck first record does not hold the rest', () => {
    const { t } = tracker();
    const first = t.read(0, 1) as RecordLease;
    for (let o = 1; o <= 10_000; o++) (t.read(o, 1) as RecordLease).release();
    expect(t.pending).toBe(1);
    expect(t.commitPoint()).toBe(0);
    first.release();
    expect(t.commitPoint()).toBe(10_001);
  });

  it('reports commit lag from the first read, then from the committed offset', () => {
    const { t } = tracker();
    for (let o = 100; o < 110; o++) t.read(o, 1);
    expect(t.commitLag()).toBe(10);
    t.committed = 105;
    expect(t.commitLag()).toBe(5);
  });
});
