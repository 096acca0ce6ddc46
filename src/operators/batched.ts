import { Observable, Subject, type OperatorFunction } from 'rxjs';
import type { Batch } from '../core/envelope.ts';
import { recordHandlerOf, type Emitter, type RecordHandler } from './per-record.ts';

/**
 * Runs record-level operators over batches: one emission per batch in, at most one per batch out,
 * with the outputs in the order the records came.
 *
 * Operators made by `perRecord` (parse, validate, filter, route, project, flatten, ...) run as one
 * loop over the batch, several of them fused into one loop when given together, with no
 * subscription per record. Any other operator (window, dedup, fraud patterns) sees the batch's
 * records one by one as before; what it emits while a batch is handed to it leaves as one batch,
 * and what it emits on its own (a store's answer, a timer closing a window) leaves as one batch per
 * task that emits it.
 *
 * ```ts
 * batches$.pipe(batched(parseJson({ id: 'parse', deadLetter }), validate({ id: 'validate', schema, deadLetter })));
 * ```
 * @param operators applied in order, as `pipe(...operators)` would on records
 * @returns an operator from batches of the first operator's input to batches of the last one's output
 */
export function batched<A, B>(operator: OperatorFunction<A, B>): OperatorFunction<Batch<A>, Batch<B>>;
export function batched<A, B, C>(first: OperatorFunction<A, B>, second: OperatorFunction<B, C>): OperatorFunction<Batch<A>, Batch<C>>;
export function batched<In, Out>(...operators: OperatorFunction<any, any>[]): OperatorFunction<Batch<In>, Batch<Out>>;
export function batched<In, Out>(...operators: OperatorFunction<any, any>[]): OperatorFunction<Batch<In>, Batch<Out>> {
  const stages: OperatorFunction<Batch<unknown>, Batch<unknown>>[] = [];
  let run: RecordHandler<unknown, unknown>[] = [];
  const endRun = () => {
    if (run.length > 0) stages.push(loop(run));
    run = [];
  };
  for (const operator of operators) {
    const handler = recordHandlerOf(operator as OperatorFunction<unknown, unknown>);
    if (handler !== undefined) run.push(handler);
    else {
      endRun();
      stages.push(perItem(operator as OperatorFunction<unknown, unknown>));
    }
  }
  endRun();
  if (stages.length === 0) return (source) => source as unknown as Observable<Batch<Out>>;
  return (source) => stages.reduce<Observable<Batch<unknown>>>((stream, stage) => stream.pipe(stage), source) as Observable<Batch<Out>>;
}

/** Record handlers fused into one loop per batch: each handler's outputs feed the next one's. */
function loop(chain: readonly RecordHandler<unknown, unknown>[]): OperatorFunction<Batch<unknown>, Batch<unknown>> {
  return (source) =>
    new Observable<Batch<unknown>>((subscriber) => {
      let out: unknown[] = [];
      // Built once per subscription: the emitter of handler i runs handler i + 1 on each output.
      let emit: Emitter<unknown> = { next: (value) => void out.push(value) };
      for (let i = chain.length - 1; i > 0; i--) {
        const handler = chain[i] as RecordHandler<unknown, unknown>;
        const next = emit;
        emit = { next: (value) => handler(value, next) };
      }
      const first = chain[0] as RecordHandler<unknown, unknown>;
      const into = emit;
      return source.subscribe({
        next(batch) {
          out = [];
          try {
            for (let i = 0; i < batch.length; i++) first(batch[i], into);
          } catch (error) {
            subscriber.error(error);
            return;
          }
          if (out.length > 0) subscriber.next(out);
        },
        error: (error: unknown) => subscriber.error(error),
        complete: () => subscriber.complete(),
      });
    });
}

/**
 * A record-level operator over batches: it reads the records of each batch in turn; what it emits
 * during a batch is gathered into one output batch. What it emits at any other time (a store's
 * answer, a timer) is gathered until the end of that task (a microtask), so that a run of records
 * emitted together (a dedup store's answer for a whole batch) leaves as one batch too.
 */
function perItem<In, Out>(operator: OperatorFunction<In, Out>): OperatorFunction<Batch<In>, Batch<Out>> {
  return (source) =>
    new Observable<Batch<Out>>((subscriber) => {
      let gathering: Out[] | undefined;
      let later: Out[] | undefined;
      const handOver = () => {
        const out = later;
        later = undefined;
        if (out !== undefined && !subscriber.closed) subscriber.next(out);
      };
      const records = new Subject<In>();
      const output = operator(records).subscribe({
        next(value) {
          if (gathering !== undefined) gathering.push(value);
          else if (later !== undefined) later.push(value);
          else {
            later = [value];
            queueMicrotask(handOver);
          }
        },
        error: (error: unknown) => {
          handOver();
          subscriber.error(error);
        },
        complete: () => {
          handOver();
          subscriber.complete();
        },
      });
      const input = source.subscribe({
        next(batch) {
          // What the operator emitted before this batch leaves before what the batch makes it emit.
          handOver();
          const out: Out[] = [];
          gathering = out;
          try {
            for (let i = 0; i < batch.length; i++) records.next(batch[i] as In);
          } finally {
            gathering = undefined;
          }
          if (out.length > 0) subscriber.next(out);
        },
        error: (error: unknown) => records.error(error),
        complete: () => records.complete(),
      });
      return () => {
        input.unsubscribe();
        output.unsubscribe();
      };
    });
}
