import { describe, expect, it } from 'vitest';
import { byTopic, PartitionStarts } from '../../src/sources/partition-starts.ts';

/** Feeds offsets of one partition; returns the decisions. */
function feed(starts: PartitionStarts, offsets: readonly number[]): string[] {
  return offsets.map((offset) => starts.decide('t:0', offset));
}

describe('PartitionStarts', () => {
  it('takes every record of a partition that is not starting', () => {
    expect(feed(new PartitionStarts(), [7, 8, 9])).toEqual(['take', 'take', 'take']);
  });

  it('skips records until the target is known, then rewinds to the commit and takes from it on', () => {
    const starts = new PartitionStarts();
    starts.begin('t:0');
    expect(feed(starts, [40, 41])).toEqual(['skip', 'skip']);
    expect(starts.resolve('t:0', 30, undefined)).toBe(30);
    expect(feed(starts, [28, 29, 30, 31, 45])).toEqual(['skip', 'skip', 'take', 'take', 'take']);
    expect(starts.size).toBe(0);
  });

  it('rewinds again when a fetch requested before the rewind delivers records past the commit', () => {
    const starts = new PartitionStarts();
    starts.begin('t:0');
    starts.resolve('t:0', 30, undefined);
    // A response requested from the client's old position (60), then the one from the commit.
    expect(feed(starts, [60, 61, 62])).toEqual(['rewind', 'rewind', 'rewind']);
    expect(feed(starts, [30, 31])).toEqual(['take', 'take']);
  });

  it('takes the lowest record past the commit once it comes first twice (offsets missing there)', () => {
    const starts = new PartitionStarts();
    starts.begin('t:0');
    starts.resolve('t:0', 30, undefined);
    // 30 is a transaction marker: every fetch from 30 begins at 31.
    expect(feed(starts, [60, 61, 31, 32, 33])).toEqual(['rewind', 'rewind', 'rewind', 'rewind', 'rewind']);
    expect(feed(starts, [31, 32])).toEqual(['take', 'take']);
  });

  it('without a commit starts at the log start when reading from the beginning, else at the lowest record skipped', () => {
    const starts = new PartitionStarts();
    starts.begin('t:0');
    starts.begin('t:1');
    starts.begin('t:2');
    expect(starts.decide('t:1', 12)).toBe('skip');
    expect(starts.resolve('t:0', -1, 5)).toBe(5);
    expect(starts.resolve('t:1', -1, undefined)).toBe(12);
    expect(starts.resolve('t:2', -1, undefined)).toBeUndefined();
    expect(starts.decide('t:2', 99)).toBe('take');
    expect(starts.decide('t:1', 12)).toBe('take');
  });

  it('forgets a partition revoked before it started', () => {
    const starts = new PartitionStarts();
    starts.begin('t:0');
    starts.end('t:0');
    expect(starts.unresolved('t:0')).toBe(false);
    expect(starts.resolve('t:0', 3, undefined)).toBeUndefined();
    expect(starts.decide('t:0', 1)).toBe('take');
  });
});

describe('byTopic', () => {
  it('groups partitions by topic', () => {
    expect(byTopic([{ topic: 'a', partition: 0 }, { topic: 'b', partition: 2 }, { topic: 'a', partition: 3 }])).toEqual([
      { topic: 'a', partitions: [0, 3] },
      { topic: 'b', partitions: [2] },
    ]);
  });
});
