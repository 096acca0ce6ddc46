import { unmarshall } from '@aws-sdk/util-dynamodb';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/core/errors.ts';
import { envelopeOf } from '../../src/core/envelope.ts';
import {
  compileItemMapper,
  MAX_ATTRIBUTE_DEPTH,
  attributePath,
  keyIdOf,
  shardKeys,
  shardOf,
  type DynamoItemOptions,
  type ItemResult,
} from '../../src/sinks/dynamodb-item.ts';
import { MAX_ITEM_BYTES } from '../../src/sinks/dynamodb-size.ts';

const session = { user_id: 'u1', session_start_time: '2024-05-01T10:00:00Z', platform: 'ios', event_data: { amount: 12.5, level: 3 }, event_id: 'e-1' };
const keys: DynamoItemOptions = { partitionKey: { name: 'pk', value: 'USER#{user_id}' }, sortKey: { name: 'sk', value: '{session_start_time}' } };

function ok(result: ItemResult) {
  if (!result.ok) throw new Error(`expected an item, got: ${result.reason}`);
  return result;
}

/** `{"a":{"a":…1…}}`, `levels` objects deep. */
const nested = (levels: number): unknown => JSON.parse(`${'{"a":'.repeat(levels)}1${'}'.repeat(levels)}`);

describe('compileItemMapper on hostile records', () => {
  it('refuses a record nested 10,000 levels deep with a reason instead of throwing (regression: itemSizeBytes outside the dead-letter path)', () => {
    const map = compileItemMapper(keys, 's');
    const deep = map(envelopeOf({ ...session, payload: nested(10_000) }));
    expect(deep).toMatchObject({ ok: false, reason: `the value nests deeper than DynamoDB's ${MAX_ATTRIBUTE_DEPTH} levels`, keyText: 'pk=USER#u1, sk=2024-05-01T10:00:00Z' });
    const projected = compileItemMapper({ ...keys, attributes: ['payload'] }, 's')(envelopeOf({ ...session, payload: nested(10_000) }));
    expect(projected).toMatchObject({ ok: false, reason: expect.stringContaining('nests deeper') });
  });

  it("takes DynamoDB's 32 levels of nesting and refuses one more", () => {
    const map = compileItemMapper(keys, 's');
    expect(map(envelopeOf({ ...session, payload: nested(MAX_ATTRIBUTE_DEPTH) })).ok).toBe(true);
    expect(map(envelopeOf({ ...session, payload: nested(MAX_ATTRIBUTE_DEPTH + 1) })).ok).toBe(false);
  });

  it('refuses what it cannot marshal or key (a class instance, a cyclic key field) with a reason', () => {
    const map = compileItemMapper(keys, 's');
    expect(map(envelopeOf({ ...session, n: new (class Point {})() }))).toMatchObject({ ok: false, reason: expect.stringContaining('cannot marshal the value') });
    const cycle: Record<string, unknown> = {};
    cycle.self = cycle;
    expect(map(envelopeOf({ ...session, user_id: cycle }))).toMatchObject({ ok: false, reason: expect.stringContaining('cannot map the record'), keyText: 'pk=?, sk=?' });
  });

  it('keeps a "__proto__" field as an attribute, not as the prototype of the item', () => {
    const r = ok(compileItemMapper(keys, 's')(envelopeOf(JSON.parse('{"user_id":"u1","session_start_time":"t","__proto__":{"x":1}}'))));
    expect(Object.getPrototypeOf(r.item)).toBe(Object.prototype);
    expect(Object.keys(r.item)).toContain('__proto__');
  });
});

