import { describeValue, parseTimestampMs } from './event-time.ts';
import { fieldPath } from '../core/expression.ts';

/** The field types a schema can require. `timestamp` is epoch ms (number) or an ISO-8601 string. */
export const FIELD_TYPES = ['string', 'number', 'integer', 'boolean', 'timestamp', 'object', 'array'] as const;
export type FieldType = (typeof FIELD_TYPES)[number];
/** A field's type; a trailing `?` makes it optional (absent or null is accepted): `'string?'`. */
export type FieldTypeSpec = FieldType | `${FieldType}?`;
/** Field path (`event_data.amount`) to its type. */
export type FieldSpecs = Readonly<Record<string, FieldTypeSpec>>;

/**
 * A per-event-type schema, written the same way in TypeScript and in the topology's YAML:
 *
 * ```yaml
 * discriminator: event_type        # default
 * common:                          # every event
 *   event_id: string
 *   event_type: string
 *   user_id: string
 *   timestamp: timestamp
 *   platform: string?
 * events:                          # per value of the discriminator
 *   purchase:
 *     event_data.amount: number
 *     event_data.currency: string
 *   level_complete:
 *     event_data.level: integer
 * unknownEventTypes: reject        # or pass (checked against `common` only)
 * ```
 *
 * Without `events`, only `common` is checked and the discriminator is not read.
 */
export interface EventSchema {
  /** The field naming the event type. Default `event_type`. */
  readonly discriminator?: string;
  readonly common?: FieldSpecs;
  readonly events?: Readonly<Record<string, FieldSpecs>>;
  /** What to do with an event type `events` does not list. Default `reject`. */
  readonly unknownEventTypes?: 'reject' | 'pass';
}

/**
 * Checks one decoded value; returns every problem as `path: message`, or `undefined` when valid.
 * With `content` false, the messages name the kinds of the values found, not the values (for logs).
 */
export type SchemaCheck = (value: unknown, content?: boolean) => string[] | undefined;

interface FieldCheck {
  readonly path: string;
  readonly type: FieldType;
  readonly optional: boolean;
  readonly get: (value: unknown) => unknown;
  readonly test: (x: unknown) => boolean;
}

const TESTS: Readonly<Record<FieldType, (x: unknown) => boolean>> = {
  string: (x) => typeof x === 'string',
  number: (x) => typeof x === 'number' && Number.isFinite(x),
  integer: (x) => Number.isInteger(x),
  boolean: (x) => typeof x === 'boolean',
  timestamp: (x) => parseTimestampMs(x) !== undefined,
  object: (x) => typeof x === 'object' && x !== null && !Array.isArray(x),
  array: (x) => Array.isArray(x),
};

const SCHEMA_KEYS = new Set(['discriminator', 'common', 'events', 'unknownEventTypes']);

/**
 * Compiles a schema into a check, once. Throws nothing itself: returns the schema's own problems
 * (unknown type names, empty paths) in `problems`, for the caller to raise as a ConfigError.
 */
export function compileEventSchema(schema: EventSchema): { check: SchemaCheck; problems: string[] } {
  const problems: string[] = [];
  if (typeof schema !== 'object' || schema === null) return { check: () => undefined, problems: ['schema must be an object'] };
  for (const key of Object.keys(schema)) if (!SCHEMA_KEYS.has(key)) problems.push(`schema.${key}: unknown key (known: ${[...SCHEMA_KEYS].join(', ')})`);
  const discriminator = schema.discriminator ?? 'event_type';
  if (typeof discriminator !== 'string' || discriminator === '') problems.push('schema.discriminator: must be a non-empty field path');
  const unknown = schema.unknownEventTypes ?? 'reject';
  if (unknown !== 'reject' && unknown !== 'pass') problems.push(`schema.unknownEventTypes: must be 'reject' or 'pass'`);
  const common = compileFields(schema.common ?? {}, 'schema.common', problems);
  if (schema.events === undefined) return { check: (value, content = true) => (isRecord(value) ? runChecks(value, common, undefined, content) : notAnObject(value, content)), problems };
  if (typeof schema.events !== 'object' || schema.events === null) {
    problems.push('schema.events: must map event types to field specs');
    return { check: () => undefined, problems };
  }
  const perType = new Map<string, FieldCheck[]>();
  for (const [type, fields] of Object.entries(schema.events))
    perType.set(type, [...common, ...compileFields(fields, `schema.events.${type}`, problems)]);
  const known = [...perType.keys()].join(', ');
  const getType = fieldPath(discriminator);
  return {
    problems,
    check(value, content = true) {
      if (!isRecord(value)) return notAnObject(value, content);
      const type = getType(value);
      const checks = typeof type === 'string' ? perType.get(type) : undefined;
      if (checks !== undefined) return runChecks(value, checks, undefined, content);
      if (typeof type !== 'string')
        return runChecks(value, common, [`${discriminator}: expected string (one of ${known}), got ${describeValue(type, content)}`], content);
      if (unknown === 'pass') return runChecks(value, common, undefined, content);
      const found = content ? ` ${JSON.stringify(type.length > 40 ? `${type.slice(0, 40)}…` : type)}` : '';
      return runChecks(value, common, [`${discriminator}: unknown event type${found} (known: ${known})`], content);
    },
  };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function notAnObject(value: unknown, content: boolean): string[] {
  return [`(value): expected object, got ${describeValue(value, content)}`];
}

function runChecks(value: Record<string, unknown>, checks: readonly FieldCheck[], found: string[] | undefined, content: boolean): string[] | undefined {
  let problems = found;
  for (const c of checks) {
    const x = c.get(value);
    if (c.test(x) || (c.optional && (x === undefined || x === null))) continue;
    (problems ??= []).push(`${c.path}: expected ${c.type}, got ${describeValue(x, content)}`);
  }
  return problems;
}

function compileFields(fields: FieldSpecs, at: string, problems: string[]): FieldCheck[] {
  if (typeof fields !== 'object' || fields === null || Array.isArray(fields)) {
    problems.push(`${at}: must map field paths to types`);
    return [];
  }
  const checks: FieldCheck[] = [];
  for (const [path, spec] of Object.entries(fields)) {
    const optional = typeof spec === 'string' && spec.endsWith('?');
    const type = (optional ? spec.slice(0, -1) : spec) as FieldType;
    if (!(FIELD_TYPES as readonly string[]).includes(type)) {
      problems.push(`${at}.${path}: unknown type ${JSON.stringify(spec)} (known: ${FIELD_TYPES.join(', ')}, with ? for optional)`);
      continue;
    }
    if (path === '' || path.split('.').some((part) => part === '')) {
      problems.push(`${at}: field path ${JSON.stringify(path)} has an empty segment`);
      continue;
    }
    checks.push({ path, type, optional, get: fieldPath(path), test: TESTS[type] });
  }
  return checks;
}

