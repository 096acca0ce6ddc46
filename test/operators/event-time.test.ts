import { from } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { ConfigError, ValidationError } from '../../src/core/errors.ts';
import { parseTimestampMs, withEventTime } from '../../src/operators/event-time.ts';
import { deadLetters, expectAllDone, record, testScheduler } from './record-helpers.ts';

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
      expectObservable(source.pipe(withEventTime({ id: 'time', from: { field: 'timestamp' }, deadLetter }))).toBe('a---c---|', {
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
      .pipe(withEventTime({ id: 'time', from: { field: 'meta.at' }, deadLetter }))
      .subscribe((e) => out.push(e.eventTimeMs));
    from([record({}, 0, { timestamp: 77 }), record({}, 1, { timestamp: -1 })])
      .pipe(withEventTime({ id: 'time', from: 'kafka', deadLetter }))
      .subscribe((e) => out.push(e.eventTimeMs));
    expect(out).toEqual([5, 77]);
    expect(letters[0]?.error.message).toContain('no timestamp (-1)');
  });

  it('propagates errors, completion and unsubscription; leases move once', () => {
    const { deadLetter } = deadLetters();
    const a = record({ t: 1 });
    testScheduler().run(({ cold, hot, expectObservable, expectSubscriptions }) => {
      const op = withEventTime({ id: 'time', from: { field: 't' }, deadLetter });
      expectObservable(cold('a-#', { a }).pipe(op)).toBe('a-#', { a: { ...a, eventTimeMs: 1 } });
      const endless = hot('a-a-a-a', { a });
      expectObservable(endless.pipe(op), '^--!').toBe('a-a', { a: { ...a, eventTimeMs: 1 } });
      expectSubscriptions(endless.subscriptions).toBe('^--!');
    });
    const records = [record({ t: 1 }), record({ t: 'x' }), record({ t: '2024-01-01' })];
    from(records).pipe(withEventTime({ id: 'time', from: { field: 't' }, deadLetter })).subscribe((e) => e.lease.release());
    expectAllDone(records);
  });

  it('checks its options once', () => {
    const { deadLetter } = deadLetters();
    expect(() => withEventTime({ id: 'time', from: { field: 'a ==' }, deadLetter })).toThrow(ConfigError);
    expect(() => withEventTime({ id: 'time', from: 'kafkaa' as 'kafka', deadLetter })).toThrow(/step "time": option "from"/);
  });
});
