import { Subject } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { describe, expect, it } from 'vitest';
import { demux } from '../../src/topology/demux.ts';

const testScheduler = () => new TestScheduler((actual, expected) => expect(actual).toEqual(expected));
const lane = (item: string) => item[0] as string;
const unwrap = (item: string) => item.toUpperCase();

describe('demux', () => {
  it('hands each batch to the readers of its lane only, each reader of a lane gets it, errors reach all', () => {
    testScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold('-a-b-c-a-#', { a: ['a1', 'a2'], b: ['b1'], c: ['c1'] });
      const read = demux(source, lane, unwrap);
      expectObservable(read(['a'])).toBe('-x-----x-#', { x: ['A1', 'A2'] });
      expectObservable(read(['a', 'b'])).toBe('-x-y---x-#', { x: ['A1', 'A2'], y: ['B1'] });
      expectObservable(read(['c'])).toBe('-----z---#', { z: ['C1'] });
      expectObservable(read(['d'])).toBe('---------#');
      // One subscription to the source, whatever the readers.
      expectSubscriptions(source.subscriptions).toBe('^--------!');
    });
  });

  it('hands each reader one batch of the items of its lanes, in the order they came', () => {
    testScheduler().run(({ cold, expectObservable }) => {
      const source = cold('-m-|', { m: ['a1', 'b1', 'a2', 'c1', 'b2', 'a3'] });
      const read = demux(source, lane, unwrap);
      expectObservable(read(['a'])).toBe('-x-|', { x: ['A1', 'A2', 'A3'] });
      // A reader of two lanes (a step reading two outputs of one route) keeps their interleaving.
      expectObservable(read(['b', 'c'])).toBe('-y-|', { y: ['B1', 'C1', 'B2'] });
      expectObservable(read(['d'])).toBe('---|');
    });
  });

  it('without unwrap hands a one-lane batch on as it is', () => {
    const source = new Subject<readonly string[]>();
    const got: (readonly string[])[] = [];
    demux(source, lane)(['a']).subscribe((batch) => got.push(batch));
    const batch = ['a1', 'a2'];
    source.next(batch);
    expect(got[0]).toBe(batch);
  });

  it('completes every reader, and unsubscribes the source when the last reader leaves', () => {
    testScheduler().run(({ hot, expectObservable, expectSubscriptions }) => {
      const source = hot('-a-b-|', { a: ['a1'], b: ['b1'] });
      const read = demux(source, lane, unwrap);
      expectObservable(read(['a']), '^--!').toBe('-x-', { x: ['A1'] });
      expectObservable(read(['b'])).toBe('---y-|', { y: ['B1'] });
      expectSubscriptions(source.subscriptions).toBe('^----!');
    });
    testScheduler().run(({ hot, expectObservable, expectSubscriptions }) => {
      const source = hot('-a-b-a-|', { a: ['a1'], b: ['b1'] });
      const read = demux(source, lane, unwrap);
      expectObservable(read(['a']), '^-!').toBe('-x', { x: ['A1'] });
      expectObservable(read(['b']), '^---!').toBe('---y', { y: ['B1'] });
      expectSubscriptions(source.subscriptions).toBe('^---!');
    });
  });

  it('lets a reader leave while a batch is being handed out', () => {
    const source = new Subject<readonly string[]>();
    const read = demux(source, lane, unwrap);
    const got: string[] = [];
    const first = read(['a']).subscribe((x) => {
      got.push(`1:${x.join()}`);
      first.unsubscribe();
    });
    read(['a']).subscribe((x) => got.push(`2:${x.join()}`));
    source.next(['a1']);
    source.next(['a2']);
    expect(got).toEqual(['1:A1', '2:A1', '2:A2']);
  });
});
