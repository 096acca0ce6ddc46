import { from, lastValueFrom, toArray } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/core/errors.ts';
import { envelopeOf, type Envelope } from '../../src/core/envelope.ts';
import { Metrics } from '../../src/core/metrics.ts';
import { compileField, compileKey, compilePredicate } from '../../src/core/expression.ts';
import type { FraudAlert } from '../../src/operators/fraud-alert.ts';
import { fraudSequence, type SequenceOptions } from '../../src/operators/fraud-sequence.ts';
import { briefs, ev, expectLeasesSettled, login, MINUTE, purchase, SECOND, testScheduler, type GameEvent } from './fraud-helpers.ts';

const refundAfterPurchase: SequenceOptions<GameEvent> = {
  id: 'refund_after_purchase',
  key: compileKey('user_id'),
  severity: 'high',
  withinMs: 5 * MINUTE,
  steps: [
    { name: 'purchase', when: compilePredicate("event_type == 'purchase'") },
    { name: 'refund', when: compilePredicate("event_type == 'refund_request'") },
  ],
  correlate: compileField('event_data.transaction_id'),
};

const newAccountSpend: SequenceOptions<GameEvent> = {
  id: 'new_account_spend',
  key: compileKey('user_id'),
  severity: 'critical',
  withinMs: 60 * SECOND,
  steps: [
    { name: 'created', when: compilePredicate("event_type == 'account_created'") },
    { name: 'big_purchase', when: compilePredicate("event_type == 'purchase' and event_data.amount > 100") },
  ],
};

const buy = (id: string, timeMs: number, txn: string, user = 'u1') => purchase(id, user, timeMs, { transaction_id: txn });
const refund = (id: string, timeMs: number, txn: string, user = 'u1') => ev(id, timeMs, { user_id: user, event_type: 'refund_request', event_data: { transaction_id: txn } });
const created = (id: string, timeMs: number, user = 'u1') => ev(id, timeMs, { user_id: user, event_type: 'account_created' });
const spend = (id: string, timeMs: number, amount: number, user = 'u1') => purchase(id, user, timeMs, { amount });

function check(
  options: SequenceOptions<GameEvent>,
  marbles: string,
  values: Record<string, Envelope<GameEvent>>,
  expected: string,
  alerts: Record<string, string> = {},
) {
  const emitted: Envelope<FraudAlert>[] = [];
  testScheduler().run(({ cold, expectObservable }) => {
    expectObservable(briefs(cold(marbles, values).pipe(fraudSequence<GameEvent>(options)), emitted)).toBe(expected, alerts);
  });
  expectLeasesSettled(Object.values(values), emitted);
  return emitted;
}

