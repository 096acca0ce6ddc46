/** Leaf checks of the spec: strings (with `${VAR}`), names, words, numbers, durations, sizes, expressions. */
import { ConfigError } from '../core/errors.ts';
import { compileField, compileKey, compilePredicate, compileTemplate } from '../core/expression.ts';
import { LATEST_EVENT_TIME_MS, parseTimestampMs } from '../operators/event-time.ts';
import type { At, Check, Checker, Described } from './schema.ts';
import { closest, described, describe, fail, oneOrMore } from './schema.ts';
import { interpolate, parseDuration, parseSize } from './units.ts';

/** `${VAR}` substituted; `undefined` after reporting a problem, or unreported for an unset variable the checker skips. */
function substitute(value: string, at: At, c: Checker): string | undefined {
  const result = interpolate(value, c.env);
  if (!('error' in result)) return result.value;
  return result.unset !== undefined && c.skipUnsetEnv ? undefined : fail(c, at, result.error);
}

/** A string, with `${VAR}` substituted. */
export function str(options: { nonEmpty?: boolean } = {}): Described<string> {
  return described((value, at, c) => {
    if (typeof value !== 'string') return fail(c, at, `must be a string (got ${describe(value)})`);
    const text = substitute(value, at, c);
    if (text === undefined) return text as never;
    if (options.nonEmpty !== false && text === '') return fail(c, at, 'must not be empty');
    return text;
  }, { type: 'string', ...(options.nonEmpty === false ? {} : { minLength: 1 }) });
}

/** A string (with `${VAR}` substituted) matching `re`, else "must be <what> (got ...)". */
export function matching(re: RegExp, what: string): Described<string> {
  const text = str();
  return described((value, at, c) => {
    const s = text(value, at, c);
    if (s === undefined || re.test(s)) return s;
    return fail(c, at, `must be ${what} (got "${s}")`);
  }, { type: 'string', description: `${what[0]?.toUpperCase()}${what.slice(1)}; \${VAR} references allowed.` });
}

export const topicName = matching(/^[A-Za-z0-9._-]{1,249}$/, 'a Kafka topic name (letters, digits, ".", "_" and "-")');
export const tableName = matching(/^[A-Za-z0-9._-]{3,255}$/, 'a DynamoDB table name (3 to 255 letters, digits, "_", "-" and ".")');
export const bucketName = matching(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'an S3 bucket name (3 to 63 lowercase letters, digits, "." and "-")');

export const NAME_RE = /^[A-Za-z][A-Za-z0-9_-]*$/;

/** An id or output name (no substitution): letters, digits, `-`, `_`. */
export const name: Described<string> = described((value, at, c) => {
  if (typeof value !== 'string') return fail(c, at, `must be a string (got ${describe(value)})`);
  if (!NAME_RE.test(value)) return fail(c, at, `must be a name of letters, digits, "-" and "_" starting with a letter (got "${value}")`);
  return value;
}, { type: 'string', pattern: NAME_RE.source });

/** One of fixed words. */
export function oneOf<const T extends string>(...values: T[]): Described<T> {
  return described((value, at, c) => {
    if (typeof value === 'string' && (values as string[]).includes(value)) return value as T;
    const near = typeof value === 'string' ? closest(value, values) : undefined;
    return fail(c, at, `must be one of ${values.join(', ')} (got ${describe(value)}${near ? `; did you mean "${near}"?` : ''})`);
  }, { enum: values });
}

/** A number; `integer` and `min` (inclusive) or `above` (exclusive) bounds. */
export function num(options: { integer?: boolean; min?: number; above?: number } = {}): Described<number> {
  return described((value, at, c) => {
    if (typeof value !== 'number' || !Number.isFinite(value)) return fail(c, at, `must be ${options.integer ? 'an integer' : 'a number'} (got ${describe(value)})`);
    if (options.integer && !Number.isInteger(value)) return fail(c, at, `must be an integer (got ${value})`);
    if (options.min !== undefined && value < options.min) return fail(c, at, `must be at least ${options.min} (got ${value})`);
    if (options.above !== undefined && value <= options.above) return fail(c, at, `must be greater than ${options.above} (got ${value})`);
    return value;
  }, {
    type: options.integer ? 'integer' : 'number',
    ...(options.min === undefined ? {} : { minimum: options.min }),
    ...(options.above === undefined ? {} : { exclusiveMinimum: options.above }),
  });
}

export const positiveInt = num({ integer: true, min: 1 });

export const bool: Described<boolean> = described((value, at, c) => (typeof value === 'boolean' ? value : fail(c, at, `must be true or false (got ${describe(value)})`)), { type: 'boolean' });

/** A duration string or a whole number of milliseconds, to milliseconds. */
const DURATION_SCHEMA = {
  anyOf: [
    { type: 'string', pattern: '^(\\d+(\\.\\d+)?(ms|s|m|h|d|w))+$|\\$\\{', description: 'A duration: "250ms", "60s", "5m", "1h30m", "30d"; ${VAR} references allowed.' },
    { type: 'integer', minimum: 0, description: 'Milliseconds.' },
  ],
};

