import { tap } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { describe, expect, expectTypeOf, it } from 'vitest';
import { ConfigError, OperatorError, StateLimitError, ValidationError } from '../../src/core/errors.ts';
import type { Routed } from '../../src/core/envelope.ts';
import { Metrics } from '../../src/core/metrics.ts';
import { count, eventTimeFromField, hopping, session, sum, tumbling, window } from '../../src/operators/window.ts';
import type { WindowOptions, WindowResult } from '../../src/operators/window.ts';
import { distinct, type Aggregator } from '../../src/operators/aggregators.ts';
import { countingScheduler, Events, result, view } from './window-fixtures.ts';
import type { Ev } from './window-fixtures.ts';

const testScheduler = () => new TestScheduler((actual, expected) => expect(actual).toEqual(expected));

function minuteWindows(events: Events, overrides: Partial<WindowOptions<Ev>> = {}) {
  return window<Ev, Record<string, Aggregator<Ev>>>({
    id: 'w',
    window: tumbling({ sizeMs: 60_000 }),
    key: (e) => e.key,
    eventTime: eventTimeFromField((e: Ev) => e.t),
    aggregators: { events: count(), total: sum((e: Ev) => e.amount) },
    deadLetter: events.deadLetter,
    ...overrides,
  });
}

describe('window: tumbling', () => {
  it('emits one final result per key and window when the watermark passes, the rest on completion', () => {
    const e = new Events();
    testScheduler().run(({ cold, expectObservable }) => {
      const source = cold('a-b-c-d---|', {
        a: e.ev('a', 'g1', 1000, { amount: 5 }),
        b: e.ev('b', 'g2', 2000, { amount: 7 }),
        c: e.ev('c', 'g1', 30_000, { amount: 'bad' }),
        d: e.ev('d', 'g1', 61_000, { amount: 1 }),
      });
      expectObservable(source.pipe(minuteWindows(e), view)).toBe('------(xy)(z|)', {
        x: result('g1', 0, 60_000, { events: 2, total: 5 }),
        y: result('g2', 0, 60_000, { events: 1, total: 7 }),
        z: result('g1', 60_000, 120_000, { events: 1, total: 1 }),
      });
    });
    expect(e.dead).toEqual([]);
  });

  it('puts an event exactly at a window end into the next window', () => {
    const e = new Events();
    testScheduler().run(({ cold, expectObservable }) => {
      const source = cold('a-b-c---|', { a: e.ev('a', 'g', 59_999), b: e.ev('b', 'g', 60_000), c: e.ev('c', 'g', 120_000) });
      expectObservable(source.pipe(minuteWindows(e), view)).toBe('--x-y---(z|)', {
        x: result('g', 0, 60_000, { events: 1, total: 0 }),
        y: result('g', 60_000, 120_000, { events: 1, total: 0 }),
        z: result('g', 120_000, 180_000, { events: 1, total: 0 }),
      });
    });
  });

  it('accepts out-of-order events within maxOutOfOrdernessMs', () => {
    const e = new Events();
    testScheduler().run(({ cold, expectObservable }) => {
      const source = cold('a-b-c-d|', { a: e.ev('a', 'g', 58_000), b: e.ev('b', 'g', 62_000), c: e.ev('c', 'g', 59_000), d: e.ev('d', 'g', 66_000) });
      expectObservable(source.pipe(minuteWindows(e, { maxOutOfOrdernessMs: 5000 }), view)).toBe('------x(y|)', {
        x: result('g', 0, 60_000, { events: 2, total: 0 }),
        y: result('g', 60_000, 120_000, { events: 2, total: 0 }),
      });
    });
  });

  it("sends an event whose window has closed to 'late', unchanged, and counts it", () => {
    const e = new Events();
    const metrics = new Metrics();
    const late = e.ev('c', 'g', 59_000);
    const seen: Routed<unknown>[] = [];
    testScheduler().run(({ cold, expectObservable }) => {
      const source = cold('a-b-c|', { a: e.ev('a', 'g', 1000), b: e.ev('b', 'g', 61_000), c: late });
      const out = source.pipe(
        minuteWindows(e, { metrics }),
        tap((r) => seen.push(r)),
      );
      expectObservable(out.pipe(view)).toBe('--x-l(y|)', {
        x: result('g', 0, 60_000, { events: 1, total: 0 }),
        l: { late: 'c' },
        y: result('g', 60_000, 120_000, { events: 1, total: 0 }),
      });
    });
    expect(seen.find((r) => r.output === 'late')?.envelope).toBe(late);
    expect(metrics.value('late_events_total', { step: 'w' })).toBe(1);
    expect(e.lease('c').refs).toBe(1); // its lease went out with it, unreleased
  });

  it('keeps a window open for graceMs past its end', () => {
    const e = new Events();
    testScheduler().run(({ cold, expectObservable }) => {
      const source = cold('a-b-c-d|', { a: e.ev('a', 'g', 1000), b: e.ev('b', 'g', 61_000), c: e.ev('c', 'g', 59_000), d: e.ev('d', 'g', 65_000) });
      expectObservable(source.pipe(minuteWindows(e, { graceMs: 5000 }), view)).toBe('------x(y|)', {
        x: result('g', 0, 60_000, { events: 2, total: 0 }),
        y: result('g', 60_000, 120_000, { events: 2, total: 0 }),
      });
    });
  });

  it("emits running results with emit: 'update', then the final one", () => {
    const e = new Events();
    testScheduler().run(({ cold, expectObservable }) => {
      const source = cold('a-b-c----|', { a: e.ev('a', 'g', 1000, { amount: 5 }), b: e.ev('b', 'g', 2000, { amount: 3 }), c: e.ev('c', 'g', 61_000) });
      expectObservable(source.pipe(minuteWindows(e, { emit: 'update' }), view)).toBe('u-v-(wf)-(g|)', {
        u: result('g', 0, 60_000, { events: 1, total: 5 }, false),
        v: result('g', 0, 60_000, { events: 2, total: 8 }, false),
        w: result('g', 60_000, 120_000, { events: 1, total: 0 }, false),
        f: result('g', 0, 60_000, { events: 2, total: 8 }),
        g: result('g', 60_000, 120_000, { events: 1, total: 0 }),
      });
    });
  });

  it('gives results the meta of the first event, eventTimeMs = window_start, and carried fields', () => {
    const e = new Events();
    const first = e.ev('a', 'g', 61_000);
    const out: Routed<unknown>[] = [];
    testScheduler().run(({ cold, flush }) => {
      const op = minuteWindows(e, { carry: (v) => ({ first_id: v.id, key: 'ignored', window_start: -1 }) });
      cold('a-b|', { a: first, b: e.ev('b', 'g', 62_000, { partition: 1 }) })
        .pipe(op)
        .subscribe((r) => out.push(r));
      flush();
    });
    expect(out).toHaveLength(1);
    expect(out[0]?.envelope.meta).toBe(first.meta);
    expect(out[0]?.envelope.eventTimeMs).toBe(60_000);
    expect(out[0]?.envelope.value).toEqual({ ...result('g', 60_000, 120_000, { events: 2, total: 0 }), first_id: 'a' });
  });
});

