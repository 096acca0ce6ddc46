import { describe, expect, it } from 'vitest';
import { envelopeOf } from '../../src/core/envelope.ts';
import { combineAdds, compileUpdateBuilder, MAX_COMBINED_GUARDS, offsetGuardAttribute, updateOptionProblems, WRITE_ID_ATTRIBUTE, type UpdateItemResult } from '../../src/sinks/dynamodb-update.ts';

const key = { pk: { S: 'BOARD#1' }, sk: { S: 'u1' } };
const item = { ...key, score: { N: '90' }, name: { S: 'ann' } };

describe('compileUpdateBuilder', () => {
  it("max: sets the attribute and the item's others only when greater", () => {
    const build = compileUpdateBuilder({ mode: 'max', update: { attribute: 'best', value: 'score' } }, 'boards', 's');
    const r = build(envelopeOf({ score: 90, name: 'ann' }), item, key);
    expect(r).toEqual({
      ok: true,
      value: 90,
      input: {
        TableName: 'boards',
        Key: key,
        UpdateExpression: 'SET #t = :t, #a0 = :a0, #a1 = :a1',
        ConditionExpression: 'attribute_not_exists(#t) OR #t < :t',
        ExpressionAttributeNames: { '#t': 'best', '#a0': 'score', '#a1': 'name' },
        ExpressionAttributeValues: { ':t': { N: '90' }, ':a0': { N: '90' }, ':a1': { S: 'ann' } },
      },
    });
  });

  it('max compares strings too', () => {
    const build = compileUpdateBuilder({ mode: 'max', update: { attribute: 'latest', value: 'at' } }, 'boards', 's');
    const r = build(envelopeOf({ at: '2024-05-01' }), key, key);
    expect(r.ok && r.input.ExpressionAttributeValues).toEqual({ ':t': { S: '2024-05-01' } });
  });

  it('add: ADDs the counter and SETs the other attributes, never the counter, and a write id of its own', () => {
    const add = compileUpdateBuilder({ mode: 'add', update: { attribute: 'score', value: 'points' } }, 'boards', 's');
    const r = add(envelopeOf({ points: 5 }), item, key);
    expect(r.ok && r.input.UpdateExpression).toBe('SET #a0 = :a0, #w = :w ADD #t :t');
    expect(r.ok && r.input.ExpressionAttributeNames).toEqual({ '#t': 'score', '#a0': 'name', '#w': WRITE_ID_ATTRIBUTE });
    expect(r.ok && r.input.ExpressionAttributeValues).toEqual({ ':t': { N: '5' }, ':a0': { S: 'ann' }, ':w': { S: expect.stringMatching(/^[0-9a-f-]{36}$/) } });
    expect(r.ok && r.input.ConditionExpression).toBeUndefined();
    // A retry after a timeout is the same update, refused if the item holds its write id already.
    expect(r.ok && r.retryInput).toEqual({ ...(r.ok ? r.input : {}), ConditionExpression: 'attribute_not_exists(#w) OR #w <> :w' });
    const again = add(envelopeOf({ points: 5 }), item, key);
    expect(again.ok && again.input.ExpressionAttributeValues?.[':w']).not.toEqual(r.ok && r.input.ExpressionAttributeValues?.[':w']);
  });

  it('max: no write id, no retry variant (a repeated maximum is harmless)', () => {
    const max = compileUpdateBuilder({ mode: 'max', update: { attribute: 'best', value: 'score' } }, 'boards', 's');
    const r = max(envelopeOf({ score: 5 }), key, key);
    expect(r.ok && r.retryInput).toBeUndefined();
    expect(r.ok && r.input.ExpressionAttributeNames).toEqual({ '#t': 'best' });
  });

  it('refuses a value of the wrong type', () => {
    const max = compileUpdateBuilder({ mode: 'max', update: { attribute: 'best', value: 'score' } }, 't', 's');
    expect(max(envelopeOf({}), key, key)).toEqual({ ok: false, reason: 'best: the value is missing, not a number or string' });
    const add = compileUpdateBuilder({ mode: 'add', update: { attribute: 'n', value: 'score' } }, 't', 's');
    expect(add(envelopeOf({ score: '3' }), key, key)).toEqual({ ok: false, reason: 'n: the value is string, not a number' });
  });

  it('checks the options', () => {
    expect(updateOptionProblems({ mode: 'max' })).toEqual(["mode 'max' needs update: { attribute, value }"]);
    expect(updateOptionProblems({ mode: 'add', update: { attribute: 'a', value: '' } })).toHaveLength(1);
    expect(updateOptionProblems({ mode: 'put', update: { attribute: 'a', value: 'b' } })).toEqual(["update is only for mode 'max' or 'add'"]);
    expect(updateOptionProblems({ mode: 'upsert' as 'put' })).toHaveLength(1);
    expect(updateOptionProblems({})).toEqual([]);
    expect(() => compileUpdateBuilder({ mode: 'max', update: { attribute: 'a', value: '>' } }, 't', 'lb')).toThrow(/lb: update.value/);
  });
});

