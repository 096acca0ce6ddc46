import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { describe, expect, it } from 'vitest';
import { chunkItems, itemSizeBytes } from '../../src/sinks/dynamodb-size.ts';

describe('itemSizeBytes', () => {
  it('counts names and values the way DynamoDB does', () => {
    expect(itemSizeBytes({ ab: { S: 'héllo' } })).toBe(2 + 6);
    expect(itemSizeBytes({ n: { N: '12345' } })).toBe(1 + 4);
    expect(itemSizeBytes({ n: { N: '-0.00120' } })).toBe(1 + 2);
    expect(itemSizeBytes({ n: { N: '120.50' } })).toBe(1 + 3);
    expect(itemSizeBytes({ n: { N: '1200' } })).toBe(1 + 2);
    expect(itemSizeBytes({ n: { N: '0' } })).toBe(1 + 2);
    expect(itemSizeBytes({ n: { N: '1.2345e+200' } })).toBe(1 + 4);
    expect(itemSizeBytes({ b: { BOOL: true }, z: { NULL: true } })).toBe(4);
    expect(itemSizeBytes({ l: { L: [{ S: 'ab' }, { N: '1' }] } })).toBe(1 + 3 + (1 + 2) + (1 + 2));
    expect(itemSizeBytes({ m: { M: { k: { S: 'v' } } } })).toBe(1 + 3 + 1 + 1 + 1);
    expect(itemSizeBytes({ s: { SS: ['ab', 'c'] }, n: { NS: ['1', '22'] } })).toBe(1 + 3 + 1 + 2 + 2);
  });

  it('sizes an item nested 100,000 levels deep without overflowing the stack', () => {
    let value: AttributeValue = { S: 'x' };
    for (let i = 0; i < 100_000; i++) value = { L: [value] };
    expect(itemSizeBytes({ a: value })).toBe(1 + 100_000 * (3 + 1) + 1);
  });

});

describe('chunkItems', () => {
  const items = (sizes: number[]) => sizes.map((sizeBytes, i) => ({ i, sizeBytes }));
  const ids = (chunks: { i: number }[][]) => chunks.map((c) => c.map((x) => x.i));

  it('cuts at 25 items by default, keeping order', () => {
    const chunks = chunkItems(items(Array(60).fill(10)));
    expect(chunks.map((c) => c.length)).toEqual([25, 25, 10]);
    expect(chunks.flat().map((x) => x.i)).toEqual([...Array(60).keys()]);
  });

  it('cuts before a chunk would pass maxBytes; an oversized item goes alone', () => {
    expect(ids(chunkItems(items([40, 40, 30, 100, 10]), 25, 100))).toEqual([[0, 1], [2], [3], [4]]);
    expect(ids(chunkItems(items([50, 50, 1]), 25, 100))).toEqual([[0, 1], [2]]);
  });

  it('makes no chunk of nothing', () => {
    expect(chunkItems([])).toEqual([]);
  });
});
