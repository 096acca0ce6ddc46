import { map, type OperatorFunction } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/core/errors.ts';
import { envelopeOf, NOOP_LEASE, type CountingLease, type Envelope } from '../../src/core/envelope.ts';
import { compileField, compileKey, compilePredicate } from '../../src/core/expression.ts';
import type { FraudAlert } from '../../src/operators/fraud-alert.ts';
import { fraudAmount } from '../../src/operators/fraud-amount.ts';
import { fraudDistinct } from '../../src/operators/fraud-distinct.ts';
import { OptionChecks } from '../../src/operators/fraud-pattern.ts';
import { fraudSequence } from '../../src/operators/fraud-sequence.ts';
import { fraudVelocity } from '../../src/operators/fraud-velocity.ts';
import { brief, purchase, testScheduler, type GameEvent } from './fraud-helpers.ts';

const key = compileKey('user_id');
const isPurchase = compilePredicate("event_type == 'purchase'");

/** Each pattern set to alert on the second purchase of a user, with the alert it gives. */
const patterns: [string, string, () => OperatorFunction<Envelope<GameEvent>, Envelope<FraudAlert>>][] = [
  ['velocity', 'u1:e1,e2', () => fraudVelocity<GameEvent>({ id: 'v', key, severity: 'low', when: isPurchase, threshold: 1, withinMs: 1000 })],
  ['amount', 'u1:e2', () => fraudAmount<GameEvent>({ id: 'a', key, severity: 'low', amount: compileField('event_data.amount'), factor: 1, windowMs: 1000, minSamples: 1 })],
  ['distinct', 'u1:e1,e2', () => fraudDistinct<GameEvent>({ id: 'd', key, severity: 'low', field: compileField('event_id'), threshold: 1, withinMs: 1000 })],
  [
    'sequence',
    'u1:e1,e2',
    () =>
      fraudSequence<GameEvent>({
        id: 's',
        key,
        severity: 'low',
        withinMs: 1000,
        steps: [
          { name: 'one', when: isPurchase },
          { name: 'two', when: isPurchase },
        ],
      }),
  ],
];

const values = () => ({ a: purchase('e1', 'u1', 1, { amount: 1 }), b: purchase('e2', 'u1', 2, { amount: 2 }), c: purchase('e3', 'u2', 3, { amount: 1 }) });

describe.each(patterns)('%s: the stream contract', (_name, alert, make) => {
  it('emits alerts and completes', () => {
    testScheduler().run(({ cold, expectObservable }) => {
      const source = cold('a-b-c|', values());
      expectObservable(source.pipe(make(), map(brief))).toBe('--x--|', { x: alert });
    });
  });

  it('passes an upstream error on and holds no leases', () => {
    const vs = values();
    testScheduler().run(({ cold, expectObservable }) => {
      expectObservable(cold('a-#', vs, new Error('boom')).pipe(make())).toBe('--#', undefined, new Error('boom'));
    });
    expect((vs.a.lease as CountingLease).done).toBe(true);
  });

  it('unsubscribes from the source when unsubscribed', () => {
    testScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold('a---b|', values());
      expectObservable(source.pipe(make()), '^--!').toBe('----');
      expectSubscriptions(source.subscriptions).toBe('^--!');
    });
  });

  it('keeps separate state per subscription', () => {
    testScheduler().run(({ cold, expectObservable }) => {
      const op = make();
      const first = cold('a|', { a: purchase('e1', 'u1', 1, { amount: 1 }) }).pipe(op);
      const second = cold('b|', { b: purchase('e2', 'u1', 2, { amount: 2 }) }).pipe(op);
      expectObservable(first).toBe('-|');
      expectObservable(second).toBe('-|');
    });
  });
});

describe('the fraud skeleton', () => {
  it('errors the stream when a compiled function throws, leaving that record unreleased', () => {
    const vs = values();
    const failing = (value: GameEvent) => {
      if (value.event_id === 'e2') throw new Error('bad key');
      return value.user_id;
    };
    const op = fraudVelocity<GameEvent>({ id: 'v', key: failing, severity: 'low', threshold: 1, withinMs: 1000 });
    testScheduler().run(({ cold, expectObservable }) => {
      expectObservable(cold('a-b-c|', vs).pipe(op)).toBe('--#', undefined, new Error('bad key'));
    });
    expect((vs.a.lease as CountingLease).done).toBe(true);
    expect((vs.b.lease as CountingLease).refs).toBe(1);
  });
});

describe('OptionChecks', () => {
  it('OptionChecks names the step in each problem', () => {
    expect(() => new OptionChecks({ id: '', key, severity: 'low' }, 'fraudVelocity')).toThrow('fraudVelocity: option "id" (the step id) must be a non-empty string');
    const checks = new OptionChecks({ id: 'x', key, severity: 'low' }, 'fraudVelocity');
    checks.integer('threshold', -1, 1);
    checks.positive('withinMs', Infinity);
    let caught: unknown;
    try {
      checks.done();
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(ConfigError);
    expect((caught as ConfigError).problems).toEqual([
      'step "x": option "threshold" must be an integer >= 1 (got -1)',
      'step "x": option "withinMs" must be a finite number > 0 (got Infinity)',
    ]);
  });
});

describe('event ids', () => {
  it('falls back to topic/partition/offset when the event has no event_id', () => {
    const noId = (offset: number, t: number) => envelopeOf<GameEvent>({ user_id: 'u1', event_type: 'purchase' }, { topic: 'game-events', offset }, NOOP_LEASE, t);
    testScheduler().run(({ cold, expectObservable }) => {
      const op = fraudVelocity<GameEvent>({ id: 'v', key, severity: 'low', threshold: 1, withinMs: 1000 });
      expectObservable(cold('ab|', { a: noId(41, 1), b: noId(42, 2) }).pipe(op, map(brief))).toBe('-x|', { x: 'u1:game-events/0/41,game-events/0/42' });
    });
  });

  it('reads a custom eventId getter', () => {
    testScheduler().run(({ cold, expectObservable }) => {
      const op = fraudVelocity<GameEvent>({ id: 'v', key, severity: 'low', threshold: 1, withinMs: 1000, eventId: compileField('event_data.amount') });
      const out = cold('ab|', { a: purchase('e1', 'u1', 1, { amount: 10 }), b: purchase('e2', 'u1', 2, { amount: 20 }) }).pipe(op);
      expectObservable(out.pipe(map(brief))).toBe('-x|', { x: 'u1:10,20' });
    });
  });
});
