import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/core/errors.ts';
import type { Envelope } from '../../src/core/envelope.ts';
import { Metrics } from '../../src/core/metrics.ts';
import { compileField, compileKey, compilePredicate } from '../../src/core/expression.ts';
import type { FraudAlert } from '../../src/operators/fraud-alert.ts';
import { fraudAmount, type AmountOptions } from '../../src/operators/fraud-amount.ts';
import { briefs, ev, expectLeasesSettled, login, purchase, SECOND, testScheduler, type GameEvent } from './fraud-helpers.ts';

const base: AmountOptions<GameEvent> = {
  id: 'amount_spike',
  key: compileKey('user_id'),
  severity: 'medium',
  when: compilePredicate("event_type == 'purchase'"),
  amount: compileField('event_data.amount'),
  factor: 5,
  windowMs: 60 * SECOND,
  minSamples: 3,
};

const buy = (id: string, timeMs: number, amount: unknown, user = 'u1') => purchase(id, user, timeMs, { amount });

function check(marbles: string, values: Record<string, Envelope<GameEvent>>, expected: string, alerts: Record<string, string> = {}, options: Partial<AmountOptions<GameEvent>> = {}) {
  const emitted: Envelope<FraudAlert>[] = [];
  testScheduler().run(({ cold, expectObservable }) => {
    expectObservable(briefs(cold(marbles, values).pipe(fraudAmount<GameEvent>({ ...base, ...options })), emitted)).toBe(expected, alerts);
  });
  expectLeasesSettled(Object.values(values), emitted);
  return emitted;
}

