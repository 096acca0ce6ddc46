import type { OperatorFunction } from 'rxjs';
import { DecodeError } from '../core/errors.ts';
import type { Envelope } from '../core/envelope.ts';
import type { DeadLetter } from '../core/sink.ts';
import { checkStepId, perRecord, rewrap, stepConfigError } from './per-record.ts';

export interface ParseJsonOptions {
  /** The step id (errors, logs, metric labels). */
  readonly id: string;
  /** Values longer than this go to dead letters unparsed. Default 1 MiB. */
  readonly maxBytes?: number;
  /**
   * Values nesting objects and arrays deeper than this go to dead letters, found by a scan of the
   * text before anything parses it. Default 64 (DynamoDB stores 32 levels at most).
   */
  readonly maxDepth?: number;
  /** Takes records that cannot be decoded (with a DecodeError) and their leases. */
  readonly deadLetter: DeadLetter;
}

const PREFIX_CHARS = 64;
export const DEFAULT_MAX_DEPTH = 64;

/**
 * Decodes each record's value (UTF-8 JSON bytes) into a JSON object.
 *
 * ```ts
 * kafka$.pipe(parseJson({ id: 'decode', deadLetter }));
 * ```
 *
 * These go to `deadLetter` with a DecodeError, and the stream goes on: a null value (a tombstone), a
 * value over `maxBytes`, one nesting deeper than `maxDepth`, bytes that are not valid UTF-8 (never
 * read with replacement characters, which would make distinct ids equal), malformed JSON, JSON that
 * is not an object, and an object with a `__proto__` key or a `constructor.prototype` anywhere
 * (prototype poisoning; as fastify refuses by default). The message gives the byte length, the
 * parser's message and position and the first characters of the text; its `summary` (what logs
 * show) leaves the text out.
 * @returns the same records with their values decoded
 */
export function parseJson(options: ParseJsonOptions): OperatorFunction<Envelope<Buffer | null>, Envelope<Record<string, unknown>>> {
  const { id, maxBytes = 1024 * 1024, maxDepth = DEFAULT_MAX_DEPTH, deadLetter } = options;
  checkStepId(id, 'parseJson');
  if (!Number.isInteger(maxBytes) || maxBytes <= 0) throw stepConfigError(id, `option "maxBytes" must be a positive integer, got ${maxBytes}`);
  if (!Number.isInteger(maxDepth) || maxDepth <= 0) throw stepConfigError(id, `option "maxDepth" must be a positive integer, got ${maxDepth}`);
  if (typeof deadLetter !== 'function') throw stepConfigError(id, 'option "deadLetter" must be a function');
  const decoder = new TextDecoder('utf-8', { fatal: true });
  const fail = (envelope: Envelope<unknown>, message: string, summary: string, cause?: unknown) =>
    deadLetter(envelope, new DecodeError(message, { stepId: id, summary, ...(cause === undefined ? {} : { cause }) }), id);

  return perRecord<Envelope<Buffer | null>, Envelope<Record<string, unknown>>>((envelope, subscriber) => {
    const bytes = envelope.value;
    if (bytes === null || bytes === undefined) return fail(envelope, 'value is null (a tombstone?)', 'value is null (a tombstone?)');
    const size = `${bytes.length} bytes`;
    if (bytes.length > maxBytes) {
      const summary = `value of ${size} exceeds maxBytes ${maxBytes}`;
      return fail(envelope, `${summary}; starts ${prefix(bytes.toString('utf8', 0, PREFIX_CHARS * 4))}`, summary);
    }
    let text: string;
    try {
      text = decoder.decode(bytes);
    } catch (error) {
      const summary = `value is not valid UTF-8 (${size}, first invalid byte at ${firstInvalidUtf8(bytes)})`;
      return fail(envelope, summary, summary, error);
    }
    if (jsonDeeperThan(text, maxDepth)) {
      const summary = `JSON nested deeper than maxDepth ${maxDepth} (${size})`;
      return fail(envelope, summary, summary);
    }
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      const position = /at position \d+/.exec(message)?.[0];
      return fail(envelope, `malformed JSON (${size}): ${message}; starts ${prefix(text)}`, `malformed JSON (${size})${position ? ` ${position}` : ''}`, error);
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      const summary = `expected a JSON object, got ${value === null ? 'null' : Array.isArray(value) ? 'an array' : typeof value} (${size})`;
      return fail(envelope, `${summary}; starts ${prefix(text)}`, summary);
    }
    if (mayPoisonPrototypes(text)) {
      const at = poisonedKeyPath(value);
      if (at !== undefined) {
        const summary = `a "${at.endsWith('prototype') ? 'constructor.prototype' : '__proto__'}" key (prototype poisoning)`;
        return fail(envelope, `${summary} at ${at}`, summary);
      }
    }
    subscriber.next(rewrap(envelope, value as Record<string, unknown>));
  });
}

