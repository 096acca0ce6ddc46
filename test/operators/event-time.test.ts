import { from, type SchedulerLike } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { ConfigError, EventTimeFutureError, EventTimeTooOldError, ValidationError } from '../../src/core/errors.ts';
import { parseTimestampMs, withEventTime } from '../../src/operators/event-time.ts';
import { deadLetters, expectAllDone, record, testScheduler } from './record-helpers.ts';

/** A wall clock stopped at `ms` (withEventTime only reads `now()`). */
function clockAt(ms: number): SchedulerLike {
  return {
    now: () => ms,
    schedule: () => {
      throw new Error('not used');
    },
  };
}

/** Bounds that take any time from 1970 to the clock: the tests of reading, not of bounds. */
const ANY_PAST = { minTimestampMs: 0, scheduler: clockAt(Date.UTC(2026, 11, 3)) };

describe('parseTimestampMs', () => {
  it.each([
    [1_709_812_800_000, 1_709_812_800_000],
    ['2024-03-07T12:00:00Z', Date.UTC(2024, 2, 7, 12)],
    ['2024-03-07T12:00:00.123Z', Date.UTC(2024, 2, 7, 12, 0, 0, 123)],
    ['2024-03-07T12:00:00.123456Z', Date.UTC(2024, 2, 7, 12, 0, 0, 123)],
    ['2024-03-07T12:00:00.5Z', Date.UTC(2024, 2, 7, 12, 0, 0, 500)],
    ['2024-03-07T13:30:00+01:30', Date.UTC(2024, 2, 7, 12)],
    ['2024-03-07T10:00:00-0200', Date.UTC(2024, 2, 7, 12)],
    ['2024-03-07 12:00:00', Date.UTC(2024, 2, 7, 12)],
    ['2024-03-07T12:00', Date.UTC(2024, 2, 7, 12)],
    ['2024-03-07', Date.UTC(2024, 2, 7)],
    ['2024-02-29T00:00:00Z', Date.UTC(2024, 1, 29)],
    ['2000-02-29T23:59:59.999Z', Date.UTC(2000, 1, 29, 23, 59, 59, 999)],
    ['1969-12-31T23:59:59.999Z', -1],
  ])('%s -> %s', (input, expected) => {
    expect(parseTimestampMs(input)).toBe(expected);
  });

  it.each([['2023-02-29'], ['2100-02-29T00:00:00.000Z'], ['2024-04-31T00:00:00.000Z'], ['2024-03-07T12:00:00.1a3Z'], ['2024-13-01'], ['2024-03-07T25:00:00Z'], ['March 7, 2024'], ['1709812800000'], [''], [Number.NaN], [null], [true], [{}]])(
    'refuses %s',
    (input) => {
      expect(parseTimestampMs(input)).toBeUndefined();
    },
  );
});

