import { from } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { ConfigError, ValidationError } from '../../src/core/errors.ts';
import { validate } from '../../src/operators/validate.ts';
import { baseEvent, deadLetters, expectAllDone, purchaseEvent, record, SCHEMA, testScheduler } from './record-helpers.ts';

const schema = SCHEMA;
const base = baseEvent;
const purchase = purchaseEvent;
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
    expect(letters[0]?.error.summary).toBe('event_data.amount: expected number, got string; event_data.currency: expected string, got missing');
  });

  it('keeps field values and unknown event types out of the summary that logs show', () => {
    const { deadLetter, letters } = deadLetters();
    const secret = 'ann@example.com';
    from([record({ ...purchase, user_id: 42, event_data: { amount: secret, currency: 'USD' } }), record({ ...base, event_type: secret })])
      .pipe(validate({ id: 'check', schema, deadLetter }))
      .subscribe();
    expect(letters.map((l) => l.error.summary)).toEqual([
      'user_id: expected string, got number; event_data.amount: expected number, got string',
      'event_type: unknown event type (known: purchase, level_complete)',
    ]);
    for (const l of letters) expect(l.error.message).toMatch(/ann@example\.com|42/);
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
