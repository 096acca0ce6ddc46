import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/core/errors.ts';
import { envelopeOf } from '../../src/core/envelope.ts';
import { compileField, compileKey, compilePredicate, compileTemplate } from '../../src/core/expression.ts';

const purchase = { event_type: 'purchase', user_id: 'u1', platform: 'ios', event_data: { amount: 250, currency: 'USD', tags: null } };

describe('compilePredicate', () => {
  it.each([
    ["event_type == 'purchase'", true],
    ["event_type != 'purchase'", false],
    ['event_data.amount > 100', true],
    ['event_data.amount >= 250 && event_data.amount <= 250', true],
    ['event_data.amount < 100', false],
    ["event_type == 'purchase' and event_data.amount > 100", true],
    ["event_type == 'login' or event_data.amount > 100", true],
    ["not (event_type == 'purchase')", false],
    ["!(event_type == 'purchase')", false],
    ["platform in ['ios', 'android']", true],
    ["platform not in ['ios', 'android']", false],
    ['event_data.amount in [1, 250, -3]', true],
    ['exists(event_data.amount)', true],
    ['exists(event_data.tags)', false],
    ['exists(event_data.missing.deeper)', false],
    ['event_data.missing > 1', false],
    ["event_data.amount > '100'", false],
    ['"a\\"b" == "a\\"b"', true],
    ['event_data.amount > -1.5e2', true],
    ['event_data.currency', true],
    ['event_data.tags', false],
  ])('%s -> %s', (source, expected) => {
    expect(compilePredicate(source)(purchase)).toBe(expected);
  });

  it('reads Kafka metadata through $ fields', () => {
    const { meta } = envelopeOf(null, { topic: 'transaction-events', partition: 2, key: Buffer.from('u1') });
    expect(compilePredicate("$topic == 'transaction-events' and $partition == 2 and $key == 'u1'")(purchase, meta)).toBe(true);
    expect(compilePredicate("$topic == 'x'")(purchase)).toBe(false);
  });

  it.each([
    ["event_type == 'purchase' and", 'unexpected end of expression at column 29'],
    ["event_type == = 'x'", 'unexpected character at column 15'],
    ["event_type == and", 'expected a field, a literal or "(" at column 15'],
    ['(a == 1', 'expected ")" at column 8'],
    ['a in [b]', 'expected a literal (string, number, true, false or null) at column 7'],
    ['a == 1 b', 'unexpected token at column 8'],
    ['a # 1', 'unexpected character at column 3'],
    ['$nope == 1', 'unknown metadata field $nope'],
  ])('rejects %s with a positioned ConfigError', (source, message) => {
    let caught: unknown;
    try {
      compilePredicate(source);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(ConfigError);
    expect((caught as ConfigError).message).toContain(message);
  });
});

describe('compileField / compileKey / compileTemplate', () => {
  it('reads nested paths and yields undefined for missing ones', () => {
    expect(compileField('event_data.amount')(purchase)).toBe(250);
    expect(compileField('event_data.nope.x')(purchase)).toBeUndefined();
    expect(compileField('user_id')('not an object')).toBeUndefined();
  });

  it('joins composite keys and refuses partial ones', () => {
    expect(compileKey('user_id')(purchase)).toBe('u1');
    expect(compileKey(['platform', 'user_id'])(purchase)).toBe('ios|u1');
    expect(compileKey(['platform', 'game_id'])(purchase)).toBeUndefined();
    expect(compileKey('event_data.amount')(purchase)).toBe('250');
  });

  it('fills templates', () => {
    expect(compileTemplate('USER#{user_id}#{event_data.currency}')(purchase)).toBe('USER#u1#USD');
    expect(compileTemplate('GAME#{game_id}')(purchase)).toBeUndefined();
    expect(compileTemplate('constant')(purchase)).toBe('constant');
  });
});
