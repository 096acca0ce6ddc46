import { validate, type EventSchema } from '../../../operators/validate.ts';
import { oneOf, path, pathProblem } from '../../checks.ts';
import type { Described } from '../../schema.ts';
import { described, entries, fail } from '../../schema.ts';
import { defineStep, option, type NodeBase } from '../kind.ts';

/** `string`, `number`, `integer`, `boolean`, `timestamp`, `object`, `array`; a trailing `?` makes the field optional. */
export type FieldTypeSpec = string;

/** The validate operator's `EventSchema`: records that fail go to dead letters. */
export interface ValidateSpec {
  readonly id: string;
  readonly kind: 'validate';
  readonly from: string | readonly string[];
  /** Default `event_type`. */
  readonly discriminator?: string;
  /** Fields every event has, by path: `{ event_id: string, platform: "string?" }`. */
  readonly common?: Readonly<Record<string, FieldTypeSpec>>;
  /** Fields per event type (the discriminator's value); `null` or `{}` for none. Without it, only `common` is checked. */
  readonly events?: Readonly<Record<string, Readonly<Record<string, FieldTypeSpec>> | null>>;
  /** An event type `events` does not list: `reject` (default, to dead letters) or `pass`. */
  readonly unknownEventTypes?: 'reject' | 'pass';
}

/** Its `discriminator`, `common`, `events` and `unknownEventTypes` form the validate operator's `EventSchema`. */
export interface ValidateStep extends NodeBase {
  readonly kind: 'validate';
  readonly discriminator: string;
  readonly common: Readonly<Record<string, FieldTypeSpec>>;
  /** Absent: only `common` is checked. */
  readonly events: Readonly<Record<string, Readonly<Record<string, FieldTypeSpec>>>> | undefined;
  readonly unknownEventTypes: 'reject' | 'pass';
}

const FIELD_TYPE_RE = /^(string|number|integer|boolean|timestamp|object|array)\??$/;

const fieldType: Described<string> = described(
  (value, at, c) => {
    if (typeof value === 'string' && FIELD_TYPE_RE.test(value)) return value;
    return fail(c, at, `must be a field type: string, number, integer, boolean, timestamp, object or array, with a trailing ? if optional (got ${JSON.stringify(value)})`);
  },
  { type: 'string', pattern: FIELD_TYPE_RE.source, description: 'string, number, integer, boolean, timestamp, object or array; a trailing ? makes the field optional.' },
);

const fieldTypeEntries = entries(fieldType, pathProblem);
const fieldTypes: Described<Record<string, string>> = described((value, at, c) => {
  const out = fieldTypeEntries(value, at, c);
  return out && Object.fromEntries(out);
}, fieldTypeEntries.schema);

const eventTypeEntries = entries((v, a, cc) => (v === null ? {} : fieldTypes(v, a, cc)), undefined, { min: 1 });
const eventTypes: Described<Record<string, Record<string, string>>> = described(
  (value, at, c) => {
    const out = eventTypeEntries(value, at, c);
    return out && Object.fromEntries(out);
  },
  { type: 'object', minProperties: 1, additionalProperties: { anyOf: [fieldTypes.schema, { type: 'null' }] } },
);

export const validateKind = defineStep<ValidateSpec, ValidateStep>()({
  kind: 'validate',
  doc: 'Checks field types per event type; records that fail go to dead letters.',
  options: {
    discriminator: option(path, { default: 'event_type', doc: 'The field naming the event type.' }),
    common: option(fieldTypes, { default: {}, doc: 'Fields every event has, by path: { event_id: string, platform: "string?" }.' }),
    events: option(eventTypes, { doc: 'Fields per event type (the discriminator\'s value); null or {} for none. Without it, only common is checked.' }),
    unknownEventTypes: option(oneOf('reject', 'pass'), { default: 'reject', doc: 'An event type events does not list: reject (to dead letters) or pass.' }),
  },
  read: (o, base) => ({
    ...base,
    kind: 'validate',
    discriminator: o.get('discriminator'),
    common: o.get('common'),
    events: o.get('events'),
    unknownEventTypes: o.get('unknownEventTypes'),
  }),
  compile: (step, io) =>
    io.apply(
      validate({
        id: step.id,
        // The topology's validation checked every type name, so the strings are `FieldTypeSpec`s.
        schema: {
          discriminator: step.discriminator,
          common: step.common,
          ...(step.events ? { events: step.events } : {}),
          unknownEventTypes: step.unknownEventTypes,
        } as EventSchema,
        deadLetter: io.deps.deadLetter,
      }),
    ),
  describe: (step) => (step.events === undefined ? `${Object.keys(step.common).length} fields` : `${Object.keys(step.events).length} event types`),
  deadLetters: true,
  keepsOrder: true,
});
