import { Observable, type OperatorFunction } from 'rxjs';
import { ConfigError } from '../core/errors.ts';
import type { Envelope } from '../core/envelope.ts';

/** Where a record handler puts what it emits: a subscriber, or the output list of a batch. */
export interface Emitter<Out> {
  next(value: Out): void;
}

/** What a record-level operator does with one record: emit zero or more outputs, settle its lease. */
export type RecordHandler<In, Out> = (input: In, out: Emitter<Out>) => void;

const handlers = new WeakMap<object, RecordHandler<never, unknown>>();

/**
 * Internals shared by the record-level operators (parseJson, validate, withEventTime, flatten,
 * project, filter, route): a stateless per-record skeleton and the construction-time checks.
 *
 * `handle` decides, for each record, what to emit (`out.next`, zero or more times) and what to do
 * with its lease. A throw from `handle` errors the stream (rather than being reported as an
 * unhandled error, which is what a throw inside a plain observer would do); upstream errors and
 * completion pass through; unsubscribing unsubscribes from the source. The handler is kept with the
 * operator, so that `batched` (operators/batched.ts) runs it as a loop over a batch.
 */
export function perRecord<In, Out>(handle: RecordHandler<In, Out>): OperatorFunction<In, Out> {
  const operator: OperatorFunction<In, Out> = (source) =>
    new Observable<Out>((subscriber) =>
      source.subscribe({
        next(input) {
          try {
            handle(input, subscriber);
          } catch (error) {
            subscriber.error(error);
          }
        },
        error: (error: unknown) => subscriber.error(error),
        complete: () => subscriber.complete(),
      }),
    );
  handlers.set(operator, handle as RecordHandler<never, unknown>);
  return operator;
}

/** The record handler of an operator made by `perRecord`; `undefined` for any other operator. */
export function recordHandlerOf<In, Out>(operator: OperatorFunction<In, Out>): RecordHandler<In, Out> | undefined {
  return handlers.get(operator) as RecordHandler<In, Out> | undefined;
}

/**
 * `withValue` (core/envelope.ts) built field by field: an object spread costs V8 several times
 * more, and this runs once per record per step. Keep in step with `Envelope`'s fields.
 */
export function rewrap<U>(envelope: Envelope<unknown>, value: U, eventTimeMs = envelope.eventTimeMs): Envelope<U> {
  return eventTimeMs === undefined
    ? { value, meta: envelope.meta, lease: envelope.lease }
    : { value, meta: envelope.meta, lease: envelope.lease, eventTimeMs };
}

/** A ConfigError for step `id`, each problem prefixed with the step. */
export function stepConfigError(id: string, problems: string | readonly string[], cause?: unknown): ConfigError {
  const list = typeof problems === 'string' ? [problems] : problems;
  return new ConfigError(
    list.map((p) => `step "${id}": ${p}`),
    cause === undefined ? { stepId: id } : { stepId: id, cause },
  );
}

/** Checks the step id itself (a non-empty string), once at construction. */
export function checkStepId(id: unknown, operator: string): asserts id is string {
  if (typeof id !== 'string' || id.trim() === '')
    throw new ConfigError(`${operator}: option "id" (the step id) must be a non-empty string`);
}

/** Compiles an expression at construction, rethrowing its syntax error as a ConfigError naming the step. */
export function compileFor<T>(id: string, what: string, compile: () => T): T {
  try {
    return compile();
  } catch (error) {
    if (error instanceof ConfigError) throw stepConfigError(id, `${what}: ${error.message}`, error);
    throw error;
  }
}
