import { LRUCache } from 'lru-cache';
import { Observable, type OperatorFunction, type SchedulerLike } from 'rxjs';
import { OperatorError, ValidationError } from '../core/errors.ts';
import type { Envelope, RecordMeta, Routed } from '../core/envelope.ts';
import type { Metrics } from '../core/metrics.ts';
import type { DeadLetter } from '../core/sink.ts';
import { OrderedClaims } from './dedup-claims.ts';
import { sameOrigin, type DedupOrigin, type DedupStore } from './dedup-store.ts';
import { compileKey } from '../core/expression.ts';
import { checkStepId, compileFor, stepConfigError } from './per-record.ts';

export type { DedupClaim, DedupOrigin, DedupStore, DedupVerdict } from './dedup-store.ts';

export type DedupKey = (value: unknown, meta?: RecordMeta) => string | undefined;

export interface DedupOptions {
  /** The step id (errors, logs, metric labels). */
  readonly id: string;
  /** The dedup key: an expression for `compileKey` (`event_id`, `['game_id', 'event_id']`) or a function. Default `event_id`. */
  readonly key?: string | readonly string[] | DedupKey;
  /** How long a key is remembered after its first record. */
  readonly ttlMs: number;
  /** At most this many keys in memory; the least recently seen are forgotten first. */
  readonly maxKeys: number;
  /** Processing time for the TTL (`asyncScheduler` in production, the TestScheduler in tests). */
  readonly scheduler: SchedulerLike;
  /** Takes records that have no key (with a ValidationError naming the key expression). */
  readonly deadLetter: DeadLetter;
  /** `drop` (default): duplicates are done (lease released). `route`: emitted on output `duplicate`. */
  readonly duplicates?: 'drop' | 'route';
  /** Durable layer asked about keys the memory does not know, across restarts and instances. */
  readonly store?: DedupStore;
  /** Store calls in flight at most. Default 4. */
  readonly storeConcurrency?: number;
  /** Keys per store call at most. Default 25. */
  readonly storeBatchSize?: number;
  /** Counts `duplicates_total{step}`. */
  readonly metrics?: Metrics;
}

/** Outputs of `dedup` with `duplicates: 'route'`. */
export type DedupOutput = 'unique' | 'duplicate';

/**
 * Removes records whose key was already seen within `ttlMs`, keeping the first.
 *
 * ```ts
 * events$.pipe(dedup({ id: 'dedup', key: 'event_id', ttlMs: 3_600_000, maxKeys: 500_000, scheduler: asyncScheduler, deadLetter }));
 * ```
 *
 * A key is remembered for `ttlMs` from its first record (repeats do not extend it; a repeat exactly
 * `ttlMs` later still counts as one). An in-memory LRU (`maxKeys`, TTL in the scheduler's time)
 * answers first; a key it evicted is forgotten unless a `store` remembers it. With a `store`, keys the
 * memory does not know are claimed there, in batches of misses that arrive together, with bounded
 * concurrency; output order always equals input order. A store failure (after the store's own
 * retries) errors the stream, so the runtime stops without committing. The same Kafka record read
 * again (same topic, partition and offset) is never its own duplicate.
 *
 * A record with no key (the expression yields nothing) goes to `deadLetter` with a ValidationError.
 * On error or unsubscription, records still waiting for the store keep their leases: they were not
 * judged, so their offsets must not be committed.
 * @returns unique records (`drop`), or every record tagged `unique` / `duplicate` (`route`)
 */