describe('compileUpdateBuilder, mode update', () => {
  it('SETs every mapped attribute, ifAbsent ones only while the item has none, with no condition', () => {
    const build = compileUpdateBuilder({ mode: 'update', ifAbsent: ['name'] }, 'sessions', 's');
    const r = build(envelopeOf({}), item, key);
    expect(r).toEqual({
      ok: true,
      value: undefined,
      input: {
        TableName: 'sessions',
        Key: key,
        UpdateExpression: 'SET #a0 = :a0, #a1 = if_not_exists(#a1, :a1)',
        ExpressionAttributeNames: { '#a0': 'score', '#a1': 'name' },
        ExpressionAttributeValues: { ':a0': { N: '90' }, ':a1': { S: 'ann' } },
      },
    });
    expect(r.ok && r.retryInput).toBeUndefined();
  });

  it('with nothing to set, only makes sure the item exists', () => {
    const build = compileUpdateBuilder({ mode: 'update' }, 'sessions', 's');
    expect(build(envelopeOf({}), key, key)).toEqual({ ok: true, value: undefined, input: { TableName: 'sessions', Key: key } });
  });

  it('checks its options', () => {
    expect(updateOptionProblems({ mode: 'update' })).toEqual([]);
    expect(updateOptionProblems({ mode: 'update', update: { attribute: 'a', value: 'b' } })).toEqual(["update is only for mode 'max' or 'add'"]);
    expect(updateOptionProblems({ mode: 'put', ifAbsent: ['a'] })).toEqual(["ifAbsent is only for mode 'update'"]);
    expect(updateOptionProblems({ mode: 'update', ifAbsent: ['pk', 'a'], partitionKey: { name: 'pk' } })).toEqual(['ifAbsent: "pk" is a key attribute']);
    expect(updateOptionProblems({ mode: 'update', ifAbsent: ['expires_at'], partitionKey: { name: 'pk' }, ttl: { attribute: 'expires_at' } })).toEqual([]);
    expect(updateOptionProblems({ mode: 'update', ifAbsent: [''] })).toEqual(['ifAbsent must be a list of attribute names']);
  });
});

describe('compileUpdateBuilder, add with applyOnce', () => {
  const once = compileUpdateBuilder({ mode: 'add', update: { attribute: 'users', value: 'n' }, applyOnce: true }, 'games', 'users-in');

  it("ADDs the value and SETs the source partition's guard to the offset, on condition that the stored one is lower", () => {
    const r = once(envelopeOf({ n: 1 }, { topic: 'user-activity', partition: 3, offset: 41 }), key, key);
    expect(r).toEqual({
      ok: true,
      value: 1,
      input: {
        TableName: 'games',
        Key: key,
        UpdateExpression: 'SET #g = :g ADD #t :t',
        ConditionExpression: 'attribute_not_exists(#g) OR #g < :g',
        ExpressionAttributeNames: { '#t': 'users', '#g': 'tributary_offset_users-in_user-activity_3' },
        ExpressionAttributeValues: { ':t': { N: '1' }, ':g': { N: '41' } },
      },
    });
    // No write id and no retry variant: a retry of an update that landed is refused by the guard.
    expect(r.ok && r.retryInput).toBeUndefined();
    expect(offsetGuardAttribute('users-in', 'user-activity', 3)).toBe('tributary_offset_users-in_user-activity_3');
  });

  it('never copies a guard of the item into the update', () => {
    const r = once(envelopeOf({ n: -1 }, { topic: 't', partition: 0, offset: 2 }), { ...key, tributary_offset_x_t_0: { N: '9' } }, key);
    expect(r.ok && r.input.ExpressionAttributeNames).toEqual({ '#t': 'users', '#g': 'tributary_offset_users-in_t_0' });
  });

  it('is only for add', () => {
    expect(updateOptionProblems({ mode: 'max', update: { attribute: 'a', value: 'b' }, applyOnce: true })).toEqual(["applyOnce is only for mode 'add'"]);
    expect(updateOptionProblems({ mode: 'add', update: { attribute: 'a', value: 'b' }, applyOnce: true })).toEqual([]);
  });
});

