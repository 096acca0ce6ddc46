import { Subject } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { describe, expect, it } from 'vitest';
import { demux } from '../../src/topology/demux.ts';

const testScheduler = () => new TestScheduler((actual, expected) => expect(actual).toEqual(expected));
const lane = (item: string) => item[0] as string;
const unwrap = (item: string) => item.toUpperCase();

describe('demux', () => {
  it('hands each item to the readers of its lane only, each reader of a lane gets it, errors reach all', () => {
    testScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold('-a-b-c-a-#', { a: 'a1', b: 'b1', c: 'c1' });
      const read = demux(source, lane, unwrap);
      expectObservable(read(['a'])).toBe('-x-----x-#', { x: 'A1' });
      expectObservable(read(['a', 'b'])).toBe('-x-y---x-#', { x: 'A1', y: 'B1' });
      expectObservable(read(['c'])).toBe('-----z---#', { z: 'C1' });
      expectObservable(read(['d'])).toBe('---------#');
      // One subscription to the source, whatever the readers.
      expectSubscriptions(source.subscriptions).toBe('^--------!');
    });
  });

  it('completes every reader, and unsubscribes the source when the last reader leaves', () => {
    testScheduler().run(({ hot, expectObservable, expectSubscriptions }) => {
      const source = hot('-a-b-|', { a: 'a1', b: 'b1' });
      const read = demux(source, lane, unwrap);
      expectObservable(read(['a']), '^--!').toBe('-x-', { x: 'A1' });
      expectObservable(read(['b'])).toBe('---y-|', { y: 'B1' });
      expectSubscriptions(source.subscriptions).toBe('^----!');
    });
    testScheduler().run(({ hot, expectObservable, expectSubscriptions }) => {
      const source = hot('-a-b-a-|', { a: 'a1', b: 'b1' });
      const read = demux(source, lane, unwrap);
      expectObservable(read(['a']), '^-!').toBe('-x', { x: 'A1' });
      expectObservable(read(['b']), '^---!').toBe('---y', { y: 'B1' });
      expectSubscriptions(source.subscriptions).toBe('^---!');
    });
  });

  it('lets a reader leave while an item is being handed out', () => {
    const source = new Subject<string>();
    const read = demux(source, lane, unwrap);
    const got: string[] = [];
    const first = read(['a']).subscribe((x) => {
      got.push(`1:${x}`);
      first.unsubscribe();
    });
    read(['a']).subscribe((x) => got.push(`2:${x}`));
    source.next('a1');
    source.next('a2');
    expect(got).toEqual(['1:A1', '2:A1', '2:A2']);
  });
});