describe('compileItemMapper', () => {
  it('copies every field by default, keys from templates, numbers as numbers, nested objects as maps', () => {
    const r = ok(compileItemMapper(keys, 's')(envelopeOf(session)));
    expect(r.item.event_data).toEqual({ M: { amount: { N: '12.5' }, level: { N: '3' } } });
    expect(unmarshall(r.item)).toEqual({ ...session, pk: 'USER#u1', sk: '2024-05-01T10:00:00Z' });
    expect(r.key).toEqual({ pk: { S: 'USER#u1' }, sk: { S: '2024-05-01T10:00:00Z' } });
    expect(r.keyText).toBe('pk=USER#u1, sk=2024-05-01T10:00:00Z');
  });

  it('projects a list of paths with their nesting kept, skipping missing fields', () => {
    const map = compileItemMapper({ ...keys, attributes: ['platform', 'event_data.amount', 'event_data.nope', 'extra.deep', '$offset'] }, 's');
    const r = ok(map(envelopeOf(session, { offset: 42 })));
    expect(unmarshall(r.item)).toEqual({ pk: 'USER#u1', sk: session.session_start_time, platform: 'ios', event_data: { amount: 12.5 }, offset: 42 });
    expect(r.item.event_data).toEqual({ M: { amount: { N: '12.5' } } });
    expect(session.event_data).toEqual({ amount: 12.5, level: 3 });
  });

  it('projects a record of attribute names to field expressions', () => {
    const r = ok(compileItemMapper({ ...keys, attributes: { amount: 'event_data.amount', big: 'event_data.amount > 10' } }, 's')(envelopeOf(session)));
    expect(unmarshall(r.item)).toEqual({ pk: 'USER#u1', sk: session.session_start_time, amount: 12.5, big: true });
  });

  it('lets key attributes win over a copied field of the same name', () => {
    const r = ok(compileItemMapper({ partitionKey: { name: 'user_id', value: 'USER#{user_id}' } }, 's')(envelopeOf(session)));
    expect(r.item.user_id).toEqual({ S: 'USER#u1' });
  });

  it('refuses a record whose key field is missing, naming the template', () => {
    const map = compileItemMapper(keys, 's');
    const noUser = map(envelopeOf({ ...session, user_id: undefined }));
    expect(noUser).toMatchObject({ ok: false, reason: 'partition key template "USER#{user_id}" has a missing field' });
    const noStart = map(envelopeOf({ user_id: 'u2' }));
    expect(noStart).toMatchObject({ ok: false, reason: 'sort key template "{session_start_time}" has a missing field', keyText: 'pk=USER#u2, sk=?' });
  });

  it('writes the TTL in epoch seconds from event time, else the Kafka timestamp', () => {
    const map = compileItemMapper({ ...keys, ttl: { attribute: 'expires_at', afterMs: 30 * 86_400_000 } }, 's');
    const eventMs = Date.UTC(2024, 4, 1, 10, 0, 0, 999);
    expect(ok(map(envelopeOf(session, { timestamp: 1 }, undefined, eventMs))).item.expires_at).toEqual({ N: String(Math.floor(eventMs / 1000) + 30 * 86_400) });
    expect(ok(map(envelopeOf(session, { timestamp: eventMs }))).item.expires_at).toEqual({ N: String(Math.floor(eventMs / 1000) + 30 * 86_400) });
  });

  it('parses numeric keys and refuses a non-number', () => {
    const map = compileItemMapper({ partitionKey: { name: 'user_id', value: '{user_id}' }, sortKey: { name: 'ts', value: '{ts}', type: 'number' } }, 's');
    expect(ok(map(envelopeOf({ user_id: 'u', ts: 1714557600000 }))).key.ts).toEqual({ N: '1714557600000' });
    expect(map(envelopeOf({ user_id: 'u', ts: 'soon' }))).toMatchObject({ ok: false, reason: 'sort key "soon" is not a number' });
  });

  it('refuses items over 400 KB, keys over their limits, values that cannot be marshalled', () => {
    const map = compileItemMapper(keys, 's');
    const big = map(envelopeOf({ ...session, blob: 'x'.repeat(MAX_ITEM_BYTES) }));
    expect(big.ok).toBe(false);
    expect(!big.ok && big.reason).toMatch(/over DynamoDB's 409600-byte limit/);
    expect(map(envelopeOf({ ...session, session_start_time: 'x'.repeat(1025) }))).toMatchObject({ ok: false, reason: 'sort key over 1024 bytes' });
    expect(map(envelopeOf({ ...session, when: new Date(0) }))).toMatchObject({ ok: false });
    expect(map(envelopeOf({ ...session, nan: Number.NaN }))).toMatchObject({ ok: false });
    expect(ok(map(envelopeOf({ ...session, huge: 2 ** 60 }))).item.huge).toEqual({ N: String(2 ** 60) });
  });

  it("refuses a non-object value with attributes 'all'", () => {
    const map = compileItemMapper({ partitionKey: { name: 'pk', value: '{$key}' } }, 's');
    expect(map(envelopeOf(7, { key: Buffer.from('k') }))).toMatchObject({ ok: false });
  });

  it('checks options once, naming the step', () => {
    const bad = (o: Partial<DynamoItemOptions>) => () => compileItemMapper({ ...keys, ...o } as DynamoItemOptions, 'sessions');
    expect(bad({ partitionKey: { name: '', value: '{a}' } })).toThrow(/sessions: partitionKey.name/);
    expect(bad({ shards: 0 })).toThrow(/shards must be an integer/);
    expect(bad({ ttl: { attribute: 'sk', afterMs: 1 } })).toThrow(/ttl.attribute must not be a key attribute/);
    expect(bad({ ttl: { attribute: 'x', afterMs: 0 } })).toThrow(/ttl.afterMs/);
    expect(bad({ attributes: ['a', 'b.c', 'a'] })).toThrow(/"a" is listed twice/);
    expect(bad({ attributes: ['a.b', 'c', 'a'] })).toThrow(/"a.b" and "a" overlap/);
    expect(bad({ attributes: [] })).not.toThrow();
    expect(bad({ partitionKey: { name: 'pk', value: '{a}', type: 'N' as 'number' } })).toThrow(/type must be 'string' or 'number'/);
    expect(bad({ attributes: ['a >'] })).toThrow(ConfigError);
    expect(bad({ sortKey: { name: 'pk', value: '{x}' } })).toThrow(/must differ/);
  });
});

describe('sharding', () => {
  const sharded = compileItemMapper({ ...keys, shards: 4 }, 's');

  it('appends a shard chosen by the sort key, the same on every run', () => {
    const a = ok(sharded(envelopeOf(session)));
    const again = ok(compileItemMapper({ ...keys, shards: 4 }, 's')(envelopeOf({ ...session, platform: 'android' })));
    expect(a.key.pk).toEqual({ S: `USER#u1#${shardOf(session.session_start_time, 4)}` });
    expect(again.key).toEqual(a.key);
  });

  it('spreads keys over every shard', () => {
    const used = new Set<string>();
    for (let i = 0; i < 200; i++) used.add(ok(sharded(envelopeOf({ ...session, session_start_time: `t${i}` }))).key.pk?.S as string);
    expect([...used].sort()).toEqual(shardKeys('USER#u1', 4));
  });

  it('hashes event_id when there is no sort key, or the shardBy field, and refuses a missing one', () => {
    const byEvent = compileItemMapper({ partitionKey: keys.partitionKey, shards: 8 }, 's');
    expect(ok(byEvent(envelopeOf(session))).key.pk).toEqual({ S: `USER#u1#${shardOf('e-1', 8)}` });
    expect(byEvent(envelopeOf({ user_id: 'u1' }))).toMatchObject({ ok: false, reason: 'shard field event_id is missing' });
    const byPlatform = compileItemMapper({ ...keys, shards: 8, shardBy: 'platform' }, 's');
    expect(ok(byPlatform(envelopeOf(session))).key.pk).toEqual({ S: `USER#u1#${shardOf('ios', 8)}` });
  });

  it('shardOf is FNV-1a modulo n', () => {
    expect(shardOf('', 1000)).toBe(0x811c9dc5 % 1000);
    expect(shardOf('a', 2 ** 32)).toBe(0xe40c292c);
  });
});

describe('item helpers', () => {
  it('keyIdOf is equal for equal keys only', () => {
    expect(keyIdOf({ pk: { S: 'a' }, sk: { S: 'b' }, x: { N: '1' } }, 'pk', 'sk')).toBe(keyIdOf({ sk: { S: 'b' }, pk: { S: 'a' } }, 'pk', 'sk'));
    expect(keyIdOf({ pk: { S: 'a' }, sk: { S: 'b' } }, 'pk', 'sk')).not.toBe(keyIdOf({ pk: { S: 'a\u0000' }, sk: { S: 'b' } }, 'pk', 'sk'));
    expect(keyIdOf({ pk: { S: '1' } }, 'pk', undefined)).not.toBe(keyIdOf({ pk: { N: '1' } }, 'pk', undefined));
  });

  it('turns field paths into attribute paths', () => {
    expect(attributePath('event_data.amount')).toEqual(['event_data', 'amount']);
    expect(attributePath('$timestamp')).toEqual(['timestamp']);
  });
});
