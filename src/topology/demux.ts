import { Observable, type Subscriber, type Subscription } from 'rxjs';
import type { Batch } from '../core/envelope.ts';

interface Reader<U> {
  readonly subscriber: Subscriber<Batch<U>>;
  readonly lanes: ReadonlySet<string>;
}

/**
 * One subscription to a stream of batches that hands each reader the items of its lanes only: what
 * `source.pipe(share())` read through one `filter` per reader does, without asking every reader
 * about every item (a route step with five outputs read by eleven edges asked eleven times).
 *
 * `lane` names an item's lane and `unwrap` gives what its readers get (default: the item). Each
 * reader gets at most one batch per batch of the source: the items of its lanes, in the order they
 * came, so a reader of several lanes (a step reading two outputs of one route) sees the records of
 * a partition in offset order, as they were. The returned function makes a reader of some lanes; the
 * source is subscribed when the first reader subscribes and unsubscribed when the last one leaves;
 * its error and completion reach every reader. Readers get each batch in the order they subscribed,
 * as subscribers of a shared stream do.
 *
 * ```ts
 * const byTopic = demux(input$, (envelope) => envelope.meta.topic);
 * const games$ = byTopic(['game-events']);
 * ```
 */
export function demux<T, U = T>(source: Observable<Batch<T>>, lane: (item: T) => string, unwrap?: (item: T) => U): (lanes: readonly string[]) => Observable<Batch<U>> {
  const open = unwrap ?? ((item: T) => item as unknown as U);
  let readers: readonly Reader<U>[] = [];
  let upstream: Subscription | undefined;
  const each = (f: (subscriber: Subscriber<Batch<U>>) => void) => {
    for (const reader of readers) f(reader.subscriber);
  };
  const hand = (batch: Batch<T>) => {
    const first = lane(batch[0] as T);
    let i = 1;
    while (i < batch.length && lane(batch[i] as T) === first) i++;
    // The usual case: the whole batch is one lane (one topic; one output of a step without outputs).
    if (i === batch.length) {
      let out: Batch<U> | undefined;
      for (const reader of readers) {
        if (!reader.lanes.has(first)) continue;
        out ??= unwrap === undefined ? (batch as unknown as Batch<U>) : batch.map(unwrap);
        reader.subscriber.next(out);
      }
      return;
    }
    const names = batch.map(lane);
    for (const reader of readers) {
      const out: U[] = [];
      for (let j = 0; j < batch.length; j++) if (reader.lanes.has(names[j] as string)) out.push(open(batch[j] as T));
      if (out.length > 0) reader.subscriber.next(out);
    }
  };
  return (lanes) =>
    new Observable<Batch<U>>((subscriber) => {
      const reader: Reader<U> = { subscriber, lanes: new Set(lanes) };
      // Replaced, never changed in place: a reader leaving while a batch is handed out does not skip another.
      readers = [...readers, reader];
      upstream ??= source.subscribe({
        next: hand,
        error: (error: unknown) => each((s) => s.error(error)),
        complete: () => each((s) => s.complete()),
      });
      return () => {
        readers = readers.filter((r) => r !== reader);
        if (readers.length === 0) {
          const subscription = upstream;
          upstream = undefined;
          subscription?.unsubscribe();
        }
      };
    });
}
