/** Checks several kinds share: field selections, nested objects, rotation, prefixes, time zones. */
import { duration, expression, path, positiveInt, size, str } from '../checks.ts';
import type { Check, Described, Fields, JsonSchema } from '../schema.ts';
import { described, entries, fail, fields, isPlainObject, list } from '../schema.ts';
import { pathProblem } from '../checks.ts';
import type { Duration, Size } from '../spec.ts';
import { DEFAULT_ROTATION } from '../../sinks/s3-parquet-options.ts';

/** Reads an object with `read`, then reports its unknown keys. */
export function object<T>(read: (f: Fields) => T, schema: JsonSchema): Described<T> {
  return described((value, at, c) => {
    const f = fields(value, at, c);
    if (!f) return undefined as never;
    const out = read(f);
    f.done();
    return out;
  }, { type: 'object', additionalProperties: false, ...schema });
}

/** The JSON Schema of an object whose keys are checked by `checks`. */
export function properties(checks: Readonly<Record<string, Check<unknown>>>, docs: Readonly<Record<string, string>> = {}, required: readonly string[] = []): JsonSchema {
  const props = Object.fromEntries(
    Object.entries(checks).map(([k, check]) => [k, { ...((check as Partial<Described<unknown>>).schema ?? {}), ...(docs[k] ? { description: docs[k] } : {}) }]),
  );
  return { properties: props, ...(required.length > 0 ? { required } : {}) };
}

/** Field paths (a list) or `{ name: expression }` (an object), kept in the form given. */
export const selection: Described<readonly string[] | Record<string, string>> = described(
  (value, at, c) => {
    if (Array.isArray(value)) return list(path)(value, at, c);
    if (isPlainObject(value)) {
      const out = entries(expression, pathProblem, { min: 1 })(value, at, c);
      return out && Object.fromEntries(out);
    }
    return fail(c, at, 'must be a list of field paths or an object of { field: expression }');
  },
  { anyOf: [list(path).schema, { type: 'object', additionalProperties: expression.schema, minProperties: 1 }] },
);

/** File rotation of the S3 sinks: whichever limit comes first closes a file. */
export interface RotationSpec {
  readonly rows?: number;
  readonly bytes?: Size;
  readonly interval?: Duration;
}

export interface Rotation {
  readonly rows: number;
  readonly bytes: number;
  readonly intervalMs: number;
}

const rotationChecks = { rows: positiveInt, bytes: size, interval: duration() };

/** Rotation with the S3 sinks' defaults (`DEFAULT_ROTATION`: 100,000 rows, 64 MiB, 5 minutes). */
export const rotation: Described<Rotation> = object(
  (f) => ({
    rows: f.def('rows', positiveInt, DEFAULT_ROTATION.rows),
    bytes: f.def('bytes', size, DEFAULT_ROTATION.bytes),
    intervalMs: f.def('interval', duration(), DEFAULT_ROTATION.intervalMs),
  }),
  properties(rotationChecks, {
    rows: `Rows per file at most. Default ${DEFAULT_ROTATION.rows}.`,
    bytes: `Bytes per file at most. Default ${DEFAULT_ROTATION.bytes / 1024 / 1024}MiB.`,
    interval: `Age of a file at most (wall clock). Default ${DEFAULT_ROTATION.intervalMs / 60_000}m.`,
  }),
);

/** A rotation as the S3 sinks' options name it. */
export function fileLimits(r: Rotation): { maxFileRows: number; maxFileBytes: number; maxFileAgeMs: number } {
  return { maxFileRows: r.rows, maxFileBytes: r.bytes, maxFileAgeMs: r.intervalMs };
}

export const prefix: Described<string> = described((value, at, c) => {
  const text = str({ nonEmpty: false })(value, at, c);
  return text === undefined ? text : text.replace(/^\/+|\/+$/g, '');
}, { type: 'string' });

export const timezone: Described<string> = described((value, at, c) => {
  const zone = str()(value, at, c);
  if (zone === undefined) return zone;
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return zone;
  } catch {
    return fail(c, at, `must be an IANA time zone like "UTC" or "Europe/Paris" (got "${zone}")`);
  }
}, { type: 'string', description: 'An IANA time zone: "UTC", "Europe/Paris".' });

/** `event_data.game_id` -> `game_id`: short enough for a label. */
export function lastSegment(p: string): string {
  return /^[\w.]+$/.test(p) ? (p.split('.').at(-1) as string) : p;
}

/** `60_000` -> `1m`, `86_400_000` -> `24h` (the largest unit that divides it, hours up to 48). */
export function formatDuration(ms: number): string {
  if (ms === 0) return '0s';
  if (ms % 86_400_000 === 0 && ms > 172_800_000) return `${ms / 86_400_000}d`;
  for (const [unit, size] of [['h', 3_600_000], ['m', 60_000], ['s', 1000]] as const) if (ms % size === 0) return `${ms / size}${unit}`;
  return `${ms}ms`;
}
