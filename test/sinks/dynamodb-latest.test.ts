import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/core/errors.ts';
import { envelopeOf } from '../../src/core/envelope.ts';
import { compileLatestBuilder, latestOptionProblems, versionAttributeOf, versionCondition } from '../../src/sinks/dynamodb-latest.ts';
import { commandOf, compileWriteBuilder, updateOptionProblems } from '../../src/sinks/dynamodb-update.ts';

const key = { pk: { S: 'PLAYER#p1' } };
const item = { ...key, name: { S: 'ann' }, updatedAt: { S: '2024-05-01T10:00:00.000Z' }, seq: { N: '7' }, _deleted: { BOOL: false }, expires_at: { N: '1717000000' } };
const record = (value: Record<string, unknown>) => envelopeOf(value);

describe('versionCondition', () => {
  it('compares the fields in order, the last strictly unless equal versions overwrite', () => {
    expect(versionCondition(1, false)).toBe('attribute_not_exists(#v0) OR #v0 < :v0');
    expect(versionCondition(2, false)).toBe('attribute_not_exists(#v0) OR #v0 < :v0 OR (#v0 = :v0 AND #v1 < :v1)');
    expect(versionCondition(3, true)).toBe('attribute_not_exists(#v0) OR #v0 < :v0 OR (#v0 = :v0 AND (#v1 < :v1 OR (#v1 = :v1 AND #v2 <= :v2)))');
  });
});

describe('compileLatestBuilder', () => {
  const build = compileLatestBuilder({ version: ['updatedAt', 'seq'], delete: "op == 'REMOVE'", ttl: { attribute: 'expires_at' }, partitionKey: { name: 'pk' } }, 'players', 'cdc');

  it('an upsert puts the whole item with its version, on condition that the stored one is lower', () => {
    const r = build(record({ op: 'MODIFY', name: 'ann', updatedAt: '2024-05-01T10:00:00.000Z', seq: 7 }), item, key);
    expect(r).toEqual({
      ok: true,
      deleted: false,
      value: ['2024-05-01T10:00:00.000Z', 7],
      put: {
        TableName: 'players',
        // A `_deleted` field of the record is not copied: a live item never reads as deleted.
        Item: { pk: { S: 'PLAYER#p1' }, name: { S: 'ann' }, updatedAt: { S: '2024-05-01T10:00:00.000Z' }, seq: { N: '7' }, expires_at: { N: '1717000000' } },
        ConditionExpression: 'attribute_not_exists(#v0) OR #v0 < :v0 OR (#v0 = :v0 AND #v1 < :v1)',
        ExpressionAttributeNames: { '#v0': 'updatedAt', '#v1': 'seq' },
        ExpressionAttributeValues: { ':v0': { S: '2024-05-01T10:00:00.000Z' }, ':v1': { N: '7' } },
      },
    });
    expect(r.ok && commandOf(r).constructor.name).toBe('PutItemCommand');
  });

  it('a delete puts a tombstone (key, version, marker, TTL) under the same condition', () => {
    const r = build(record({ op: 'REMOVE', updatedAt: '2024-05-02T00:00:00.000Z', seq: 1 }), item, key);
    expect(r.ok && r.deleted).toBe(true);
    expect(r.ok && r.put.Item).toEqual({ pk: { S: 'PLAYER#p1' }, updatedAt: { S: '2024-05-02T00:00:00.000Z' }, seq: { N: '1' }, _deleted: { BOOL: true }, expires_at: { N: '1717000000' } });
    expect(r.ok && r.put.ConditionExpression).toBe('attribute_not_exists(#v0) OR #v0 < :v0 OR (#v0 = :v0 AND #v1 < :v1)');
  });

  it('stores a nested version field under its path with underscores, and the key wins over a copied field', () => {
    const nested = compileLatestBuilder({ version: ['meta.version'], tombstoneAttribute: 'gone' }, 't', 's');
    const r = nested(record({ meta: { version: 3 } }), { pk: { S: 'other' }, meta: { M: { version: { N: '3' } } } }, key);
    expect(r.ok && r.put.Item).toEqual({ pk: { S: 'PLAYER#p1' }, meta: { M: { version: { N: '3' } } }, meta_version: { N: '3' } });
    expect(r.ok && r.put.ExpressionAttributeNames).toEqual({ '#v0': 'meta_version' });
  });

  it('sends a record without a usable version to dead letters', () => {
    expect(build(record({ updatedAt: '2024-05-01', seq: null }), item, key)).toEqual({ ok: false, reason: 'version field seq is object, not a number or string' });
    expect(build(record({ seq: 1 }), item, key)).toEqual({ ok: false, reason: 'version field updatedAt is missing, not a number or string' });
    expect(build(record({ updatedAt: 'x', seq: Number.NaN }), item, key)).toEqual({ ok: false, reason: 'version field seq is NaN, not a number or string' });
  });

  it('overwrites on an equal version when asked', () => {
    const overwrite = compileLatestBuilder({ version: ['seq'], onEqualVersion: 'overwrite' }, 't', 's');
    const r = overwrite(record({ seq: 1 }), key, key);
    expect(r.ok && r.put.ConditionExpression).toBe('attribute_not_exists(#v0) OR #v0 <= :v0');
  });
});

describe('latest options', () => {
  it('are checked once, naming the step', () => {
    expect(latestOptionProblems(undefined)).toEqual(["mode 'latest' needs latest: { version: [fields] }"]);
    expect(latestOptionProblems({ version: [] })).toEqual(['latest.version must be a non-empty list of field expressions']);
    expect(latestOptionProblems({ version: ['a.b', 'a_b'] })).toEqual(['latest.version: "a_b" is stored as "a_b" twice']);
    expect(latestOptionProblems({ version: ['pk'] }, { partitionKey: { name: 'pk' } })).toEqual(['latest.version: "pk" would be stored as "pk", which is the partition key']);
    expect(latestOptionProblems({ version: ['expires_at'] }, { ttl: { attribute: 'expires_at' } })).toHaveLength(1);
    expect(latestOptionProblems({ version: ['v'] }, { shards: 4 })).toEqual(["shards must be 1 in mode 'latest' (a key's versions must land on one item)"]);
    expect(latestOptionProblems({ version: ['v'], onEqualVersion: 'keep' as 'skip' })).toEqual(["latest.onEqualVersion must be 'skip' or 'overwrite'"]);
    expect(latestOptionProblems({ version: ['v'], delete: "op = 'REMOVE'" })[0]).toMatch(/^latest.delete: unexpected character/);
    expect(latestOptionProblems({ version: ['v >'] })[0]).toMatch(/^latest.version\[0\]/);
    expect(updateOptionProblems({ mode: 'latest', latest: { version: ['v'] } })).toEqual([]);
    expect(updateOptionProblems({ mode: 'put', latest: { version: ['v'] } })).toEqual(["latest is only for mode 'latest'"]);
    expect(updateOptionProblems({ mode: 'latest', update: { attribute: 'a', value: 'b' }, latest: { version: ['v'] } })).toEqual(["update is only for mode 'max' or 'add'"]);
    expect(() => compileWriteBuilder({ mode: 'latest' }, 't', 'cdc')).toThrow(ConfigError);
    expect(() => compileWriteBuilder({ mode: 'latest' }, 't', 'cdc')).toThrow(/^cdc: mode 'latest' needs latest/);
    expect(versionAttributeOf('$offset')).toBe('offset');
  });
});
