import { from } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/core/errors.ts';
import { route, type RouteOptions } from '../../src/operators/route.ts';
import { Metrics } from '../../src/core/metrics.ts';
import { expectAllDone, record, testScheduler } from './record-helpers.ts';

const routes: RouteOptions['routes'] = [
  { output: 'purchases', when: "event_type == 'purchase'" },
  { output: 'big', when: 'event_data.amount > 1000' },
];
const small = { event_type: 'purchase', event_data: { amount: 5 } };
const big = { event_type: 'purchase', event_data: { amount: 5000 } };
const bigRefund = { event_type: 'refund', event_data: { amount: 5000 } };
const login = { event_type: 'login' };

describe('route', () => {
  it("sends each record to its first matching route ('first')", () => {
    const a = record(small, 1);
    const b = record(big, 2);
    const c = record(bigRefund, 3);
    const d = record(login, 4);
    testScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold('a-b-c-d-|', { a, b, c, d });
      expectObservable(source.pipe(route({ id: 'r', routes, defaultOutput: 'other' }))).toBe('a-b-c-d-|', {
        a: { output: 'purchases', envelope: a },
        b: { output: 'purchases', envelope: b },
        c: { output: 'big', envelope: c },
        d: { output: 'other', envelope: d },
      });
      expectSubscriptions(source.subscriptions).toBe('^-------!');
    });
  });

  it("emits a record once per matching output ('all'), retaining its lease first", () => {
    const b = record(big, 2);
    const d = record(login, 4);
    testScheduler().run(({ cold, expectObservable }) => {
      expectObservable(cold('b---d|', { b, d }).pipe(route({ id: 'r', routes, mode: 'all', defaultOutput: 'other' }))).toBe('(xy)z|', {
        x: { output: 'purchases', envelope: b },
        y: { output: 'big', envelope: b },
        z: { output: 'other', envelope: d },
      });
    });
    expect(b.lease.refs).toBe(2);
  });

  it("merges routes naming one output in 'all' mode", () => {
    const records = [record(big), record(bigRefund), record(login)];
    const out: string[] = [];
    const merged = [...routes, { output: 'purchases', when: "event_type == 'refund'" }];
    from(records).pipe(route({ id: 'r', routes: merged, mode: 'all' })).subscribe((r) => {
      out.push(`${r.envelope.meta.offset}:${r.output}`);
      r.envelope.lease.release();
    });
    expect(out).toEqual(['0:purchases', '0:big', '0:purchases', '0:big']);
    expectAllDone(records);
  });

  it('releases and counts records matching nothing when there is no default output', () => {
    const metrics = new Metrics();
    for (const mode of ['first', 'all'] as const) {
      const records = [record(login), record(small), record(login)];
      const out: string[] = [];
      from(records).pipe(route({ id: 'r', routes, mode, metrics })).subscribe((r) => {
        out.push(r.output);
        r.envelope.lease.release();
      });
      expect(out).toEqual(['purchases']);
      expectAllDone(records);
    }
    expect(metrics.value('records_out_total', { step: 'r', output: 'unmatched' })).toBe(4);
  });

  it('leaves no lease behind in either mode when every output is released', () => {
    for (const mode of ['first', 'all'] as const) {
      const records = [record(small), record(big), record(bigRefund), record(login)];
      from(records).pipe(route({ id: 'r', routes, mode, defaultOutput: 'other' })).subscribe((r) => r.envelope.lease.release());
      expectAllDone(records);
    }
  });

  it('propagates errors and unsubscription', () => {
    const a = record(small);
    testScheduler().run(({ cold, hot, expectObservable, expectSubscriptions }) => {
      const op = route({ id: 'r', routes });
      expectObservable(cold('a#', { a }).pipe(op)).toBe('a#', { a: { output: 'purchases', envelope: a } });
      const endless = hot('a-a-a', { a });
      expectObservable(endless.pipe(op), '^-!').toBe('a-', { a: { output: 'purchases', envelope: a } });
      expectSubscriptions(endless.subscriptions).toBe('^-!');
    });
  });

  it.each([
    [{ routes: [] }, /at least one route/],
    [{ routes: [{ output: '', when: 'x' }] }, /routes\[0\].output/],
    [{ routes: [{ output: 'a', when: 'x ==' }] }, /step "r": routes\[0\].when: unexpected end/],
    [{ routes, mode: 'some' }, /option "mode"/],
    [{ routes, defaultOutput: '' }, /defaultOutput/],
  ])('refuses %j with a ConfigError naming the step', (options, message) => {
    const build = () => route({ id: 'r', ...(options as Omit<RouteOptions, 'id'>) });
    expect(build).toThrow(ConfigError);
    expect(build).toThrow(message);
  });
});