describe('fraudSequence: purchase then refund_request of the same transaction within 5 min', () => {
  it('alerts, with other events in between (relaxed contiguity)', () => {
    const values = { a: buy('e1', 0, 't1'), b: login('e2', 'u1', 1), c: buy('e3', 2, 't2'), d: refund('e4', 4 * MINUTE, 't1') };
    const [alert] = check(refundAfterPurchase, 'abcd|', values, '---x|', { x: 'u1:e1,e4' });
    expect(alert?.value).toMatchObject({
      pattern: 'sequence',
      severity: 'high',
      first_event_time: 0,
      last_event_time: 4 * MINUTE,
      details: {
        steps: [
          { name: 'purchase', event_id: 'e1', time: 0 },
          { name: 'refund', event_id: 'e4', time: 4 * MINUTE },
        ],
        within_ms: 5 * MINUTE,
        correlation: 't1',
      },
    });
    expect(alert?.lease).toBe(values.d.lease);
  });

  it('does not alert for another transaction, another user, a refund first, or a missing transaction id', () => {
    const values = {
      a: buy('e1', 0, 't1'),
      b: refund('e2', 1, 't2'),
      c: refund('e3', 2, 't1', 'u2'),
      d: refund('e4', 3, 't3'),
      e: buy('e5', 4, 't3'),
      f: ev('e6', 5, { user_id: 'u1', event_type: 'refund_request' }),
    };
    check(refundAfterPurchase, 'abcdef|', values, '------|');
  });

  it('treats a refund exactly withinMs after the purchase as too late', () => {
    check(refundAfterPurchase, 'ab|', { a: buy('e1', 0, 't1'), b: refund('e2', 5 * MINUTE, 't1') }, '--|');
    check(refundAfterPurchase, 'ab|', { a: buy('e1', 0, 't1'), b: refund('e2', 5 * MINUTE - 1, 't1') }, '-x|', { x: 'u1:e1,e2' });
  });

  it('matches a refund that arrives before its purchase when the event times are in order', () => {
    const values = { a: refund('e2', 3 * MINUTE, 't1'), b: buy('e1', 1 * MINUTE, 't1') };
    const [alert] = check(refundAfterPurchase, 'ab|', values, '-x|', { x: 'u1:e1,e2' });
    expect(alert?.lease).toBe(values.b.lease);
    expect(alert?.eventTimeMs).toBe(3 * MINUTE);
    expect(alert?.meta).toBe(values.b.meta);
  });

  it('skips past the match: two purchases then one refund make one alert', () => {
    const values = { a: buy('e1', 0, 't1'), b: buy('e2', 1, 't1'), c: refund('e3', 2, 't1'), d: refund('e4', 3, 't1') };
    check(refundAfterPurchase, 'abcd|', values, '--x-|', { x: 'u1:e1,e3' });
  });

  it('keeps at most maxPartialsPerKey buffered events, dropping the oldest', () => {
    const metrics = new Metrics();
    const values = { a: buy('e1', 0, 't1'), b: buy('e2', 1, 't2'), c: buy('e3', 2, 't3'), d: refund('e4', 3, 't1'), e: refund('e5', 4, 't3') };
    check({ ...refundAfterPurchase, maxPartialsPerKey: 2, metrics }, 'abcde|', values, '----x|', { x: 'u1:e3,e5' });
    // e3 pushes out e1; e4 (its refund, unmatched) is buffered and pushes out e2.
    expect(metrics.value('state_limit_total', { step: 'refund_after_purchase' })).toBe(2);
  });
});

describe('fraudSequence: account_created then purchase > 100 within 60 s', () => {
  it('alerts on the first big purchase after the account is created', () => {
    const values = { a: created('e1', 0), b: spend('e2', 10 * SECOND, 50), c: login('e3', 'u1', 20 * SECOND), d: spend('e4', 30 * SECOND, 150), e: spend('e5', 31 * SECOND, 500) };
    check(newAccountSpend, 'abcde|', values, '---x-|', { x: 'u1:e1,e4' });
  });

  it('does not alert on small purchases, late purchases, or big purchases without a creation', () => {
    const values = { a: spend('e1', 0, 500), b: created('e2', 1 * SECOND), c: spend('e3', 30 * SECOND, 100), d: spend('e4', 61 * SECOND, 500), e: spend('e5', 62 * SECOND, 500, 'u2') };
    check(newAccountSpend, 'abcde|', values, '-----|');
  });

  it('expires partial matches with the time bound and counts late events', () => {
    const metrics = new Metrics();
    const values = { a: created('e1', 0), b: login('e2', 'u1', 90 * SECOND), c: spend('e3', 100 * SECOND, 500), d: created('e4', 40 * SECOND), e: spend('e5', 41 * SECOND, 500) };
    // e4 is exactly 60 s before the newest step event (e3): late. So is e5's partner, so e5 does not match.
    check({ ...newAccountSpend, metrics }, 'abcde|', values, '-----|');
    expect(metrics.value('late_events_total', { step: 'new_account_spend' })).toBe(1);
  });
});

