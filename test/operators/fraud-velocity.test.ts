import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/core/errors.ts';
import type { Envelope } from '../../src/core/envelope.ts';
import { Metrics } from '../../src/core/metrics.ts';
import { compileKey, compilePredicate } from '../../src/core/expression.ts';
import type { FraudAlert } from '../../src/operators/fraud-alert.ts';
import { fraudVelocity, type VelocityOptions } from '../../src/operators/fraud-velocity.ts';
import { briefs, ev, expectLeasesSettled, login, purchase, SECOND, testScheduler, type GameEvent } from './fraud-helpers.ts';

const base = {
  id: 'rapid_purchases',
  key: compileKey('user_id'),
  severity: 'high',
  when: compilePredicate("event_type == 'purchase'"),
  threshold: 2,
  withinMs: 10 * SECOND,
} as const;

function velocity(options: Partial<VelocityOptions<GameEvent>> = {}) {
  return fraudVelocity<GameEvent>({ ...base, ...options });
}

/** Runs `marbles` through the operator and checks the alerts (as briefs) and the leases. */
function check(marbles: string, values: Record<string, Envelope<GameEvent>>, expected: string, alerts: Record<string, string> = {}, options: Partial<VelocityOptions<GameEvent>> = {}) {
  const emitted: Envelope<FraudAlert>[] = [];
  testScheduler().run(({ cold, expectObservable }) => {
    expectObservable(briefs(cold(marbles, values).pipe(velocity(options)), emitted)).toBe(expected, alerts);
  });
  expectLeasesSettled(Object.values(values), emitted);
  return emitted;
}

