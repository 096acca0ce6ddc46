import type { OperatorFunction } from 'rxjs';
import { ValidationError } from '../core/errors.ts';
import type { Envelope } from '../core/envelope.ts';
import type { DeadLetter } from '../core/sink.ts';
import { compileEventSchema, type EventSchema } from './event-schema.ts';
import { checkStepId, perRecord, stepConfigError } from './per-record.ts';

export type { EventSchema, FieldSpecs, FieldType, FieldTypeSpec } from './event-schema.ts';

export interface ValidateOptions {
  /** The step id (errors, logs, metric labels). */
  readonly id: string;
  /** Required fields and their types, common and per event type. */
  readonly schema: EventSchema;
  /** Takes records that fail (with a ValidationError listing every problem) and their leases. */
  readonly deadLetter: DeadLetter;
}

/**
 * Checks each record against a per-event-type schema; passes valid records on unchanged and sends
 * the others to `deadLetter` with a ValidationError listing every problem with its path (its
 * `summary`, what logs show, names the kinds of the values found instead of the values).
 *
 * ```ts
 * events$.pipe(validate({
 *   id: 'validate',
 *   schema: {
 *     common: { event_id: 'string', event_type: 'string', user_id: 'string', timestamp: 'timestamp' },
 *     events: { purchase: { 'event_data.amount': 'number', 'event_data.currency': 'string' } },
 *   },
 *   deadLetter,
 * }));
 * // { event_type: 'purchase', event_data: { amount: 'abc' }, ... } is dead-lettered with
 * // "event_data.amount: expected number, got string \"abc\"; event_data.currency: expected string, got missing"
 * ```
 * @throws ConfigError naming the step when the schema itself is invalid
 */
export function validate<T>(options: ValidateOptions): OperatorFunction<Envelope<T>, Envelope<T>> {
  const { id, schema, deadLetter } = options;
  checkStepId(id, 'validate');
  if (typeof deadLetter !== 'function') throw stepConfigError(id, 'option "deadLetter" must be a function');
  const { check, problems } = compileEventSchema(schema);
  if (problems.length > 0) throw stepConfigError(id, problems);
  return perRecord<Envelope<T>, Envelope<T>>((envelope, subscriber) => {
    const found = check(envelope.value);
    if (found === undefined) return subscriber.next(envelope);
    // Failures are rare: the check runs again for the summary logs show, without the values.
    const summary = (check(envelope.value, false) ?? []).join('; ');
    deadLetter(envelope, new ValidationError(found.join('; '), { stepId: id, summary }), id);
  });
}