describe('combineAdds', () => {
  const once = compileUpdateBuilder({ mode: 'add', update: { attribute: 'users', value: 'n' }, applyOnce: true }, 'games', 'users-in');
  const counts = compileUpdateBuilder({ mode: 'add', update: { attribute: 'users', value: 'n' } }, 'games', 'users-in');
  const at = (build: typeof once, offset: number, n: number) => build(envelopeOf({ n }, { topic: 't', partition: 0, offset }), key, key) as UpdateItemResult & { ok: true };

  it("applyOnce: ADDs the sum, SETs the last offset, on condition that the stored guard is below the first", () => {
    const r = combineAdds([at(once, 7, 1), at(once, 8, -1), at(once, 10, 1)], true);
    expect(r?.value).toBe(1);
    expect(r?.input.UpdateExpression).toBe('SET #g = :g ADD #t :t');
    expect(r?.input.ConditionExpression).toBe('(attribute_not_exists(#g) OR #g < :f0)');
    expect(r?.input.ExpressionAttributeValues).toEqual({ ':t': { N: '1' }, ':g': { N: '10' }, ':f0': { N: '7' } });
  });

  it('applyOnce over several source partitions: each guard SET to its last offset, each below its first', () => {
    const on = (partition: number, offset: number, n: number) => once(envelopeOf({ n }, { topic: 't', partition, offset }), key, key) as UpdateItemResult & { ok: true };
    const r = combineAdds([on(1, 40, 1), on(0, 7, 1), on(1, 41, 1), on(2, 3, -1), on(0, 9, 1)], true);
    expect(r?.value).toBe(3);
    expect(r?.input.UpdateExpression).toBe('SET #g0 = :g0, #g2 = :g2, #g = :g ADD #t :t');
    expect(r?.input.ExpressionAttributeNames).toEqual({ '#t': 'users', '#g': offsetGuardAttribute('users-in', 't', 0), '#g0': offsetGuardAttribute('users-in', 't', 1), '#g2': offsetGuardAttribute('users-in', 't', 2) });
    expect(r?.input.ConditionExpression).toBe('(attribute_not_exists(#g0) OR #g0 < :f0) AND (attribute_not_exists(#g) OR #g < :f1) AND (attribute_not_exists(#g2) OR #g2 < :f2)');
    expect(r?.input.ExpressionAttributeValues).toEqual({ ':t': { N: '3' }, ':g': { N: '9' }, ':g0': { N: '41' }, ':g2': { N: '3' }, ':f0': { N: '40' }, ':f1': { N: '7' }, ':f2': { N: '3' } });
  });

  it("without applyOnce: the last update's write id, its retry conditional on it, with the sum", () => {
    const last = at(counts, 3, 2);
    const r = combineAdds([at(counts, 1, 2), at(counts, 2, 2), last], false);
    expect(r?.input.ExpressionAttributeValues).toEqual({ ...last.input.ExpressionAttributeValues, ':t': { N: '6' } });
    expect(r?.retryInput?.ConditionExpression).toBe(last.retryInput?.ConditionExpression);
    expect(r?.retryInput?.ExpressionAttributeValues?.[':t']).toEqual({ N: '6' });
  });

  it('leaves updates from more source partitions than one expression holds to the caller', () => {
    const from = (partitions: number) => Array.from({ length: partitions }, (_, p) => once(envelopeOf({ n: 1 }, { topic: 't', partition: p, offset: 5 }), key, key) as UpdateItemResult & { ok: true });
    expect(combineAdds(from(MAX_COMBINED_GUARDS), true)?.value).toBe(MAX_COMBINED_GUARDS);
    expect(combineAdds(from(MAX_COMBINED_GUARDS + 1), true)).toBeUndefined();
    expect(combineAdds(from(MAX_COMBINED_GUARDS + 1), false)?.value).toBe(MAX_COMBINED_GUARDS + 1);
  });

  it('refuses what it could not add exactly: decimals, or a sum past the safe integers', () => {
    expect(combineAdds([at(once, 1, 0.1), at(once, 2, 0.2)], true)).toBeUndefined();
    expect(combineAdds([at(once, 1, Number.MAX_SAFE_INTEGER), at(once, 2, 1)], true)).toBeUndefined();
    expect(combineAdds([], true)).toBeUndefined();
  });
});

