import type { OperatorFunction } from 'rxjs';
import type { Envelope } from '../../../core/envelope.ts';
import { flatten } from '../../../operators/flatten.ts';
import { oneOf, str } from '../../checks.ts';
import { defineStep, option, type NodeBase } from '../kind.ts';

export interface FlattenSpec {
  readonly id: string;
  readonly kind: 'flatten';
  readonly from: string | readonly string[];
  /** Default `_`: `{ event_data: { amount } }` becomes `{ event_data_amount }`. */
  readonly delimiter?: string;
  /** Arrays kept as they are (`keep`, default) or written as JSON strings (`json`). */
  readonly arrays?: 'keep' | 'json';
}

export interface FlattenStep extends NodeBase {
  readonly kind: 'flatten';
  readonly delimiter: string;
  readonly arrays: 'keep' | 'json';
}

export const flattenKind = defineStep<FlattenSpec, FlattenStep>()({
  kind: 'flatten',
  doc: 'Flattens nested objects into top-level fields: { event_data: { amount } } becomes { event_data_amount }.',
  options: {
    delimiter: option(str(), { default: '_', doc: 'Joins the names of nested fields.' }),
    arrays: option(oneOf('keep', 'json'), { default: 'keep', doc: 'Arrays kept as they are (keep) or written as JSON strings (json).' }),
  },
  read: (o, base) => ({ ...base, kind: 'flatten', delimiter: o.get('delimiter'), arrays: o.get('arrays') }),
  compile: (step, io) =>
    io.apply(flatten({ id: step.id, delimiter: step.delimiter, arrays: step.arrays, deadLetter: io.deps.deadLetter }) as OperatorFunction<Envelope<unknown>, Envelope<unknown>>),
  describe: (step) => `"${step.delimiter}"`,
  keepsOrder: true,
  synchronous: true,
});
