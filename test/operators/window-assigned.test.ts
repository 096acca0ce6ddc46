import { TestScheduler } from 'rxjs/testing';
import { describe, expect, it } from 'vitest';
import { countPerMinute as minuteWindows, Events, result, view } from './window-fixtures.ts';

const testScheduler = () => new TestScheduler((actual, expected) => expect(actual).toEqual(expected));

const ASSIGNED = [
  { topic: 'game-events', partition: 0 },
  { topic: 'game-events', partition: 1 },
];

describe('window: partitions known from the assignment', () => {
  // Regression: replaying a backlog, one fetch hands over all of partition 0 before partition 1.
  // Partition 0's event time must not close windows that partition 1's records still belong to.
  it('a backlog read one partition after another does not make the later partition late', () => {
    const e = new Events();
    testScheduler().run(({ cold, hot, expectObservable }) => {
      const partitions = hot('a', { a: ASSIGNED });
      const source = cold('-xyz|', {
        x: e.ev('p0-early', 'g', 1_000, { partition: 0 }),
        y: e.ev('p0-late', 'g', 180_000, { partition: 0 }),
        z: e.ev('p1-early', 'g', 2_000, { partition: 1 }),
      });
      expectObservable(source.pipe(minuteWindows(e, { partitions }), view)).toBe('----(ab|)', {
        a: result('g', 0, 60_000, { events: 2 }),
        b: result('g', 180_000, 240_000, { events: 1 }),
      });
    });
  });

  it('without the assignment the same backlog makes the later partition late (what the option fixes)', () => {
    const e = new Events();
    testScheduler().run(({ cold, expectObservable }) => {
      const source = cold('-xyz|', {
        x: e.ev('p0-early', 'g', 1_000, { partition: 0 }),
        y: e.ev('p0-late', 'g', 180_000, { partition: 0 }),
        z: e.ev('p1-early', 'g', 2_000, { partition: 1 }),
      });
      expectObservable(source.pipe(minuteWindows(e), view)).toBe('--ab(c|)', {
        a: result('g', 0, 60_000, { events: 1 }),
        b: { late: 'p1-early' },
        c: result('g', 180_000, 240_000, { events: 1 }),
      });
    });
  });

  it('an assigned partition with no events stops holding the watermark once idle', () => {
    const e = new Events();
    testScheduler().run(({ cold, hot, expectObservable }) => {
      const partitions = hot('a', { a: ASSIGNED });
      const source = cold('-xy 200ms |', {
        x: e.ev('p0-early', 'g', 1_000, { partition: 0 }),
        y: e.ev('p0-late', 'g', 180_000, { partition: 0 }),
      });
      // Partition 1 never has an event: after 100 ms idle it no longer holds minute 0 open.
      expectObservable(source.pipe(minuteWindows(e, { partitions, idleTimeoutMs: 100 }), view)).toBe('100ms a 102ms (b|)', {
        a: result('g', 0, 60_000, { events: 1 }),
        b: result('g', 180_000, 240_000, { events: 1 }),
      });
    });
  });

  // Regression (1M benchmark, a sink stalled 60 s): with the source paused longer than the idle
  // timeout every partition turned idle, the watermark ran ahead to the fastest partition on resume,
  // and 47% of the events were routed late. A paused partition is not idle.
  const PAUSE = { paused: true, partitions: ASSIGNED };
  const RESUME = { paused: false, partitions: ASSIGNED };
  const stalled = (e: Events) => ({
    x: e.ev('p0-early', 'g', 1_000, { partition: 0 }),
    y: e.ev('p1-early', 'g', 1_500, { partition: 1 }),
    z: e.ev('p0-ahead', 'g', 180_000, { partition: 0 }),
    w: e.ev('p1-backlog', 'g', 2_000, { partition: 1 }),
  });

  it('partitions paused by the source longer than the idle timeout are not idle: their backlog is on time', () => {
    const e = new Events();
    testScheduler().run(({ cold, hot, expectObservable }) => {
      const partitions = hot('a', { a: ASSIGNED });
      const flow = hot('--p 300ms r', { p: PAUSE, r: RESUME });
      const source = cold('-xy 307ms zw 200ms |', stalled(e));
      expectObservable(source.pipe(minuteWindows(e, { partitions, flow, idleTimeoutMs: 100 }), view)).toBe('411ms a 100ms (b|)', {
        a: result('g', 0, 60_000, { events: 3 }),
        b: result('g', 180_000, 240_000, { events: 1 }),
      });
    });
  });

  it('without the pauses the same stall makes the backlog late (what the option fixes)', () => {
    const e = new Events();
    testScheduler().run(({ cold, hot, expectObservable }) => {
      const partitions = hot('a', { a: ASSIGNED });
      const source = cold('-xy 307ms zw 200ms |', stalled(e));
      expectObservable(source.pipe(minuteWindows(e, { partitions, idleTimeoutMs: 100 }), view)).toBe('310ms a b 200ms (c|)', {
        a: result('g', 0, 60_000, { events: 2 }),
        b: { late: 'p1-backlog' },
        c: result('g', 180_000, 240_000, { events: 1 }),
      });
    });
  });
});