export function duration(options: { positive?: boolean } = {}): Described<number> {
  return described((value, at, c) => {
    let ms: number | undefined;
    if (typeof value === 'number') ms = Number.isInteger(value) ? value : undefined;
    else if (typeof value === 'string') {
      const text = substitute(value, at, c);
      if (text === undefined) return text as never;
      ms = parseDuration(text);
    }
    if (ms === undefined) return fail(c, at, 'must be a duration like "60s"');
    const got = typeof value === 'string' ? `"${value}"` : String(value);
    if (ms < 0) return fail(c, at, `must not be negative (got ${got})`);
    if (options.positive !== false && ms === 0) return fail(c, at, `must be greater than 0 (got ${got})`);
    return ms;
  }, DURATION_SCHEMA);
}

/** A size string or a whole number of bytes, to bytes (at least 1). */
export const size: Described<number> = described((value, at, c) => {
  let bytes: number | undefined;
  if (typeof value === 'number') bytes = Number.isInteger(value) ? value : undefined;
  else if (typeof value === 'string') {
    const text = substitute(value, at, c);
    if (text === undefined) return text as never;
    bytes = parseSize(text);
  }
  if (bytes === undefined) return fail(c, at, 'must be a size like "64MiB"');
  if (bytes < 1) return fail(c, at, `must be greater than 0 (got ${JSON.stringify(value)})`);
  return bytes;
}, {
  anyOf: [
    { type: 'string', pattern: '^\\d+(\\.\\d+)?\\s*([kKMG]i?B|B)$|\\$\\{', description: 'A size: "512KiB", "64MiB", "1MB"; ${VAR} references allowed.' },
    { type: 'integer', minimum: 1, description: 'Bytes.' },
  ],
});

/** An instant, to epoch ms: an ISO-8601 string (`"2000-01-01"`, `"2000-01-01T00:00:00Z"`) or epoch ms, from 1970 to the end of year 9999. */
export const instant: Described<number> = described((value, at, c) => {
  let ms: number | undefined;
  if (typeof value === 'number') ms = Number.isInteger(value) ? value : undefined;
  else if (value instanceof Date) ms = Number.isNaN(value.getTime()) ? undefined : value.getTime();
  else if (typeof value === 'string') {
    const text = substitute(value, at, c);
    if (text === undefined) return text as never;
    ms = parseTimestampMs(text);
  }
  if (ms === undefined) return fail(c, at, `must be an ISO-8601 time like "2000-01-01T00:00:00Z" or epoch ms (got ${describe(value)})`);
  if (ms < 0 || ms > LATEST_EVENT_TIME_MS) return fail(c, at, `must be from 1970-01-01 to the end of year 9999 (got ${describe(value)})`);
  return ms;
}, { anyOf: [{ type: 'string', description: 'ISO-8601: "2000-01-01T00:00:00Z".' }, { type: 'integer', minimum: 0, description: 'Epoch milliseconds.' }] });

/** A string that `compile` accepts; its `ConfigError` message is reported at the string's path. */
function compiled(compile: (source: string) => unknown, what: string): Described<string> {
  const text = str();
  return described((value, at, c) => {
    const source = text(value, at, c);
    if (source === undefined) return source;
    try {
      compile(source);
      return source;
    } catch (error) {
      if (error instanceof ConfigError) return fail(c, at, error.message);
      throw error;
    }
  }, { type: 'string', minLength: 1, description: what });
}

/** A boolean expression: `"event_type == 'purchase' and event_data.amount > 100"`. */
export const predicate = compiled(compilePredicate, `A predicate: "event_type == 'purchase' and event_data.amount > 100".`);

/** A value expression, usually a field path: `event_data.amount`. */
export const expression = compiled(compileField, 'An expression, usually a field path: "event_data.amount".');

/** A `{path}` template: `"USER#{user_id}"`. */
const templateSource = compiled(compileTemplate, 'A template: "USER#{user_id}".');
export const template: Described<string> = described((value, at, c) => {
  const source = templateSource(value, at, c);
  if (source === undefined || !/[{}]/.test(source.replace(/\{[^{}]+\}/g, ''))) return source;
  return fail(c, at, 'has an unmatched "{" or "}" (placeholders look like {user_id})');
}, templateSource.schema);

/** A key: one expression or a list of them, normalized to a list. */
export const key: Described<string[]> = oneOrMore(compiled((source) => compileKey(source), 'A key expression: "user_id".'));

const PATH_RE = /^[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*$/;

/** A dotted field path (a place to read or write, not an expression): `event_data.game_id`. */
export const path: Described<string> = described((value, at, c) => {
  if (typeof value !== 'string') return fail(c, at, `must be a string (got ${describe(value)})`);
  if (!PATH_RE.test(value)) return fail(c, at, `must be a field path like "event_data.amount" (got "${value}")`);
  return value;
}, { type: 'string', pattern: PATH_RE.source });

/** Why `key` is not a field path, or `undefined` if it is one. */
export function pathProblem(key: string): string | undefined {
  return PATH_RE.test(key) ? undefined : `must be a field path like "event_data.amount" (got "${key}")`;
}
