import { map, merge, Subject, type Observable } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { batched } from '../../src/operators/batched.ts';
import { filter } from '../../src/operators/filter.ts';
import { perRecord, recordHandlerOf } from '../../src/operators/per-record.ts';
import { route } from '../../src/operators/route.ts';
import type { Envelope, Routed } from '../../src/core/envelope.ts';
import { record, testScheduler } from './record-helpers.ts';

const doubled = perRecord<number, number>((x, out) => {
  out.next(x);
  out.next(x * 10);
});
const evens = perRecord<number, number>((x, out) => {
  if (x % 2 === 0) out.next(x);
});

describe('batched', () => {
  it('runs record-level operators as one loop per batch: one batch out per batch in, in order, none when all is dropped', () => {
    testScheduler().run(({ cold, expectObservable }) => {
      const source = cold('a-b-c-|', { a: [1, 2, 3], b: [5], c: [4, 7] });
      expectObservable(source.pipe(batched(evens, doubled))).toBe('a---c-|', { a: [2, 20], c: [4, 40] });
    });
  });

  it('gives a fused chain the same records as the operators piped one by one', () => {
    const input = [1, 2, 3, 4, 5, 6];
    const alone: number[] = [];
    new Subject<number>().pipe(evens, doubled).subscribe((x) => alone.push(x));
    const one = new Subject<number>();
    one.pipe(evens, doubled).subscribe((x) => alone.push(x));
    input.forEach((x) => one.next(x));
    const fused: number[] = [];
    const batches = new Subject<readonly number[]>();
    batches.pipe(batched(evens, doubled)).subscribe((batch) => fused.push(...batch));
    batches.next(input);
    expect(fused).toEqual(alone);
  });

  it('gathers what any other operator emits during a batch into one batch, and what it emits later into batches of their own', () => {
    testScheduler().run(({ cold, expectObservable }) => {
      const source = cold('a--b|', { a: [1, 2], b: [3] });
      expectObservable(source.pipe(batched(map((x: number) => x * 100)))).toBe('a--b|', { a: [100, 200], b: [300] });
    });
    const later = new Subject<number>();
    const out: (readonly number[])[] = [];
    const batches = new Subject<readonly number[]>();
    batches.pipe(batched(doubled, (records) => merge(records, later))).subscribe((batch) => out.push(batch));
    batches.next([1, 2]);
    later.next(-1);
    later.next(-2);
    // Emitted between batches: handed over before the next batch's records.
    batches.next([3]);
    expect(out).toEqual([[1, 10, 2, 20], [-1, -2], [3, 30]]);
  });

  it('gathers what an operator emits on its own in one task into one batch, handed over at the end of the task', async () => {
    const later = new Subject<number>();
    const out: (readonly number[])[] = [];
    new Subject<readonly number[]>().pipe(batched((records: Observable<number>) => merge(records, later))).subscribe((batch) => out.push(batch));
    later.next(1);
    later.next(2);
    expect(out).toEqual([]);
    await Promise.resolve();
    expect(out).toEqual([[1, 2]]);
    later.next(3);
    later.complete();
    await Promise.resolve();
    expect(out).toEqual([[1, 2], [3]]);
  });

  it('keeps a step between fused loops: perRecord before and after another operator', () => {
    const out: (readonly number[])[] = [];
    const batches = new Subject<readonly number[]>();
    batches.pipe(batched<number, number>(evens, map((x: number) => x + 1), doubled)).subscribe((b) => out.push(b));
    batches.next([1, 2, 3, 4]);
    expect(out).toEqual([[3, 30, 5, 50]]);
  });

  it('splits nothing itself: a route tags each record and the batch holds every output', () => {
    const a = record({ event_type: 'purchase' }, 0);
    const b = record({ event_type: 'login' }, 1);
    const out: (readonly Routed<unknown>[])[] = [];
    const batches = new Subject<readonly Envelope<unknown>[]>();
    batches.pipe(batched(route({ id: 'r', routes: [{ output: 'buy', when: "event_type == 'purchase'" }], defaultOutput: 'rest' }))).subscribe((x) => out.push(x));
    batches.next([a, b]);
    expect(out.map((batch) => batch.map((item) => item.output))).toEqual([['buy', 'rest']]);
  });

  it('errors the stream when a record handler throws, and passes completion and errors through', () => {
    const boom = perRecord<number, number>((x) => {
      if (x === 2) throw new Error('boom');
    });
    testScheduler().run(({ cold, expectObservable }) => {
      expectObservable(cold('a|', { a: [1, 2] }).pipe(batched(boom, doubled))).toBe('#', undefined, new Error('boom'));
      expectObservable(cold('a#', { a: [1] }).pipe(batched(filter({ id: 'f', when: () => true }) as never))).toBe('a#', { a: [1] });
    });
  });

  it('knows the handlers of record-level operators only', () => {
    expect(recordHandlerOf(doubled)).toBeTypeOf('function');
    expect(recordHandlerOf(map((x: number) => x))).toBeUndefined();
  });
});