describe('fraudAmount', () => {
  it('alerts on an amount above factor x the average of the previous amounts', () => {
    const values = { a: buy('e1', 0, 10), b: buy('e2', 1, 12), c: buy('e3', 2, 8), d: buy('e4', 3, 51) };
    const [alert] = check('abcd|', values, '---x|', { x: 'u1:e4' });
    expect(alert?.value).toMatchObject({
      pattern: 'amount',
      first_event_time: 3,
      last_event_time: 3,
      details: { amount: 51, rules: ['ratio'], average: 10, samples: 3, factor: 5, window_ms: 60 * SECOND },
    });
    expect(alert?.value.details.ratio).toBeCloseTo(5.1);
    expect(alert?.lease).toBe(values.d.lease);
  });

  it('does not alert at factor x the average, before minSamples, or across users', () => {
    check('abcd|', { a: buy('e1', 0, 10), b: buy('e2', 1, 12), c: buy('e3', 2, 8), d: buy('e4', 3, 50) }, '----|');
    check('abc|', { a: buy('e1', 0, 10), b: buy('e2', 1, 10), c: buy('e3', 2, 1000) }, '---|');
    check('abcd|', { a: buy('e1', 0, 10), b: buy('e2', 1, 10), c: buy('e3', 2, 10), d: buy('e4', 3, 1000, 'u2') }, '----|');
  });

  it('averages over (t - windowMs, t]: a sample exactly windowMs old is out', () => {
    const samples = () => ({ a: buy('e1', 0, 10), b: buy('e2', 1 * SECOND, 10), c: buy('e3', 2 * SECOND, 10) });
    check('abcd|', { ...samples(), d: buy('e4', 60 * SECOND, 100) }, '----|');
    check('abcd|', { ...samples(), d: buy('e4', 60 * SECOND - 1, 100) }, '---x|', { x: 'u1:e4' });
  });

  it('adds every judged amount to the history, anomalies included', () => {
    const values = { a: buy('e1', 0, 10), b: buy('e2', 1, 10), c: buy('e3', 2, 10), d: buy('e4', 3, 100), e: buy('e5', 4, 100) };
    // e5: the average is now (10 + 10 + 10 + 100) / 4 = 32.5, and 100 < 5 x 32.5.
    check('abcde|', values, '---x-|', { x: 'u1:e4' });
  });

  it('averages an out-of-order event over the amounts before it in event time only', () => {
    const values = { a: buy('e1', 10 * SECOND, 10), b: buy('e2', 30 * SECOND, 1000), c: buy('e3', 20 * SECOND, 100) };
    // Before e3 in time there is only e1 (10); the later e2 (1000) must not raise its average.
    const [, alert] = check('abc|', values, '-xy|', { x: 'u1:e2', y: 'u1:e3' }, { minSamples: 1 });
    expect(alert?.value.details).toMatchObject({ average: 10, samples: 1 });
    expect(alert?.eventTimeMs).toBe(20 * SECOND);
  });

  it('applies the absolute rule alone, on the first event, and to late events', () => {
    const metrics = new Metrics();
    const values = { a: buy('e1', 0, 1500), b: buy('e2', 1, 999), c: buy('e3', 2, 1001) };
    const emitted = check('abc|', values, 'x-y|', { x: 'u1:e1', y: 'u1:e3' }, { factor: undefined, windowMs: undefined, absoluteThreshold: 1000, metrics });
    expect(emitted[0]?.value.details).toEqual({ amount: 1500, rules: ['absolute'], absolute_threshold: 1000 });

    const late = { a: buy('e1', 100 * SECOND, 10), b: buy('e2', 40 * SECOND, 5000), c: buy('e3', 30 * SECOND, 50) };
    // e2 and e3 are both late for the ratio rule (counted); e2 still breaks the absolute one.
    check('abc|', late, '-x-|', { x: 'u1:e2' }, { absoluteThreshold: 1000, metrics });
    expect(metrics.value('late_events_total', { step: 'amount_spike' })).toBe(2);
  });

  it('ignores windowMs without factor (the spec always has a window)', () => {
    const values = { a: buy('e1', 0, 10), b: buy('e2', 1, 10), c: buy('e3', 2, 10), d: buy('e4', 3, 900) };
    check('abcd|', values, '----|', {}, { factor: undefined, absoluteThreshold: 1000 });
  });

  it('names both rules when both hold', () => {
    const values = { a: buy('e1', 0, 10), b: buy('e2', 1, 10), c: buy('e3', 2, 10), d: buy('e4', 3, 2000) };
    const [alert] = check('abcd|', values, '---x|', { x: 'u1:e4' }, { absoluteThreshold: 1000 });
    expect(alert?.value.details.rules).toEqual(['absolute', 'ratio']);
  });

  it('skips events without a numeric amount and events `when` rejects', () => {
    const values = {
      a: buy('e1', 0, 10),
      b: buy('e2', 1, '9000'),
      c: buy('e3', 2, 10),
      d: login('e4', 'u1', 3),
      e: ev('e5', 4, { user_id: 'u1', event_type: 'login', event_data: { amount: 0.01 } }),
      f: buy('e6', 5, 10),
      g: buy('e7', 6, 60),
    };
    check('abcdefg|', values, '------x|', { x: 'u1:e7' });
  });

  it('keeps at most maxSamplesPerKey amounts per key, dropping the oldest', () => {
    const metrics = new Metrics();
    const values = { a: buy('e1', 0, 1000), b: buy('e2', 1, 10), c: buy('e3', 2, 10), d: buy('e4', 3, 10), e: buy('e5', 4, 60) };
    // With 3 samples kept, e1 (1000) is dropped before e5 is judged: average 10, not 257.5.
    check('abcde|', values, '----x|', { x: 'u1:e5' }, { maxSamplesPerKey: 3, metrics });
    // One drop when e4 joins (e1 goes), one when e5 joins (e2 goes).
    expect(metrics.value('state_limit_total', { step: 'amount_spike' })).toBe(2);
  });

  it.each([
    [{ factor: undefined, windowMs: undefined }, 'give "factor" (with "windowMs") or "absoluteThreshold", or both'],
    [{ windowMs: undefined }, 'option "windowMs" must be a finite number > 0 (got undefined)'],
    [{ factor: 0 }, 'option "factor" must be a finite number > 0 (got 0)'],
    [{ absoluteThreshold: Number.NaN }, 'option "absoluteThreshold" must be a finite number (got NaN)'],
    [{ minSamples: 0 }, 'option "minSamples" must be an integer >= 1 (got 0)'],
    [{ amount: undefined }, 'option "amount" must be a function'],
  ])('rejects %o at construction', (bad, message) => {
    expect(() => fraudAmount<GameEvent>({ ...base, ...(bad as Partial<AmountOptions<GameEvent>>) })).toThrow(ConfigError);
    expect(() => fraudAmount<GameEvent>({ ...base, ...(bad as Partial<AmountOptions<GameEvent>>) })).toThrow(`step "amount_spike": ${message}`);
  });
});
