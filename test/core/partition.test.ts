import { describe, expect, it } from 'vitest';
import { PartitionKeys, partitionKey, splitPartitionNumber } from '../../src/core/partition.ts';

describe('splitPartitionNumber', () => {
  it('splits topic:partition:number at the last two colons, and gives NaN numbers without them', () => {
    expect(splitPartitionNumber('games:v2:3:150000')).toEqual(['games:v2', 3, 150000]);
    expect(splitPartitionNumber('t:0:7')).toEqual(['t', 0, 7]);
    expect(splitPartitionNumber('12')).toEqual(['12', Number.NaN, Number.NaN]);
    expect(splitPartitionNumber('t:1')).toEqual(['t:1', Number.NaN, Number.NaN]);
  });
});

describe('PartitionKeys', () => {
  it('gives partitionKey for every pair, reusing the last one', () => {
    const keys = new PartitionKeys();
    expect([keys.of('a', 0), keys.of('a', 0), keys.of('a', 1), keys.of('b', 1)]).toEqual([partitionKey('a', 0), 'a:0', 'a:1', 'b:1']);
  });
});
