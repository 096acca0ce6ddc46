import { parseField } from '../../../operators/parse-field.ts';
import { path, positiveInt, size } from '../../checks.ts';
import { defineStep, option, type NodeBase } from '../kind.ts';
import type { Size } from '../../spec.ts';

/** A string field holding JSON becomes the object it holds; what cannot be parsed goes to dead letters. */
export interface ParseFieldSpec {
  readonly id: string;
  readonly kind: 'parse-field';
  readonly from: string | readonly string[];
  /** The string field: `event_value`, `payload.body`. */
  readonly field: string;
  /** Where the parsed value goes. Default: `field` itself. */
  readonly into?: string;
  /** Deeper nesting goes to dead letters. Default 32. */
  readonly maxDepth?: number;
  /** Longer strings go to dead letters. Default `1MiB`. */
  readonly maxBytes?: Size;
}

export interface ParseFieldStep extends NodeBase {
  readonly kind: 'parse-field';
  readonly field: string;
  readonly into: string;
  readonly maxDepth: number;
  readonly maxBytes: number;
}

export const parseFieldKind = defineStep<ParseFieldSpec, ParseFieldStep>()({
  kind: 'parse-field',
  doc: 'A string field holding JSON becomes the object it holds; what cannot be parsed goes to dead letters.',
  options: {
    field: option(path, { required: true, doc: 'The string field: event_value, payload.body.' }),
    into: option(path, { doc: 'Where the parsed value goes. Default: field itself.' }),
    maxDepth: option(positiveInt, { default: 32, doc: 'Deeper nesting goes to dead letters.' }),
    maxBytes: option(size, { default: 1024 * 1024, doc: 'Longer strings go to dead letters. Default 1MiB.' }),
  },
  read: (o, base) => {
    const field = o.get('field');
    return { ...base, kind: 'parse-field', field, into: o.has('into') ? (o.get('into') as string) : field, maxDepth: o.get('maxDepth'), maxBytes: o.get('maxBytes') };
  },
  compile: (step, io) =>
    io.apply(parseField({ id: step.id, field: step.field, into: step.into, maxDepth: step.maxDepth, maxBytes: step.maxBytes, deadLetter: io.deps.deadLetter })),
  describe: (step) => (step.into === step.field ? step.field : `${step.field} → ${step.into}`),
  deadLetters: true,
  keepsOrder: true,
});