describe('fraudVelocity', () => {
  it('alerts when more than threshold matching events fall within the window', () => {
    const values = { a: purchase('e1', 'u1', 0), b: purchase('e2', 'u1', 4 * SECOND), c: purchase('e3', 'u1', 9 * SECOND) };
    const [alert] = check('abc|', values, '--x|', { x: 'u1:e1,e2,e3' });
    expect(alert?.value).toMatchObject({
      pattern: 'velocity',
      pattern_id: 'rapid_purchases',
      key: 'u1',
      severity: 'high',
      first_event_time: 0,
      last_event_time: 9 * SECOND,
      details: { count: 3, threshold: 2, within_ms: 10 * SECOND },
    });
    expect(alert?.value.alert_id).toMatch(/^[0-9a-f]{32}$/);
    expect(alert?.meta).toBe(values.c.meta);
    expect(alert?.lease).toBe(values.c.lease);
    expect(alert?.eventTimeMs).toBe(9 * SECOND);
  });

  it('does not alert at the threshold, across users, or on events `when` rejects', () => {
    const values = {
      a: purchase('e1', 'u1', 0),
      b: purchase('e2', 'u2', 1),
      c: login('e3', 'u1', 2),
      d: purchase('e4', 'u1', 3),
      e: login('e5', 'u1', 4),
      f: purchase('e6', 'u2', 5),
    };
    check('abcdef|', values, '------|');
  });

  it('treats events exactly withinMs apart as outside one window', () => {
    const out = { a: purchase('e1', 'u1', 0), b: purchase('e2', 'u1', 5 * SECOND), c: purchase('e3', 'u1', 10 * SECOND) };
    check('abc|', out, '---|');
    const inside = { a: purchase('e1', 'u1', 0), b: purchase('e2', 'u1', 5 * SECOND), c: purchase('e3', 'u1', 10 * SECOND - 1) };
    check('abc|', inside, '--x|', { x: 'u1:e1,e2,e3' });
  });

  it('alerts once per burst, again only after the alerted events left the window', () => {
    // threshold 2 in 10 s: e0..e2 alert; e3..e11 extend the burst quietly; e12 (at 12 s) is 10 s after
    // e2, the alert's newest event, so the key re-arms and alerts on the three newest events.
    const values: Record<string, Envelope<GameEvent>> = {};
    const letters = 'abcdefghijklm';
    for (let i = 0; i < letters.length; i++) values[letters[i] as string] = purchase(`e${i}`, 'u1', i * SECOND);
    const emitted = check(`${letters}|`, values, '--x---------y|', { x: 'u1:e0,e1,e2', y: 'u1:e10,e11,e12' });
    const ids = emitted.flatMap((a) => a.value.event_ids);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('places out-of-order events by event time and counts late ones', () => {
    const metrics = new Metrics();
    const values = {
      a: purchase('e1', 'u1', 0),
      b: purchase('e2', 'u1', 8 * SECOND),
      c: purchase('e3', 'u1', 4 * SECOND),
      d: purchase('e4', 'u1', 30 * SECOND),
      e: purchase('e5', 'u1', 20 * SECOND), // exactly withinMs before the newest: late
      f: purchase('e6', 'u1', 21 * SECOND),
    };
    const [alert] = check('abcdef|', values, '--x---|', { x: 'u1:e1,e3,e2' }, { metrics });
    expect(alert?.value.last_event_time).toBe(8 * SECOND);
    expect(alert?.lease).toBe(values.c.lease);
    expect(metrics.value('late_events_total', { step: 'rapid_purchases' })).toBe(1);
    expect(metrics.value('alerts_total', { step: 'rapid_purchases' })).toBe(1);
  });

  it('releases and counts events without a key', () => {
    const metrics = new Metrics();
    const values = { a: ev('e1', 0, { event_type: 'purchase' }), b: purchase('e2', 'u1', 1), c: ev('e3', 2, { event_type: 'purchase', user_id: '' }) };
    check('abc|', values, '---|', {}, { metrics, threshold: 1 });
    expect(metrics.value('records_in_total', { step: 'rapid_purchases', outcome: 'unkeyed' })).toBe(2);
  });

  it('drops the least recently used key beyond maxKeys and counts it', () => {
    const values = { a: purchase('e1', 'u1', 0), b: purchase('e2', 'u2', 1), c: purchase('e3', 'u3', 2), d: purchase('e4', 'u1', 3) };
    const metrics = new Metrics();
    check('abcd|', values, '----|', {}, { threshold: 1, maxKeys: 2, metrics });
    // u3 pushes out u1; u1 comes back fresh and pushes out u2.
    expect(metrics.value('state_limit_total', { step: 'rapid_purchases' })).toBe(2);
    const roomy = { a: purchase('e1', 'u1', 0), b: purchase('e2', 'u2', 1), c: purchase('e3', 'u3', 2), d: purchase('e4', 'u1', 3) };
    check('abcd|', roomy, '---x|', { x: 'u1:e1,e4' }, { threshold: 1, maxKeys: 3 });
  });

  it('forgets a key once all its events have left the window', () => {
    const values = { a: purchase('e1', 'u1', 0), b: purchase('e2', 'u1', 1 * SECOND), c: purchase('e3', 'u1', 11 * SECOND), d: purchase('e4', 'u1', 12 * SECOND) };
    check('abcd|', values, '----|');
  });

  it('gives the same alert ids when the same events are processed again', () => {
    const run = () => {
      const emitted: Envelope<FraudAlert>[] = [];
      testScheduler().run(({ cold, expectObservable }) => {
        const values = { a: purchase('e1', 'u1', 0), b: purchase('e2', 'u1', 1), c: purchase('e3', 'u1', 2) };
        expectObservable(briefs(cold('abc|', values).pipe(velocity()), emitted)).toBe('--x|', { x: 'u1:e1,e2,e3' });
      });
      return emitted.map((a) => a.value.alert_id);
    };
    expect(run()).toEqual(run());
  });

  it.each([
    [{ threshold: 0 }, 'option "threshold" must be an integer >= 1 (got 0)'],
    [{ threshold: 2.5 }, 'option "threshold" must be an integer >= 1 (got 2.5)'],
    [{ withinMs: -1 }, 'option "withinMs" must be a finite number > 0 (got -1)'],
    [{ severity: 'urgent' }, 'option "severity" must be one of low, medium, high, critical (got urgent)'],
    [{ maxKeys: 0 }, 'option "maxKeys" must be an integer >= 1 (got 0)'],
    [{ key: 'user_id' }, 'option "key" must be a function'],
  ])('rejects %o at construction', (bad, message) => {
    let caught: unknown;
    try {
      velocity(bad as Partial<VelocityOptions<GameEvent>>);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(ConfigError);
    expect((caught as ConfigError).problems).toEqual([`step "rapid_purchases": ${message}`]);
    expect((caught as ConfigError).stepId).toBe('rapid_purchases');
  });
});