describe('parseTimestampMs against Date.parse', () => {
  it('agrees on 2,000 pseudo-random instants from 1600 to 2400, in every accepted shape', () => {
    let seed = 7;
    const next = () => (seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31;
    for (let i = 0; i < 2_000; i++) {
      const ms = Math.floor(Date.UTC(1600, 0, 1) + next() * (Date.UTC(2400, 0, 1) - Date.UTC(1600, 0, 1)));
      const iso = new Date(ms).toISOString();
      expect(parseTimestampMs(iso)).toBe(ms);
      expect(parseTimestampMs(iso.replace('Z', '+00:00'))).toBe(ms);
      expect(parseTimestampMs(iso.slice(0, 19))).toBe(Date.parse(`${iso.slice(0, 19)}Z`));
    }
  });
});

describe('withEventTime', () => {
  it('reads a field, ISO or epoch ms, and dead-letters the rest', () => {
    const { deadLetter, letters } = deadLetters();
    const a = record({ timestamp: '2024-03-07T12:00:00Z' }, 1);
    const b = record({ timestamp: 'yesterday' }, 2);
    const c = record({ timestamp: 1_000 }, 3);
    const d = record({}, 4);
    testScheduler().run(({ cold, expectObservable }) => {
      const source = cold('a-b-c-d-|', { a, b, c, d });
      expectObservable(source.pipe(withEventTime({ id: 'time', from: { field: 'timestamp' }, deadLetter, ...ANY_PAST }))).toBe('a---c---|', {
        a: { ...a, eventTimeMs: Date.UTC(2024, 2, 7, 12) },
        c: { ...c, eventTimeMs: 1_000 },
      });
    });
    expect(letters.map((l) => [l.envelope, l.error.message])).toEqual([
      [b, 'timestamp: expected a timestamp (epoch ms or ISO-8601), got string "yesterday"'],
      [d, 'timestamp: expected a timestamp (epoch ms or ISO-8601), got missing'],
    ]);
    expect(letters[0]?.error).toBeInstanceOf(ValidationError);
  });

  it('reads nested fields and the Kafka timestamp', () => {
    const { deadLetter, letters } = deadLetters();
    const out: (number | undefined)[] = [];
    from([record({ meta: { at: 5 } }, 0, { timestamp: 77 })])
      .pipe(withEventTime({ id: 'time', from: { field: 'meta.at' }, deadLetter, ...ANY_PAST }))
      .subscribe((e) => out.push(e.eventTimeMs));
    from([record({}, 0, { timestamp: 77 }), record({}, 1, { timestamp: -1 })])
      .pipe(withEventTime({ id: 'time', from: 'kafka', deadLetter, ...ANY_PAST }))
      .subscribe((e) => out.push(e.eventTimeMs));
    expect(out).toEqual([5, 77]);
    expect(letters[0]?.error.message).toContain('no timestamp (-1)');
  });

  it('propagates errors, completion and unsubscription; leases move once', () => {
    const { deadLetter } = deadLetters();
    const a = record({ t: 1 });
    testScheduler().run(({ cold, hot, expectObservable, expectSubscriptions }) => {
      const op = withEventTime({ id: 'time', from: { field: 't' }, deadLetter, ...ANY_PAST });
      expectObservable(cold('a-#', { a }).pipe(op)).toBe('a-#', { a: { ...a, eventTimeMs: 1 } });
      const endless = hot('a-a-a-a', { a });
      expectObservable(endless.pipe(op), '^--!').toBe('a-a', { a: { ...a, eventTimeMs: 1 } });
      expectSubscriptions(endless.subscriptions).toBe('^--!');
    });
    const records = [record({ t: 1 }), record({ t: 'x' }), record({ t: '2024-01-01' })];
    from(records).pipe(withEventTime({ id: 'time', from: { field: 't' }, deadLetter, ...ANY_PAST })).subscribe((e) => e.lease.release());
    expectAllDone(records);
  });

  it('checks its options once', () => {
    const { deadLetter } = deadLetters();
    expect(() => withEventTime({ id: 'time', from: { field: 'a ==' }, deadLetter })).toThrow(ConfigError);
    expect(() => withEventTime({ id: 'time', from: 'kafkaa' as 'kafka', deadLetter })).toThrow(/step "time": option "from"/);
    expect(() => withEventTime({ id: 'time', from: 'kafka', deadLetter, maxFutureSkewMs: -1 })).toThrow(/option "maxFutureSkewMs"/);
    expect(() => withEventTime({ id: 'time', from: 'kafka', deadLetter, maxFutureSkewMs: Infinity })).toThrow(/option "maxFutureSkewMs"/);
    expect(() => withEventTime({ id: 'time', from: 'kafka', deadLetter, minTimestampMs: -1 })).toThrow(/option "minTimestampMs"/);
  });
});

describe('withEventTime bounds', () => {
  const NOW = Date.UTC(2026, 11, 3, 12);
  const HOUR = 3_600_000;

  it('dead-letters events dated past the skew or before the minimum, each with its own code (regression: a 9999 event pinned its partition)', () => {
    const { deadLetter, letters } = deadLetters();
    const values: unknown[] = [
      '9999-12-31T23:59:59Z', // the pinning event
      1e20, // year=NaN in S3 keys
      -1, // year=1969
      '0000-01-01T00:00:00Z', // year=0
      '1999-12-31T23:59:59.999Z',
      '2000-01-01T00:00:00Z', // the default minimum itself: taken
      NOW + HOUR, // the skew itself: taken
      NOW + HOUR + 1,
      new Date(NOW - 86_400_000).toISOString(), // yesterday: taken
    ];
    const records = values.map((timestamp, i) => record({ timestamp }, i));
    const out: number[] = [];
    from(records)
      .pipe(withEventTime({ id: 'time', from: { field: 'timestamp' }, deadLetter, scheduler: clockAt(NOW) }))
      .subscribe((e) => out.push(e.meta.offset));
    expect(out).toEqual([5, 6, 8]);
    expect(letters.map((l) => [l.envelope.meta.offset, l.error.code])).toEqual([
      [0, 'TRIB_EVENT_TIME_FUTURE'],
      [1, 'TRIB_EVENT_TIME_FUTURE'],
      [2, 'TRIB_EVENT_TIME_TOO_OLD'],
      [3, 'TRIB_EVENT_TIME_TOO_OLD'],
      [4, 'TRIB_EVENT_TIME_TOO_OLD'],
      [7, 'TRIB_EVENT_TIME_FUTURE'],
    ]);
    expect(letters[0]?.error).toBeInstanceOf(EventTimeFutureError);
    expect(letters[2]?.error).toBeInstanceOf(EventTimeTooOldError);
    expect(letters[0]?.error.message).toBe('timestamp: event time 9999-12-31T23:59:59.000Z is more than 3600000 ms ahead of the wall clock 2026-12-03T12:00:00.000Z');
    expect(letters[1]?.error.message).toContain('event time 100000000000000000000 is more than');
    expect(letters[4]?.error.message).toBe('timestamp: event time 1999-12-31T23:59:59.999Z is before minTimestamp 2000-01-01T00:00:00.000Z');
    expect(letters[4]?.error.summary).toBe('timestamp: event time before minTimestamp 2000-01-01T00:00:00.000Z');
    expect(letters[0]?.error.summary).toBe('timestamp: event time more than 3600000 ms ahead of the wall clock (maxFutureSkew)');
    expectAllDone(records.filter((r) => !out.includes(r.meta.offset)));
  });

  it('reads the wall clock from the scheduler: the same event is refused early and taken later, in marbles', () => {
    const { deadLetter, letters } = deadLetters();
    const a = record({ t: 8 }, 1);
    const b = record({ t: 8 }, 2);
    testScheduler().run(({ cold, expectObservable }) => {
      const source = cold('-a-b-|', { a, b });
      // Virtual time: frame 1 + 5 ms of skew < 8 (refused); frame 3 + 5 >= 8 (taken).
      expectObservable(source.pipe(withEventTime({ id: 'time', from: { field: 't' }, deadLetter, minTimestampMs: 0, maxFutureSkewMs: 5 }))).toBe('---b-|', {
        b: { ...b, eventTimeMs: 8 },
      });
    });
    expect(letters.map((l) => [l.envelope, l.error.code])).toEqual([[a, 'TRIB_EVENT_TIME_FUTURE']]);
  });

  it('bounds the Kafka timestamp too, and can be widened', () => {
    const { deadLetter, letters } = deadLetters();
    const out: number[] = [];
    const records = [record({}, 0, { timestamp: 5 }), record({}, 1, { timestamp: NOW + 2 * HOUR }), record({}, 2, { timestamp: NOW })];
    from(records).pipe(withEventTime({ id: 'time', from: 'kafka', deadLetter, scheduler: clockAt(NOW) })).subscribe((e) => out.push(e.meta.offset));
    expect(out).toEqual([2]);
    expect(letters.map((l) => l.error.code)).toEqual(['TRIB_EVENT_TIME_TOO_OLD', 'TRIB_EVENT_TIME_FUTURE']);
    const wide: number[] = [];
    from([record({}, 0, { timestamp: 5 }), record({}, 1, { timestamp: NOW + 2 * HOUR })])
      .pipe(withEventTime({ id: 'time', from: 'kafka', deadLetter, scheduler: clockAt(NOW), minTimestampMs: 0, maxFutureSkewMs: 3 * HOUR }))
      .subscribe((e) => wide.push(e.meta.offset));
    expect(wide).toEqual([0, 1]);
  });

  it('never takes a time past year 9999, however wide the skew', () => {
    const { deadLetter, letters } = deadLetters();
    from([record({ t: Date.UTC(9999, 11, 31, 23) }), record({ t: Date.UTC(9999, 11, 31, 23) + 2 * HOUR })])
      .pipe(withEventTime({ id: 'time', from: { field: 't' }, deadLetter, scheduler: clockAt(NOW), maxFutureSkewMs: 1e15 }))
      .subscribe();
    expect(letters.map((l) => l.error.code)).toEqual(['TRIB_EVENT_TIME_FUTURE']);
  });

  it('keeps the field value out of the summary of an unreadable time', () => {
    const { deadLetter, letters } = deadLetters();
    from([record({ t: 'ann@example.com' })]).pipe(withEventTime({ id: 'time', from: { field: 't' }, deadLetter })).subscribe();
    expect(letters[0]?.error.message).toContain('ann@example.com');
    expect(letters[0]?.error.summary).toBe('t: expected a timestamp (epoch ms or ISO-8601), got string');
  });
});