describe('fraudSequence: three steps and overlapping steps', () => {
  const threeSteps: SequenceOptions<GameEvent> = {
    id: 'takeover',
    key: compileKey('user_id'),
    severity: 'critical',
    withinMs: 10 * MINUTE,
    steps: [
      { name: 'password_reset', when: compilePredicate("event_type == 'password_reset'") },
      { name: 'new_device', when: compilePredicate("event_type == 'login' and event_data.device_id == 'new'") },
      { name: 'cash_out', when: compilePredicate("event_type == 'purchase'") },
    ],
  };
  const reset = (id: string, timeMs: number) => ev(id, timeMs, { user_id: 'u1', event_type: 'password_reset' });

  it('alerts on A, B, C in order, taking the first B after A', () => {
    const values = { a: purchase('e1', 'u1', 0), b: reset('e2', 1), c: login('e3', 'u1', 2, 'new'), d: login('e4', 'u1', 3, 'new'), e: purchase('e5', 'u1', 4) };
    const [alert] = check(threeSteps, 'abcde|', values, '----x|', { x: 'u1:e2,e3,e5' });
    expect((alert?.value.details.steps as { name: string }[]).map((s) => s.name)).toEqual(['password_reset', 'new_device', 'cash_out']);
  });

  it('needs every step, in order, within the bound from the first', () => {
    check(threeSteps, 'abc|', { a: reset('e1', 0), b: purchase('e2', 'u1', 1), c: login('e3', 'u1', 2, 'new') }, '---|');
    check(threeSteps, 'abc|', { a: reset('e1', 0), b: login('e2', 'u1', 1, 'new'), c: purchase('e3', 'u1', 10 * MINUTE) }, '---|');
  });

  it('completes a chain whose middle step arrives last', () => {
    const values = { a: reset('e1', 0), b: purchase('e3', 'u1', 5 * MINUTE), c: login('e2', 'u1', 2 * MINUTE, 'new') };
    const [alert] = check(threeSteps, 'abc|', values, '--x|', { x: 'u1:e1,e2,e3' });
    expect(alert?.value.last_event_time).toBe(5 * MINUTE);
  });

  it('lets one event type play two steps: two purchases within 60 s', () => {
    const twice = compilePredicate("event_type == 'purchase'");
    const options: SequenceOptions<GameEvent> = { ...newAccountSpend, id: 'double_purchase', steps: [{ name: 'first', when: twice }, { name: 'second', when: twice }] };
    const values = { a: spend('e1', 0, 1), b: spend('e2', 70 * SECOND, 1), c: spend('e3', 80 * SECOND, 1), d: spend('e4', 90 * SECOND, 1) };
    check(options, 'abcd|', values, '--x-|', { x: 'u1:e2,e3' });
  });
});

describe('fraudSequence: construction', () => {
  const when = compilePredicate('true');
  it.each([
    [{ steps: [{ name: 'a', when }] }, 'option "steps" must list 2 or 3 steps'],
    [{ steps: [1, 2, 3, 4].map((i) => ({ name: `s${i}`, when })) }, 'option "steps" must list 2 or 3 steps'],
    [{ steps: [{ name: 'a', when }, { name: 'a', when }] }, 'step names must be unique'],
    [{ steps: [{ name: 'a', when }, { name: '', when }] }, 'steps[1].name must be a non-empty string'],
    [{ steps: [{ name: 'a', when }, { name: 'b', when: "event_type == 'x'" }] }, 'option "steps[1].when" must be a function'],
    [{ maxPartialsPerKey: 0 }, 'option "maxPartialsPerKey" must be an integer >= 1 (got 0)'],
  ])('rejects %o', (bad, message) => {
    const build = () => fraudSequence<GameEvent>({ ...refundAfterPurchase, ...(bad as Partial<SequenceOptions<GameEvent>>) });
    expect(build).toThrow(ConfigError);
    expect(build).toThrow(`step "refund_after_purchase": ${message}`);
  });
});

describe('fraudSequence across partitions', () => {
  // Regression (1M benchmark: 45 of 50 refund cases found): a replay hands over minutes of event time
  // of one partition per fetch; state was expired against the newest time over all partitions, so a
  // purchase on a partition behind the others was dropped before its refund arrived.
  it('keeps a key from a partition behind the others until that partition has moved past its window', async () => {
    const on = (partition: number, event: Envelope<GameEvent>) => envelopeOf(event.value, { ...event.meta, partition }, event.lease, event.eventTimeMs);
    const input = [
      on(1, buy('e1', 0, 't1', 'slow')),
      // Partition 0 runs 20 minutes ahead, past several sweeps of the operator's state.
      ...Array.from({ length: 600 }, (_, i) => on(0, buy(`f${i}`, 2 * i * SECOND, `x${i}`, `fast${i}`))),
      on(1, refund('e2', 2 * MINUTE, 't1', 'slow')),
    ];
    const alerts = await lastValueFrom(from(input).pipe(fraudSequence<GameEvent>(refundAfterPurchase), toArray()));
    expect(alerts.map((a) => `${a.value.key}:${a.value.event_ids.join(',')}`)).toEqual(['slow:e1,e2']);
  });
});

