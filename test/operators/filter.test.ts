import { from } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/core/errors.ts';
import { filter } from '../../src/operators/filter.ts';
import { expectAllDone, record, testScheduler } from './record-helpers.ts';

describe('filter', () => {
  it('keeps matching records and releases the others', () => {
    const a = record({ event_type: 'purchase', event_data: { amount: 5 } }, 1);
    const b = record({ event_type: 'login' }, 2);
    const c = record({ event_type: 'purchase', event_data: { amount: 0 } }, 3);
    testScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold('a-b-c-|', { a, b, c });
      expectObservable(source.pipe(filter({ id: 'f', when: "event_type == 'purchase' and event_data.amount > 0" }))).toBe('a-----|', { a });
      expectSubscriptions(source.subscriptions).toBe('^-----!');
    });
    expect([a.lease.refs, b.lease.refs, c.lease.refs]).toEqual([1, 0, 0]);
  });

  it('takes a predicate function, which sees the metadata', () => {
    const records = [record({}, 0, { partition: 1 }), record({}, 1, { partition: 2 })];
    const out: number[] = [];
    from(records)
      .pipe(filter({ id: 'f', when: (_v, meta) => meta?.partition === 2 }))
      .subscribe((e) => {
        out.push(e.meta.partition);
        e.lease.release();
      });
    expect(out).toEqual([2]);
    expectAllDone(records);
  });

  it('propagates errors (also from a throwing predicate) and unsubscription', () => {
    const a = record({ x: 1 });
    testScheduler().run(({ cold, hot, expectObservable, expectSubscriptions }) => {
      expectObservable(cold('a#', { a }).pipe(filter({ id: 'f', when: 'x == 1' }))).toBe('a#', { a });
      const bad = new Error('predicate failed');
      const throwing = filter({ id: 'f', when: () => { throw bad; } });
      expectObservable(cold('-a-a|', { a }).pipe(throwing)).toBe('-#', undefined, bad);
      const endless = hot('a-a-a', { a });
      expectObservable(endless.pipe(filter({ id: 'f', when: 'x == 1' })), '^-!').toBe('a-', { a });
      expectSubscriptions(endless.subscriptions).toBe('^-!');
    });
  });

  it('rejects a bad expression once, naming the step', () => {
    expect(() => filter({ id: 'f', when: 'x ==' })).toThrow(ConfigError);
    expect(() => filter({ id: 'f', when: 'x ==' })).toThrow(/step "f": when: unexpected end of expression/);
    expect(() => filter({ id: 'f', when: 3 as unknown as string })).toThrow(/option "when"/);
  });
});
