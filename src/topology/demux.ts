import { Observable, type Subscriber, type Subscription } from 'rxjs';
import type { Batch } from '../core/envelope.ts';

/**
 * One subscription to a stream of batches that hands each reader the items of its lanes only: what
 * `source.pipe(share())` read through one `filter` per reader does, without asking every reader
 * about every item (a route step with five outputs read by eleven edges asked eleven times).
 *
 * `lane` names an item's lane and `unwrap` gives what its readers get (default: the item). A batch is split into one
 * batch per lane it holds (items keep their order); a reader of several lanes gets one batch per
 * lane. The returned function makes a reader of some lanes; the source is subscribed when the first
 * reader subscribes and unsubscribed when the last one leaves; its error and completion reach every
 * reader. Readers of one lane get its batches in the order they subscribed, as subscribers of a
 * shared stream do.
 *
 * ```ts
 * const byTopic = demux(input$, (envelope) => envelope.meta.topic);
 * const games$ = byTopic(['game-events']);
 * ```
 */
export function demux<T, U = T>(source: Observable<Batch<T>>, lane: (item: T) => string, unwrap?: (item: T) => U): (lanes: readonly string[]) => Observable<Batch<U>> {
  const open = unwrap ?? ((item: T) => item as unknown as U);
  const readers = new Map<string, Subscriber<Batch<U>>[]>();
  const all = new Set<Subscriber<Batch<U>>>();
  let upstream: Subscription | undefined;
  const each = (f: (reader: Subscriber<Batch<U>>) => void) => {
    for (const reader of [...all]) f(reader);
  };
  const hand = (name: string, batch: Batch<U>) => {
    const list = readers.get(name);
    if (list !== undefined) for (const reader of list) reader.next(batch);
  };
  return (lanes) =>
    new Observable<Batch<U>>((subscriber) => {
      for (const name of new Set(lanes)) readers.set(name, [...(readers.get(name) ?? []), subscriber]);
      all.add(subscriber);
      upstream ??= source.subscribe({
        next(batch) {
          const first = lane(batch[0] as T);
          let i = 1;
          while (i < batch.length && lane(batch[i] as T) === first) i++;
          // The usual case: one lane (one topic, one output of a route for a whole fetch is rarer).
          if (i === batch.length) {
            if (readers.has(first)) hand(first, unwrap === undefined ? (batch as unknown as Batch<U>) : batch.map(unwrap));
            return;
          }
          const split = new Map<string, U[]>();
          for (const item of batch) {
            const name = lane(item);
            if (!readers.has(name)) continue;
            const list = split.get(name);
            if (list === undefined) split.set(name, [open(item)]);
            else list.push(open(item));
          }
          for (const [name, list] of split) hand(name, list);
        },
        error: (error: unknown) => each((reader) => reader.error(error)),
        complete: () => each((reader) => reader.complete()),
      });
      return () => {
        all.delete(subscriber);
        for (const [name, list] of readers) {
          const rest = list.filter((reader) => reader !== subscriber);
          if (rest.length === 0) readers.delete(name);
          else readers.set(name, rest);
        }
        if (all.size === 0) {
          const subscription = upstream;
          upstream = undefined;
          subscription?.unsubscribe();
        }
      };
    });
}
