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
  /** Takes records that cannot be decoded (with a DecodeError) and their leases. */
  readonly deadLetter: DeadLetter;
}

const PREFIX_CHARS = 64;

/**
 * Decodes each record's value (UTF-8 JSON bytes) into a JSON object.
 *
 * ```ts
 * kafka$.pipe(parseJson({ id: 'decode', deadLetter }));
 * ```
 *
 * A null value (a tombstone), a value over `maxBytes`, malformed JSON, or JSON that is not an object
 * (an array, a number, a string) goes to `deadLetter` with a DecodeError giving the byte length, the
 * parser's message and position, and the first characters of the text; the stream goes on.
 * @returns the same records with their values decoded
 */
export function parseJson(options: ParseJsonOptions): OperatorFunction<Envelope<Buffer | null>, Envelope<Record<string, unknown>>> {
  const { id, maxBytes = 1024 * 1024, deadLetter } = options;
  checkStepId(id, 'parseJson');
  if (!Number.isInteger(maxBytes) || maxBytes <= 0) throw stepConfigError(id, `option "maxBytes" must be a positive integer, got ${maxBytes}`);
  if (typeof deadLetter !== 'function') throw stepConfigError(id, 'option "deadLetter" must be a function');
  const fail = (envelope: Envelope<unknown>, message: string, cause?: unknown) =>
    deadLetter(envelope, new DecodeError(message, cause === undefined ? { stepId: id } : { stepId: id, cause }), id);

  return perRecord<Envelope<Buffer | null>, Envelope<Record<string, unknown>>>((envelope, subscriber) => {
    const bytes = envelope.value;
    if (bytes === null || bytes === undefined) return fail(envelope, 'value is null (a tombstone?)');
    if (bytes.length > maxBytes) return fail(envelope, `value of ${bytes.length} bytes exceeds maxBytes ${maxBytes}; starts ${prefix(bytes.toString('utf8', 0, PREFIX_CHARS * 4))}`);
    // toString() with no argument is Node's fast path (utf8Slice), with no encoding lookup.
    const text = bytes.toString();
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      return fail(envelope, `malformed JSON (${bytes.length} bytes): ${message}; starts ${prefix(text)}`, error);
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value))
      return fail(envelope, `expected a JSON object, got ${value === null ? 'null' : Array.isArray(value) ? 'an array' : typeof value} (${bytes.length} bytes); starts ${prefix(text)}`);
    subscriber.next(rewrap(envelope, value as Record<string, unknown>));
  });
}

function prefix(text: string): string {
  return JSON.stringify(text.length > PREFIX_CHARS ? `${text.slice(0, PREFIX_CHARS)}…` : text);
}
