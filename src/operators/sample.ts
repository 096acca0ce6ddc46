import type { OperatorFunction } from 'rxjs';
import type { Envelope } from '../core/envelope.ts';
import { compileKey } from '../core/expression.ts';
import { checkStepId, compileFor, perRecord, stepConfigError } from './per-record.ts';

export interface SampleOptions {
  /** The step id (errors, logs, metric labels). */
  readonly id: string;
  /** The share of keys kept, in (0, 1]. */
  readonly rate: number;
  /** The key expressions a record is kept by (`event_id`; `user_id` keeps whole users). */
  readonly key: readonly string[];
}

/**
 * Keeps a deterministic share of the records: those whose key hashes below `rate`. The same record
 * is kept or dropped on every run and every instance, so a replay or a backfill samples alike;
 * sampling by `user_id` keeps a user's events together. Records without the key are kept.
 *
 * ```ts
 * events$.pipe(sample({ id: 'one-percent', rate: 0.01, key: ['user_id'] }));
 * ```
 * @returns the records of the sampled keys
 */
export function sample<T>(options: SampleOptions): OperatorFunction<Envelope<T>, Envelope<T>> {
  const { id, rate } = options;
  checkStepId(id, 'sample');
  if (!(typeof rate === 'number' && rate > 0 && rate <= 1)) throw stepConfigError(id, `option "rate" must be a number in (0, 1], got ${String(rate)}`);
  const keyOf = compileFor(id, 'key', () => compileKey(options.key));
  const threshold = Math.floor(rate * 2 ** 32);
  return perRecord<Envelope<T>, Envelope<T>>((envelope, subscriber) => {
    const key = keyOf(envelope.value, envelope.meta);
    if (key === undefined || rate === 1 || fnv1a(key) < threshold) subscriber.next(envelope);
    else envelope.lease.release();
  });
}

/** 32-bit FNV-1a of a string's UTF-16 code units: fast, stable across runs and processes. */
export function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}