describe('window: completion, errors, unsubscription', () => {
  it('emits nothing and keeps leases held when flushOnComplete is false', () => {
    const e = new Events();
    testScheduler().run(({ cold, expectObservable }) => {
      const source = cold('a-b|', { a: e.ev('a', 'g', 1000), b: e.ev('b', 'h', 2000) });
      expectObservable(source.pipe(minuteWindows(e, { flushOnComplete: false }), view)).toBe('---|');
    });
    expect(e.lease('a').refs).toBe(1);
    expect(e.lease('b').refs).toBe(1);
  });

  it('propagates an upstream error after tearing down its timers', () => {
    const e = new Events();
    const ts = testScheduler();
    const { scheduler, live } = countingScheduler(ts);
    const pending: number[] = [];
    ts.run(({ cold, expectObservable }) => {
      const source = cold('a-#', { a: e.ev('a', 'g', 1000) }, new Error('kafka gone'));
      ts.schedule(() => pending.push(live()), 1);
      ts.schedule(() => pending.push(live()), 5);
      expectObservable(source.pipe(minuteWindows(e, { idleTimeoutMs: 100, scheduler }), view)).toBe('--#', undefined, new Error('kafka gone'));
    });
    expect(pending).toEqual([1, 0]);
    expect(e.lease('a').refs).toBe(1);
  });

  it('tears its timers down on unsubscription', () => {
    const e = new Events();
    const ts = testScheduler();
    const { scheduler, live } = countingScheduler(ts);
    const pending: number[] = [];
    ts.run(({ cold, expectObservable }) => {
      const source = cold('a 99ms -', { a: e.ev('a', 'g', 1000) });
      ts.schedule(() => pending.push(live()), 30);
      ts.schedule(() => pending.push(live()), 70);
      expectObservable(source.pipe(minuteWindows(e, { idleTimeoutMs: 100, scheduler }), view), '^ 49ms !').toBe('');
    });
    expect(pending).toEqual([1, 0]);
  });

  it('validates options once, naming the step', () => {
    const e = new Events();
    const bad: Partial<WindowOptions<Ev>>[] = [
      { window: tumbling({ sizeMs: 0 }) },
      { window: hopping({ sizeMs: 10, advanceMs: 20 }) },
      { graceMs: -1 },
      { maxOutOfOrdernessMs: Number.NaN },
      { idleTimeoutMs: 0 },
      { maxOpenWindows: 0 },
      { emit: 'sometimes' as 'final' },
      { aggregators: { final: count() } },
      { aggregators: { n: { init: () => 0 } as unknown as Aggregator<Ev> } },
      { window: session({ gapMs: 10 }), aggregators: { n: { init: () => 0, add: (a: number) => a + 1, result: (a: number) => a } } },
      { deadLetter: undefined as never },
    ];
    for (const overrides of bad) {
      const error = (() => {
        try {
          minuteWindows(e, overrides);
        } catch (caught) {
          return caught;
        }
        return undefined;
      })();
      expect(error, JSON.stringify(Object.keys(overrides))).toBeInstanceOf(ConfigError);
      expect((error as ConfigError).stepId).toBe('w');
      expect((error as ConfigError).message).toContain('step "w"');
    }
  });
});