export function dedup<T>(options: DedupOptions & { readonly duplicates?: 'drop' }): OperatorFunction<Envelope<T>, Envelope<T>>;
export function dedup<T>(options: DedupOptions & { readonly duplicates: 'route' }): OperatorFunction<Envelope<T>, Routed<T>>;
export function dedup<T>(options: DedupOptions): OperatorFunction<Envelope<T>, Envelope<T> | Routed<T>>;
export function dedup<T>(options: DedupOptions): OperatorFunction<Envelope<T>, Envelope<T> | Routed<T>> {
  const { id, ttlMs, maxKeys, scheduler, deadLetter, duplicates = 'drop', store, storeConcurrency = 4, storeBatchSize = 25, metrics } = options;
  checkStepId(id, 'dedup');
  const problems: string[] = [];
  if (!(Number.isFinite(ttlMs) && ttlMs > 0)) problems.push(`option "ttlMs" must be > 0, got ${ttlMs}`);
  if (!(Number.isInteger(maxKeys) && maxKeys > 0)) problems.push(`option "maxKeys" must be a positive integer, got ${maxKeys}`);
  if (typeof scheduler?.now !== 'function') problems.push('option "scheduler" must be a SchedulerLike');
  if (typeof deadLetter !== 'function') problems.push('option "deadLetter" must be a function');
  if (duplicates !== 'drop' && duplicates !== 'route') problems.push(`option "duplicates" must be 'drop' or 'route', got ${JSON.stringify(duplicates)}`);
  if (!(Number.isInteger(storeConcurrency) && storeConcurrency > 0)) problems.push(`option "storeConcurrency" must be a positive integer, got ${storeConcurrency}`);
  if (!(Number.isInteger(storeBatchSize) && storeBatchSize > 0)) problems.push(`option "storeBatchSize" must be a positive integer, got ${storeBatchSize}`);
  if (store !== undefined && typeof store.claim !== 'function') problems.push('option "store" must be a DedupStore');
  if (problems.length > 0) throw stepConfigError(id, problems);
  const keySource = options.key ?? 'event_id';
  const keyOf: DedupKey = typeof keySource === 'function' ? keySource : compileFor(id, 'key', () => compileKey(keySource));
  const keyName = typeof keySource === 'function' ? 'the key function' : `key ${JSON.stringify(keySource)}`;
  const labels = { step: id };
  const route = duplicates === 'route';

  return (source) =>
    new Observable<Envelope<T> | Routed<T>>((subscriber) => {
      // A fresh memory per subscription; lru-cache reads its TTL clock from the scheduler. Its
      // `ttlResolution` caching would use a real timer, and a start time of 0 (the TestScheduler's
      // first frame) would mean "no TTL" to it: hence the resolution 0 and the + 1.
      // A store that holds its keys in memory answers what this cache would, per source partition
      // (the same answer after a replay); a second copy of every key would only cost memory.
      const seen =
        store?.holdsKeys === true
          ? undefined
          : new LRUCache<string, DedupOrigin>({
              max: maxKeys,
              ttl: ttlMs,
              ttlResolution: 0,
              perf: { now: () => scheduler.now() + 1 },
            });
      const emit = (envelope: Envelope<T>, duplicate: boolean): void => {
        if (!duplicate) return subscriber.next(route ? { output: 'unique', envelope } : envelope);
        metrics?.inc('duplicates_total', labels);
        if (route) subscriber.next({ output: 'duplicate', envelope });
        else envelope.lease.release();
      };
      /** `true` unique, `false` duplicate, `undefined` ask the store. */
      const judge = (key: string, meta: RecordMeta): boolean | undefined => {
        if (seen === undefined) return undefined;
        const owner = seen.get(key);
        if (owner === undefined) {
          seen.set(key, { topic: meta.topic, partition: meta.partition, offset: meta.offset });
          return store === undefined ? true : undefined;
        }
        if (!sameOrigin(owner, meta)) return false;
        return store === undefined ? true : undefined;
      };
      const claims = store === undefined ? undefined : new OrderedClaims<T>(store, { storeConcurrency, storeBatchSize, ttlMs, scheduler, emit, seen, fail });
      function fail(error: unknown): void {
        subscriber.error(new OperatorError(`step "${id}": dedup store failed: ${error instanceof Error ? error.message : String(error)}`, { stepId: id, cause: error }));
      }

      const subscription = source.subscribe({
        next(envelope) {
          // A record of a partition revoked from this member (in flight when it went) is done here:
          // its new owner reads it again from the last commit. Claiming it would recreate the
          // partition's claims from a changelog that may not hold the old part's last write yet.
          if (envelope.lease.revoked === true) return envelope.lease.release();
          try {
            const key = keyOf(envelope.value, envelope.meta);
            if (key === undefined) return deadLetter(envelope, new ValidationError(`${keyName} yields no value: cannot deduplicate`, { stepId: id }), id);
            const verdict = judge(key, envelope.meta);
            if (claims === undefined) emit(envelope, verdict === false);
            else claims.add(envelope, key, verdict);
          } catch (error) {
            subscriber.error(error);
          }
        },
        error: (error: unknown) => subscriber.error(error),
        complete() {
          if (claims === undefined) subscriber.complete();
          else claims.whenIdle(() => subscriber.complete());
        },
      });
      return () => {
        claims?.close();
        subscription.unsubscribe();
      };
    });
}
