import { Observable, type Subscriber, type Subscription } from 'rxjs';

/**
 * One subscription to `source` that hands each item to the readers of its lane only: what
 * `source.pipe(share())` read through one `filter` per reader does, without asking every reader
 * about every item (a route step with five outputs read by eleven edges asked eleven times).
 *
 * `lane` names an item's lane and `unwrap` gives what its readers get. The returned function makes
 * a reader of some lanes; the source is subscribed when the first reader subscribes and unsubscribed
 * when the last one leaves; its error and completion reach every reader. Readers of one lane get its
 * items in the order they subscribed, as subscribers of a shared stream do.
 *
 * ```ts
 * const byTopic = demux(input$, (envelope) => envelope.meta.topic, (envelope) => envelope);
 * const games$ = byTopic(['game-events']);
 * ```
 */
export function demux<T, U>(source: Observable<T>, lane: (item: T) => string, unwrap: (item: T) => U): (lanes: readonly string[]) => Observable<U> {
  const readers = new Map<string, Subscriber<U>[]>();
  const all = new Set<Subscriber<U>>();
  let upstream: Subscription | undefined;
  const each = (f: (reader: Subscriber<U>) => void) => {
    for (const reader of [...all]) f(reader);
  };
  return (lanes) =>
    new Observable<U>((subscriber) => {
      for (const name of new Set(lanes)) readers.set(name, [...(readers.get(name) ?? []), subscriber]);
      all.add(subscriber);
      upstream ??= source.subscribe({
        next(item) {
          const list = readers.get(lane(item));
          if (list === undefined) return;
          const value = unwrap(item);
          for (const reader of list) reader.next(value);
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
