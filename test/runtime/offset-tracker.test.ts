import { describe, expect, it } from 'vitest';
import { PartitionTracker, type RangeLease } from '../../src/runtime/offset-tracker.ts';

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
    const leases = [10, 11, 12, 13].map((o) => t.read(o, 5) as RangeLease);
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
    const a = t.read(5, 1) as RangeLease;
    const b = t.read(9, 1) as RangeLease;
    a.release();
    expect(t.commitPoint()).toBe(9);
    b.release();
    expect(t.commitPoint()).toBe(10);
  });

  it('marks a record done only at the last release of its lease', () => {
    const { t, done } = tracker();
    const lease = t.read(0, 1) as RangeLease;
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
    const lease = t.read(0, 1) as RangeLease;
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
    const first = t.read(0, 1) as RangeLease;
    for (let o = 1; o <= 10_000; o++) (t.read(o, 1) as RangeLease).release();
    expect(t.pending).toBe(1);
    expect(t.commitPoint()).toBe(0);
    first.release();
    expect(t.commitPoint()).toBe(10_001);
  });

  it('extends the run being gathered: one lease for its records, done at the last reference', () => {
    const { t, done } = tracker();
    const run = t.read(10, 3) as RangeLease;
    expect(t.read(11, 4, -1, run)).toBe(run);
    expect(t.read(13, 5, -1, run)).toBe(run);
    expect([run.offset, run.records, run.bytes, run.refs]).toEqual([10, 3, 12, 3]);
    const next = t.read(14, 1) as RangeLease;
    expect(next).not.toBe(run);
    expect(t.pending).toBe(4);
    run.release();
    run.release();
    expect(t.commitPoint()).toBe(10);
    next.release();
    expect(t.commitPoint()).toBe(10);
    run.release();
    expect(done).toEqual([14, 10]);
    expect(t.commitPoint()).toBe(15);
    expect(t.pending).toBe(0);
  });

  it('opens a new run instead of extending one that is not the newest or is done', () => {
    const { t } = tracker();
    const a = t.read(0, 1) as RangeLease;
    const b = t.read(1, 1) as RangeLease;
    expect(t.read(2, 1, -1, a)).not.toBe(a);
    b.release();
    const c = t.read(3, 1, -1, b) as RangeLease;
    expect(c).not.toBe(b);
    expect(c.records).toBe(1);
    a.release();
    expect(t.commitPoint()).toBe(2);
  });

  it('reports commit lag from the first read, then from the committed offset', () => {
    const { t } = tracker();
    for (let o = 100; o < 110; o++) t.read(o, 1);
    expect(t.commitLag()).toBe(10);
    t.committed = 105;
    expect(t.commitLag()).toBe(5);
  });
});
