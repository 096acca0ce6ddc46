import type { OperatorFunction } from 'rxjs';
import { DecodeError } from '../core/errors.ts';
import type { Envelope } from '../core/envelope.ts';
import type { DeadLetter } from '../core/sink.ts';
import { checkStepId, perRecord, rewrap, stepConfigError } from './per-record.ts';
import { jsonDeeperThan } from './parse-json.ts';

export interface ParseFieldOptions {
  /** The step id (errors, logs, metric labels). */
  readonly id: string;
  /** The dotted path of the string field holding JSON: `event_value`, `payload.body`. */
  readonly field: string;
  /** Where the parsed value goes; default `field` itself (the string is replaced). */
  readonly into?: string;
  /** Objects and arrays nested deeper than this go to dead letters. Default 32. */
  readonly maxDepth?: number;
  /** Strings longer than this (UTF-8 bytes) go to dead letters unparsed. Default 1 MiB. */
  readonly maxBytes?: number;
  /** Takes records whose field cannot be parsed (with a DecodeError) and their leases. */
  readonly deadLetter: DeadLetter;
}

const PREFIX_CHARS = 64;
const PATH_RE = /^[^.$][^.]*(\.[^.]+)*$/;

/**
 * Parses a string field holding JSON (`"event_value": "{\"screen_info\": …}"`) into the object it
 * holds.
 *
 * ```ts
 * events$.pipe(parseField({ id: 'event-value', field: 'event_value', deadLetter }));
 * // { event_value: '{"screen_info":{"w":1080}}' } -> { event_value: { screen_info: { w: 1080 } } }
 * ```
 *
 * A record without the field (or with `null` there) passes unchanged, and so does one whose field is
 * already an object or array (a producer that sends it parsed). Malformed JSON, JSON that is not an
 * object or array, a string over `maxBytes`, nesting deeper than `maxDepth` (checked before parsing),
 * or a field of another type goes to `deadLetter` with a DecodeError (`TRIB_DECODE`) naming the
 * field, the byte length, the reason (the parser's message and position, the depth found) and the
 * first characters of the text. The input value is never modified: the objects along the path are
 * copied.
 * @returns the same records with the field parsed
 */
export function parseField(options: ParseFieldOptions): OperatorFunction<Envelope<unknown>, Envelope<unknown>> {
  const { id, field, into = field, maxDepth = 32, maxBytes = 1024 * 1024, deadLetter } = options;
  checkStepId(id, 'parseField');
  const problems: string[] = [];
  for (const [name, path] of [['field', field], ['into', into]] as const)
    if (typeof path !== 'string' || !PATH_RE.test(path) || path.split('.').includes('__proto__')) problems.push(`option "${name}" must be a field path like event_value, got ${JSON.stringify(path)}`);
  if (!Number.isInteger(maxDepth) || maxDepth < 1) problems.push(`option "maxDepth" must be a positive integer, got ${maxDepth}`);
  if (!Number.isInteger(maxBytes) || maxBytes < 1) problems.push(`option "maxBytes" must be a positive integer, got ${maxBytes}`);
  if (typeof deadLetter !== 'function') problems.push('option "deadLetter" must be a function');
  if (problems.length > 0) throw stepConfigError(id, problems);
  const from = field.split('.');
  const to = into.split('.');
  const fail = (envelope: Envelope<unknown>, message: string, cause?: unknown) =>
    deadLetter(envelope, new DecodeError(`field ${field}: ${message}`, cause === undefined ? { stepId: id } : { stepId: id, cause }), id);

  return perRecord<Envelope<unknown>, Envelope<unknown>>((envelope, subscriber) => {
    const raw = read(envelope.value, from);
    if (raw === undefined || raw === null) return subscriber.next(envelope);
    if (typeof raw === 'object') return subscriber.next(into === field ? envelope : rewrap(envelope, write(envelope.value, to, raw)));
    if (typeof raw !== 'string') return fail(envelope, `expected a string holding JSON, got ${typeof raw} ${JSON.stringify(raw)}`);
    const bytes = Buffer.byteLength(raw);
    if (bytes > maxBytes) return fail(envelope, `string of ${bytes} bytes exceeds maxBytes ${maxBytes}; starts ${prefix(raw)}`);
    if (jsonDeeperThan(raw, maxDepth)) return fail(envelope, `JSON nested deeper than maxDepth ${maxDepth} (${bytes} bytes); starts ${prefix(raw)}`);
    let parsed: unknown;
    try {
      parsed = JSON.parse(raw);
    } catch (error) {
      return fail(envelope, `malformed JSON (${bytes} bytes): ${error instanceof Error ? error.message : String(error)}; starts ${prefix(raw)}`, error);
    }
    if (typeof parsed !== 'object' || parsed === null)
      return fail(envelope, `expected a JSON object or array, got ${parsed === null ? 'null' : typeof parsed} (${bytes} bytes); starts ${prefix(raw)}`);
    subscriber.next(rewrap(envelope, write(envelope.value, to, parsed)));
  });
}

function read(value: unknown, path: readonly string[]): unknown {
  let current = value;
  for (const part of path) {
    if (typeof current !== 'object' || current === null || Array.isArray(current)) return undefined;
    current = (current as Record<string, unknown>)[part];
  }
  return current;
}

/** A copy of `value` with `path` set to `x`, copying each object along the path (missing ones are created). */
function write(value: unknown, path: readonly string[], x: unknown): Record<string, unknown> {
  const root: Record<string, unknown> = { ...(value as Record<string, unknown>) };
  let node = root;
  for (let i = 0; i < path.length - 1; i++) {
    const part = path[i] as string;
    const next = node[part];
    const copy = typeof next === 'object' && next !== null && !Array.isArray(next) ? { ...(next as Record<string, unknown>) } : {};
    node[part] = copy;
    node = copy;
  }
  node[path[path.length - 1] as string] = x;
  return root;
}

function prefix(text: string): string {
  return JSON.stringify(text.length > PREFIX_CHARS ? `${text.slice(0, PREFIX_CHARS)}…` : text);
}
