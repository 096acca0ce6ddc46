import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/core/errors.ts';
import type { Envelope } from '../../src/core/envelope.ts';
import { Metrics } from '../../src/core/metrics.ts';
import { compileField, compileKey, compilePredicate } from '../../src/core/expression.ts';
import type { FraudAlert } from '../../src/operators/fraud-alert.ts';
import { fraudDistinct, type DistinctOptions } from '../../src/operators/fraud-distinct.ts';
import { briefs, ev, expectLeasesSettled, login, MINUTE, purchase, testScheduler, type GameEvent } from './fraud-helpers.ts';

const base: DistinctOptions<GameEvent> = {
  id: 'many_devices',
  key: compileKey('user_id'),
  severity: 'medium',
  when: compilePredicate("event_type == 'login'"),
  field: compileField('event_data.device_id'),
  threshold: 3,
  withinMs: 10 * MINUTE,
};

const at = (minutes: number) => minutes * MINUTE;

function check(marbles: string, values: Record<string, Envelope<GameEvent>>, expected: string, alerts: Record<string, string> = {}, options: Partial<DistinctOptions<GameEvent>> = {}) {
  const emitted: Envelope<FraudAlert>[] = [];
  testScheduler().run(({ cold, expectObservable }) => {
    expectObservable(briefs(cold(marbles, values).pipe(fraudDistinct<GameEvent>({ ...base, ...options })), emitted)).toBe(expected, alerts);
  });
  expectLeasesSettled(Object.values(values), emitted);
  return emitted;
}

describe('fraudDistinct', () => {
  it('alerts when more than threshold distinct values fall within the window', () => {
    const values = { a: login('e1', 'u1', at(0), 'd1'), b: login('e2', 'u1', at(2), 'd2'), c: login('e3', 'u1', at(4), 'd3'), d: login('e4', 'u1', at(6), 'd4') };
    const [alert] = check('abcd|', values, '---x|', { x: 'u1:e1,e2,e3,e4' });
    expect(alert?.value).toMatchObject({
      pattern: 'distinct',
      first_event_time: 0,
      last_event_time: at(6),
      details: { count: 4, threshold: 3, within_ms: 10 * MINUTE, values: ['d1', 'd2', 'd3', 'd4'] },
    });
    expect(alert?.lease).toBe(values.d.lease);
  });

  it('does not alert on repeated values, other users, other event types or missing fields', () => {
    const values = {
      a: login('e1', 'u1', at(0), 'd1'),
      b: login('e2', 'u1', at(1), 'd2'),
      c: login('e3', 'u1', at(2), 'd1'),
      d: login('e4', 'u1', at(3), 'd3'),
      e: login('e5', 'u2', at(4), 'd4'),
      f: purchase('e6', 'u1', at(5), { device_id: 'd5' }),
      g: login('e7', 'u1', at(6)),
      h: login('e8', 'u1', at(7), 'd2'),
    };
    check('abcdefgh|', values, '--------|');
  });

  it('treats values seen exactly withinMs apart as outside one window', () => {
    const three = () => ({ a: login('e1', 'u1', at(0), 'd1'), b: login('e2', 'u1', at(1), 'd2'), c: login('e3', 'u1', at(2), 'd3') });
    check('abcd|', { ...three(), d: login('e4', 'u1', at(10), 'd4') }, '----|');
    check('abcd|', { ...three(), d: login('e4', 'u1', at(10) - 1, 'd4') }, '---x|', { x: 'u1:e1,e2,e3,e4' });
  });

  it('keeps a value in the window from its latest sighting', () => {
    // d1 is seen at 0 and again at 8: at 12 it is still in the window, so d4 makes four.
    const values = { a: login('e1', 'u1', at(0), 'd1'), b: login('e2', 'u1', at(5), 'd2'), c: login('e3', 'u1', at(6), 'd3'), d: login('e4', 'u1', at(8), 'd1'), e: login('e5', 'u1', at(12), 'd4') };
    check('abcde|', values, '----x|', { x: 'u1:e2,e3,e4,e5' });
  });

  it('alerts once per excursion above the threshold', () => {
    const values = {
      a: login('e1', 'u1', at(0), 'd1'),
      b: login('e2', 'u1', at(1), 'd2'),
      c: login('e3', 'u1', at(2), 'd3'),
      d: login('e4', 'u1', at(3), 'd4'), // 4 > 3: alert
      e: login('e5', 'u1', at(4), 'd5'), // still above: quiet
      f: login('e6', 'u1', at(12), 'd6'), // d1..d3 left: 2 before d6 (then 3), the excursion is over
      g: login('e7', 'u1', at(12.5), 'd7'), // 4 > 3 again: a new excursion, alert
      h: login('e8', 'u1', at(12.6), 'd8'), // still above: quiet
    };
    check('abcdefgh|', values, '---x--y-|', { x: 'u1:e1,e2,e3,e4', y: 'u1:e4,e5,e6,e7' });
  });

  it('places out-of-order values by event time and counts late ones', () => {
    const metrics = new Metrics();
    const values = {
      a: login('e1', 'u1', at(1), 'd1'),
      b: login('e2', 'u1', at(3), 'd2'),
      c: login('e3', 'u1', at(9), 'd3'),
      d: login('e4', 'u1', at(2), 'd4'),
      e: login('e5', 'u1', at(-1), 'd5'), // exactly withinMs before the newest (9): late
    };
    const [alert] = check('abcde|', values, '---x-|', { x: 'u1:e1,e4,e2,e3' }, { metrics });
    expect(alert?.value.details.values).toEqual(['d1', 'd4', 'd2', 'd3']);
    expect(alert?.value.last_event_time).toBe(at(9));
    expect(metrics.value('late_events_total', { step: 'many_devices' })).toBe(1);
  });

  it('compares values as strings and objects as JSON', () => {
    const device = (id: string, minute: number, d: unknown) => ev(id, at(minute), { user_id: 'u1', event_type: 'login', event_data: { device_id: d } });
    const values = { a: device('e1', 0, 7), b: device('e2', 1, '7'), c: device('e3', 2, { hw: 'x' }), d: device('e4', 3, { hw: 'x' }), e: device('e5', 4, true), f: device('e6', 5, 'y') };
    // 7 and '7' are one value (e2 refreshes it), as are the two equal objects (e4 refreshes e3).
    check('abcdef|', values, '-----x|', { x: 'u1:e2,e4,e5,e6' });
  });

  it.each([
    [{ threshold: 0 }, 'option "threshold" must be an integer >= 1 (got 0)'],
    [{ withinMs: 0 }, 'option "withinMs" must be a finite number > 0 (got 0)'],
    [{ field: 'device_id' }, 'option "field" must be a function'],
  ])('rejects %o at construction', (bad, message) => {
    expect(() => fraudDistinct<GameEvent>({ ...base, ...(bad as Partial<DistinctOptions<GameEvent>>) })).toThrow(ConfigError);
    expect(() => fraudDistinct<GameEvent>({ ...base, ...(bad as Partial<DistinctOptions<GameEvent>>) })).toThrow(`step "many_devices": ${message}`);
  });
});