describe('window: refusals go to dead letters', () => {
  it('refuses a record whose event time or key cannot be read', () => {
    const e = new Events();
    testScheduler().run(({ cold, expectObservable }) => {
      const source = cold('a-b-c|', { a: e.ev('a', 'g', 'not a time'), b: e.ev('b', 7 as unknown as string, 1000), c: e.ev('c', 'g', '1970-01-01T00:00:01Z') });
      expectObservable(source.pipe(minuteWindows(e), view)).toBe('-----(x|)', { x: result('g', 0, 60_000, { events: 1, total: 0 }) });
    });
    expect(e.dead.map((d) => [(d.envelope.value as Ev).id, d.error.constructor, d.stepId])).toEqual([
      ['a', ValidationError, 'w'],
      ['b', ValidationError, 'w'],
    ]);
  });

  it('refuses a new window past maxOpenWindows, keeping existing windows open for more events', () => {
    const e = new Events();
    const metrics = new Metrics();
    testScheduler().run(({ cold, expectObservable }) => {
      const source = cold('a-b-c-d|', { a: e.ev('a', 'g1', 1000), b: e.ev('b', 'g2', 1000), c: e.ev('c', 'g3', 1000), d: e.ev('d', 'g1', 2000) });
      expectObservable(source.pipe(minuteWindows(e, { maxOpenWindows: 2, metrics }), view)).toBe('-------(xy|)', {
        x: result('g1', 0, 60_000, { events: 2, total: 0 }),
        y: result('g2', 0, 60_000, { events: 1, total: 0 }),
      });
    });
    expect(e.dead).toHaveLength(1);
    expect(e.dead[0]?.error).toBeInstanceOf(StateLimitError);
    expect((e.dead[0]?.envelope.value as Ev).id).toBe('c');
    expect(e.lease('c').refs).toBe(1); // the dead letter owns it now
    expect(metrics.value('state_limit_total', { step: 'w' })).toBe(1);
    expect(metrics.value('open_windows', { step: 'w' })).toBe(0);
  });

  it('refuses a hopping event as a whole when its windows do not all fit', () => {
    const e = new Events();
    testScheduler().run(({ cold, expectObservable }) => {
      const source = cold('a|', { a: e.ev('a', 'g', 50_000) });
      const op = minuteWindows(e, { window: hopping({ sizeMs: 60_000, advanceMs: 20_000 }), maxOpenWindows: 2 });
      expectObservable(source.pipe(op, view)).toBe('-|');
    });
    expect(e.dead.map((d) => d.error.code)).toEqual(['TRIB_STATE_LIMIT']);
    expect(e.lease('a').refs).toBe(1);
  });

  it('refuses an event an aggregator throws on, dropping the window it opened', () => {
    const e = new Events();
    const picky: Aggregator<Ev, number, number> = {
      init: () => 0,
      add: (acc, v) => {
        if (v.amount === 'boom') throw new TypeError('cannot read amount');
        return acc + 1;
      },
      result: (acc) => acc,
    };
    testScheduler().run(({ cold, expectObservable }) => {
      const source = cold('a-b|', { a: e.ev('a', 'g1', 1000, { amount: 'boom' }), b: e.ev('b', 'g2', 1000) });
      expectObservable(source.pipe(minuteWindows(e, { aggregators: { n: picky } }), view)).toBe('---(x|)', { x: result('g2', 0, 60_000, { n: 1 }) });
    });
    expect(e.dead[0]?.error).toBeInstanceOf(OperatorError);
    expect(e.dead[0]?.error.message).toContain('aggregator n failed: cannot read amount');
  });
});

