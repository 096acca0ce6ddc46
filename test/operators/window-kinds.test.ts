import { TestScheduler } from 'rxjs/testing';
import { describe, expect, it } from 'vitest';
import { Metrics } from '../../src/core/metrics.ts';
import { count, eventTimeFromField, hopping, session, sum, window } from '../../src/operators/window.ts';
import type { WindowOptions } from '../../src/operators/window.ts';
import type { Aggregator } from '../../src/operators/aggregators.ts';
import { Events, result, view } from './window-fixtures.ts';
import type { Ev } from './window-fixtures.ts';

const testScheduler = () => new TestScheduler((actual, expected) => expect(actual).toEqual(expected));

function windows(events: Events, overrides: Partial<WindowOptions<Ev>> & Pick<WindowOptions<Ev>, 'window'>) {
  return window<Ev, Record<string, Aggregator<Ev>>>({
    id: 'w',
    key: (e) => e.key,
    eventTime: eventTimeFromField((e: Ev) => e.t),
    aggregators: { events: count(), total: sum((e: Ev) => e.amount) },
    deadLetter: events.deadLetter,
    ...overrides,
  });
}

const everyMinuteFor3 = hopping({ sizeMs: 60_000, advanceMs: 20_000 });

describe('window: hopping and session', () => {
  it('puts a hopping event into every window covering it', () => {
    const e = new Events();
    testScheduler().run(({ cold, expectObservable }) => {
      const source = cold('a-b-|', { a: e.ev('a', 'g', 50_000), b: e.ev('b', 'g', 70_000) });
      const op = windows(e, { window: everyMinuteFor3 });
      expectObservable(source.pipe(op, view)).toBe('--x-(yzw|)', {
        x: result('g', 0, 60_000, { events: 1, total: 0 }),
        y: result('g', 20_000, 80_000, { events: 2, total: 0 }),
        z: result('g', 40_000, 100_000, { events: 2, total: 0 }),
        w: result('g', 60_000, 120_000, { events: 1, total: 0 }),
      });
    });
  });

  it('closes a session after gapMs of event-time silence', () => {
    const e = new Events();
    testScheduler().run(({ cold, expectObservable }) => {
      const source = cold('a-b-c|', { a: e.ev('a', 'g', 0), b: e.ev('b', 'g', 10_000), c: e.ev('c', 'g', 30_000) });
      const op = windows(e, { window: session({ gapMs: 10_000 }) });
      expectObservable(source.pipe(op, view)).toBe('----x(y|)', {
        x: result('g', 0, 20_000, { events: 2, total: 0 }), // b, exactly gapMs after a, continues the session
        y: result('g', 30_000, 40_000, { events: 1, total: 0 }),
      });
    });
  });

  it('merges two sessions when an event bridges them', () => {
    const e = new Events();
    testScheduler().run(({ cold, expectObservable }) => {
      const source = cold('a-b-c|', {
        a: e.ev('a', 'g', 0, { amount: 1 }),
        b: e.ev('b', 'g', 18_000, { amount: 2, partition: 1 }),
        c: e.ev('c', 'g', 9000, { amount: 4 }),
      });
      const op = windows(e, { window: session({ gapMs: 10_000 }), emit: 'update' });
      expectObservable(source.pipe(op, view)).toBe('u-v-w(x|)', {
        u: result('g', 0, 10_000, { events: 1, total: 1 }, false),
        v: result('g', 18_000, 28_000, { events: 1, total: 2 }, false),
        w: result('g', 0, 28_000, { events: 3, total: 7 }, false),
        x: result('g', 0, 28_000, { events: 3, total: 7 }),
      });
    });
  });
  it('adds a hopping event to its windows still open when some have closed: not late', () => {
    const e = new Events();
    testScheduler().run(({ cold, expectObservable }) => {
      const source = cold('a-b-c|', { a: e.ev('a', 'g', 50_000), b: e.ev('b', 'g', 70_000), c: e.ev('c', 'g', 55_000) });
      expectObservable(source.pipe(windows(e, { window: everyMinuteFor3 }), view)).toBe('--x--(yzw|)', {
        x: result('g', 0, 60_000, { events: 1, total: 0 }),
        y: result('g', 20_000, 80_000, { events: 3, total: 0 }),
        z: result('g', 40_000, 100_000, { events: 3, total: 0 }),
        w: result('g', 60_000, 120_000, { events: 1, total: 0 }),
      });
    });
    // Retained once for its two windows, then released by both holds: a's lease already holds partition 0.
    expect(e.lease('c').done).toBe(true);
    expect(e.lease('a').refs).toBe(3);
  });

  it("sends an event to 'late' when its session would have closed, unless it touches an open one", () => {
    const e = new Events();
    const metrics = new Metrics();
    testScheduler().run(({ cold, expectObservable }) => {
      const source = cold('a-b-c-d|', { a: e.ev('a', 'g', 0), b: e.ev('b', 'g', 30_000), c: e.ev('c', 'g', 5000), d: e.ev('d', 'g', 21_000) });
      expectObservable(source.pipe(windows(e, { window: session({ gapMs: 10_000 }), metrics }), view)).toBe('--x-l--(y|)', {
        x: result('g', 0, 10_000, { events: 1, total: 0 }),
        l: { late: 'c' },
        y: result('g', 21_000, 40_000, { events: 2, total: 0 }), // d's own span has closed, but it touches b's session
      });
    });
    expect(metrics.value('late_events_total', { step: 'w' })).toBe(1);
  });

  it('reports open windows as a gauge', () => {
    const e = new Events();
    const metrics = new Metrics();
    const seen: number[] = [];
    const ts = testScheduler();
    ts.run(({ cold, flush }) => {
      cold('a-b-c|', { a: e.ev('a', 'g', 50_000), b: e.ev('b', 'h', 50_000), c: e.ev('c', 'g', 61_000) })
        .pipe(windows(e, { window: everyMinuteFor3, metrics }))
        .subscribe();
      for (const frame of [1, 3, 4, 5]) ts.schedule(() => seen.push(metrics.value('open_windows', { step: 'w' })), frame);
      flush();
    });
    // g and h open 0, 20k and 40k; at 61k both 0-60k windows close and g opens 60k; completion closes all.
    expect(seen).toEqual([3, 6, 5, 0]);
  });
});