function prefix(text: string): string {
  return JSON.stringify(text.length > PREFIX_CHARS ? `${text.slice(0, PREFIX_CHARS)}…` : text);
}

/**
 * Whether JSON text nests objects and arrays deeper than `maxDepth`, before anything parses it.
 * Counting the brackets (a native search) settles the usual case: no more of them than `maxDepth`,
 * no deeper. Otherwise a linear scan counts the depth, skipping strings. Malformed JSON may be
 * counted wrong; `JSON.parse` refuses it next, without recursion.
 */
export function jsonDeeperThan(text: string, maxDepth: number): boolean {
  if (text.length <= maxDepth || bracketsAtMost(text, maxDepth)) return false;
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++; // a backslash escapes the next character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) {
      if (++depth > maxDepth) return true;
    } else if (c === 0x7d || c === 0x5d) depth--;
  }
  return false;
}

function bracketsAtMost(text: string, limit: number): boolean {
  let count = 0;
  for (const bracket of ['{', '[']) {
    for (let i = text.indexOf(bracket); i !== -1; i = text.indexOf(bracket, i + 1)) if (++count > limit) return false;
  }
  return true;
}

/** The offset of the sequence that breaks UTF-8 (a bad lead or continuation byte, an overlong, surrogate or cut form). */
export function firstInvalidUtf8(bytes: Uint8Array): number {
  let i = 0;
  while (i < bytes.length) {
    const lead = bytes[i] as number;
    if (lead < 0x80) {
      i++;
      continue;
    }
    const more = lead >= 0xc2 && lead <= 0xdf ? 1 : lead >= 0xe0 && lead <= 0xef ? 2 : lead >= 0xf0 && lead <= 0xf4 ? 3 : 0;
    if (more === 0) return i;
    for (let k = 1; k <= more; k++) if (((bytes[i + k] ?? 0) & 0xc0) !== 0x80) return i;
    const second = bytes[i + 1] as number;
    if ((lead === 0xe0 && second < 0xa0) || (lead === 0xed && second > 0x9f) || (lead === 0xf0 && second < 0x90) || (lead === 0xf4 && second > 0x8f)) return i;
    i += more + 1;
  }
  return -1;
}

/**
 * A cheap test on the text: only then is the value walked. `__proto__` and `prototype` both hold
 * `proto`; any other spelling of them has a `\u` escape.
 */
function mayPoisonPrototypes(text: string): boolean {
  return text.includes('proto') || text.includes('\\u');
}

/** The path of a `__proto__` key or a `constructor.prototype`, walking iteratively; `undefined` if none. */
function poisonedKeyPath(root: object): string | undefined {
  const stack: [object, string][] = [[root, '']];
  while (stack.length > 0) {
    const [x, path] = stack.pop() as [object, string];
    const array = Array.isArray(x);
    for (const key of Object.keys(x)) {
      const child = (x as Record<string, unknown>)[key];
      const at = array ? `${path}[${key}]` : path === '' ? key : `${path}.${key}`;
      if (!array && key === '__proto__') return at;
      if (typeof child !== 'object' || child === null) continue;
      if (!array && key === 'constructor' && Object.hasOwn(child, 'prototype')) return `${at}.prototype`;
      stack.push([child, at]);
    }
  }
  return undefined;
}
