import { from } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { ConfigError, ValidationError } from '../../src/errors.ts';
import { validate, type EventSchema } from '../../src/operators/validate.ts';
import { deadLetters, expectAllDone, record, testScheduler } from './record-helpers.ts';

const schema: EventSchema = {
  common: { event_id: 'string', event_type: 'string', user_id: 'string', timestamp: 'timestamp', platform: 'string?' },
  events: {
    purchase: { 'event_data.amount': 'number', 'event_data.currency': 'string', 'event_data.items': 'array?' },
    level_complete: { 'event_data.level': 'integer', 'event_data.perfect': 'boolean', event_data: 'object' },
  },
};
const base = { event_id: 'e1', user_id: 'u1', timestamp: '2024-03-07T12:00:00Z' };
const purchase = { ...base, event_type: 'purchase', event_data: { amount: 9.99, currency: 'USD' } };
const level = { ...base, event_type: 'level_complete', timestamp: 1_709_812_800_000, platform: null, event_data: { level: 3, perfect: false } };

describe('validate', () => {
  it('passes valid records and dead-letters the others with every problem', () => {
    const { deadLetter, letters } = deadLetters();
    const a = record(purchase, 1);
    const b = record({ ...purchase, event_data: { amount: 'abc' } }, 2);
    const c = record(level, 3);
    testScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold('a-b-c-|', { a, b, c });
      expectObservable(source.pipe(validate({ id: 'check', schema, deadLetter }))).toBe('a---c-|', { a, c });
      expectSubscriptions(source.subscriptions).toBe('^-----!');
    });
    expect(letters).toHaveLength(1);
    expect(letters[0]?.envelope).toBe(b);
    expect(letters[0]?.error).toBeInstanceOf(ValidationError);
    expect(letters[0]?.error.stepId).toBe('check');
    expect(letters[0]?.error.message).toBe('event_data.amount: expected number, got string "abc"; event_data.currency: expected string, got missing');
  });

  it('propagates errors and unsubscription; leases move once', () => {
    const { deadLetter } = deadLetters();
    const a = record(purchase);
    testScheduler().run(({ cold, hot, expectObservable, expectSubscriptions }) => {
      const op = validate({ id: 'check', schema, deadLetter });
      expectObservable(cold('a#', { a }).pipe(op)).toBe('a#', { a });
      const endless = hot('a-a-a', { a });
      expectObservable(endless.pipe(op), '^-!').toBe('a-', { a });
      expectSubscriptions(endless.subscriptions).toBe('^-!');
    });
    const records = [record(purchase), record({}), record(level)];
    from(records).pipe(validate({ id: 'check', schema, deadLetter })).subscribe((e) => e.lease.release());
    expectAllDone(records);
  });

  it('throws a ConfigError naming the step for a bad schema', () => {
    const { deadLetter } = deadLetters();
    expect(() => validate({ id: 'check', schema: { common: { a: 'float' as 'number' } }, deadLetter })).toThrow(ConfigError);
    expect(() => validate({ id: 'check', schema: { common: { a: 'float' as 'number' } }, deadLetter })).toThrow(/step "check": schema.common.a: unknown type "float"/);
  });
});