describe('window: watermark per partition', () => {
  it('is held back by the slowest partition', () => {
    const e = new Events();
    testScheduler().run(({ cold, expectObservable }) => {
      const source = cold('a-b-c-d|', {
        a: e.ev('a', 'g', 1000, { partition: 0 }),
        b: e.ev('b', 'g', 1000, { partition: 1 }),
        c: e.ev('c', 'g', 70_000, { partition: 0 }),
        d: e.ev('d', 'g', 65_000, { partition: 1 }),
      });
      expectObservable(source.pipe(minuteWindows(e), view)).toBe('------x(y|)', {
        x: result('g', 0, 60_000, { events: 2, total: 0 }),
        y: result('g', 60_000, 120_000, { events: 2, total: 0 }),
      });
    });
  });

  it('stops waiting for a partition idle for idleTimeoutMs, then advances with processing time when all are idle', () => {
    const e = new Events();
    testScheduler().run(({ cold, expectObservable }) => {
      const source = cold('(ab) 46ms c', {
        a: e.ev('a', 'g', 1000, { partition: 0 }),
        b: e.ev('b', 'g', 1000, { partition: 1 }),
        c: e.ev('c', 'g', 70_000, { partition: 0 }),
      });
      // Partition 1 is idle at frame 100: the watermark is partition 0's (70 s). Partition 0 is idle at 150:
      // from then on the watermark is 70 s plus the time since its last event (frame 50), reaching 120 s at 50,050.
      expectObservable(source.pipe(minuteWindows(e, { idleTimeoutMs: 100 }), view)).toBe('100ms x 49949ms y', {
        x: result('g', 0, 60_000, { events: 2, total: 0 }),
        y: result('g', 60_000, 120_000, { events: 1, total: 0 }),
      });
    });
  });

  it('never closes a window without events when idleness is off', () => {
    const e = new Events();
    testScheduler().run(({ cold, expectObservable }) => {
      const source = cold('(ab) 46ms c 100000ms -', {
        a: e.ev('a', 'g', 1000, { partition: 0 }),
        b: e.ev('b', 'g', 1000, { partition: 1 }),
        c: e.ev('c', 'g', 70_000, { partition: 0 }),
      });
      expectObservable(source.pipe(minuteWindows(e), view)).toBe('');
    });
  });
});

describe('window: types', () => {
  it('flags a distinct count that became an estimate with <name>_approximate, in its window only', () => {
    const e = new Events();
    const users = distinct((x: Ev) => x.user, { maxExact: 3 });
    testScheduler().run(({ cold, expectObservable }) => {
      const source = cold('abcdef|', {
        a: e.ev('a', 'big', 1000, { user: 'u1' }),
        b: e.ev('b', 'big', 2000, { user: 'u2' }),
        c: e.ev('c', 'big', 3000, { user: 'u3' }),
        d: e.ev('d', 'big', 4000, { user: 'u4' }),
        e: e.ev('e', 'small', 5000, { user: 'u1' }),
        f: e.ev('f', 'big', 6000, { user: 'u4' }),
      });
      expectObservable(source.pipe(minuteWindows(e, { aggregators: { users }, flushOnComplete: true }), view)).toBe('------(xy|)', {
        x: result('big', 0, 60_000, { users: 4, users_approximate: true }),
        y: result('small', 0, 60_000, { users: 1 }),
      });
    });
  });

  it('refuses an aggregate named like another one\'s estimate flag', () => {
    const e = new Events();
    expect(() => minuteWindows(e, { aggregators: { users: distinct((x: Ev) => x.user), users_approximate: count() } })).toThrow(/estimate flag "users_approximate" is taken/);
  });

  it('infers result fields from the aggregators', () => {
    const op = window({
      id: 'typed',
      window: tumbling({ sizeMs: 1000 }),
      key: (e: Ev) => e.key,
      eventTime: eventTimeFromField((e: Ev) => e.t),
      aggregators: { n: count(), total: sum((e: Ev) => e.amount) },
      deadLetter: () => {},
    });
    type Out = typeof op extends (source: never) => infer O ? O : never;
    type Value = Out extends import('rxjs').Observable<Routed<infer V>> ? V : never;
    expectTypeOf<Extract<Value, WindowResult>['n']>().toEqualTypeOf<number>();
    expectTypeOf<Extract<Value, WindowResult>['window_start']>().toEqualTypeOf<number>();
  });
});
