import { from } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/core/errors.ts';
import { project, type ProjectOptions } from '../../src/operators/project.ts';
import { expectAllDone, record, testScheduler } from './record-helpers.ts';

const event = { user_id: 'u1', platform: 'ios', event_data: { amount: 250, currency: 'USD', device: { os: 'ios' } } };

function projected(fields: ProjectOptions['fields'], value: unknown = event): unknown {
  let out: unknown;
  from([record(value, 0, { topic: 'purchases' })]).pipe(project({ id: 'p', fields })).subscribe((e) => (out = e.value));
  return out;
}

describe('project', () => {
  it('keeps listed paths with their nesting, leaving out missing ones', () => {
    expect(projected(['user_id', 'event_data.amount', 'event_data.device.os', 'nope', 'event_data.nope.deeper'])).toEqual({
      user_id: 'u1',
      event_data: { amount: 250, device: { os: 'ios' } },
    });
  });

  it('keeps a whole object once when a path under it is listed too, without touching the input', () => {
    const value = structuredClone(event);
    const out = projected(['event_data.amount', 'event_data'], value) as { event_data: unknown };
    expect(out).toEqual({ event_data: event.event_data });
    expect(value).toEqual(event);
  });

  it('computes named fields from expressions and functions', () => {
    expect(
      projected({
        user: 'user_id',
        amount: 'event_data.amount',
        big: 'event_data.amount > 100',
        topic: '$topic',
        missing: 'nope',
        doubled: (v) => ((v as typeof event).event_data.amount * 2),
      }),
    ).toEqual({ user: 'u1', amount: 250, big: true, topic: 'purchases', doubled: 500 });
  });

  it('emits in marbles, propagates errors and unsubscription; leases pass through', () => {
    const a = record(event);
    const expected = { ...a, value: { user_id: 'u1' } };
    testScheduler().run(({ cold, hot, expectObservable, expectSubscriptions }) => {
      const op = project({ id: 'p', fields: ['user_id'] });
      expectObservable(cold('a-a|', { a }).pipe(op)).toBe('a-a|', { a: expected });
      expectObservable(cold('a#', { a }).pipe(op)).toBe('a#', { a: expected });
      const endless = hot('a-a-a', { a });
      expectObservable(endless.pipe(op), '^-!').toBe('a-', { a: expected });
      expectSubscriptions(endless.subscriptions).toBe('^-!');
    });
    const records = [record(event), record(null)];
    from(records).pipe(project({ id: 'p', fields: ['user_id'] })).subscribe((e) => e.lease.release());
    expectAllDone(records);
  });

  it.each([
    [[], /lists no field/],
    [{}, /maps no field/],
    [['$topic'], /is not a field path/],
    [['a..b'], /is not a field path/],
    [['__proto__.x'], /is not a field path/],
    [{ x: 'a ==' }, /step "p": fields.x: unexpected end/],
  ])('refuses %j with a ConfigError naming the step', (fields, message) => {
    expect(() => project({ id: 'p', fields: fields as ProjectOptions['fields'] })).toThrow(ConfigError);
    expect(() => project({ id: 'p', fields: fields as ProjectOptions['fields'] })).toThrow(message);
  });
});
