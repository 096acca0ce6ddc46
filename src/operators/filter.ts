import type { OperatorFunction } from 'rxjs';
import type { Envelope } from '../core/envelope.ts';
import { compilePredicate, type Predicate } from '../core/expression.ts';
import { checkStepId, compileFor, perRecord, stepConfigError } from './per-record.ts';

export interface FilterOptions {
  /** The step id (errors, logs, metric labels). */
  readonly id: string;
  /** Records for which this holds go on; an expression string is compiled with `compilePredicate`. */
  readonly when: Predicate | string;
}

/**
 * Keeps the records that match a predicate; the others are done (their leases released).
 *
 * ```ts
 * events$.pipe(filter({ id: 'purchases', when: "event_type == 'purchase' and event_data.amount > 0" }));
 * ```
 * @returns the matching records
 */
export function filter<T>(options: FilterOptions): OperatorFunction<Envelope<T>, Envelope<T>> {
  const { id } = options;
  checkStepId(id, 'filter');
  const when = toPredicate(id, 'when', options.when);
  return perRecord<Envelope<T>, Envelope<T>>((envelope, subscriber) => {
    if (when(envelope.value, envelope.meta)) subscriber.next(envelope);
    else envelope.lease.release();
  });
}

/** A predicate option: a function as is, or an expression compiled once (a ConfigError names the step). */
export function toPredicate(id: string, what: string, when: Predicate | string): Predicate {
  if (typeof when === 'function') return when;
  if (typeof when !== 'string') throw stepConfigError(id, `option "${what}" must be a predicate or an expression string`);
  return compileFor(id, what, () => compilePredicate(when));
}
