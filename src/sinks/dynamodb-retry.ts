import { setTimeout as delay } from 'node:timers/promises';

/**
 * Retry mechanics shared by the sinks: exponential backoff with full jitter, a classifier for
 * transient AWS and network failures, `withRetries` for single calls and `runBounded` for bounded
 * parallelism. Sleep and randomness are injectable so tests run without waiting and can assert the
 * delays.
 */
export interface RetryPolicy {
  /** Tries in all, the first included (>= 1). */
  readonly maxAttempts: number;
  /** The cap of the first retry's delay; each further retry doubles it. */
  readonly baseMs: number;
  /** No delay exceeds this. */
  readonly maxMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = Object.freeze({ maxAttempts: 10, baseMs: 50, maxMs: 5_000 });

export type Sleep = (ms: number) => Promise<void>;
export const realSleep: Sleep = (ms) => delay(ms);

/**
 * The delay before retry number `attempt` (1 for the first retry), "full jitter" as in the AWS
 * Architecture Blog: uniform in `[0, min(maxMs, baseMs * 2^(attempt - 1)))`, which spreads
 * competing writers apart better than equal or decorrelated jitter.
 *
 * ```ts
 * backoffDelayMs(3, 50, 5_000, Math.random); // somewhere in [0, 200)
 * ```
 * @param random uniform in [0, 1), e.g. `Math.random` or a seeded generator
 */
export function backoffDelayMs(attempt: number, baseMs: number, maxMs: number, random: () => number): number {
  const cap = Math.min(maxMs, baseMs * 2 ** Math.max(0, attempt - 1));
  return Math.floor(random() * cap);
}

const TRANSIENT_NAMES = new Set([
  'ProvisionedThroughputExceededException',
  'ThrottlingException',
  'Throttling',
  'RequestLimitExceeded',
  'TooManyRequestsException',
  'SlowDown',
  'InternalServerError',
  'InternalError',
  'ServiceUnavailable',
  'RequestTimeout',
  'RequestTimeoutException',
  'TransactionConflictException',
  'TimeoutError',
]);

const NETWORK_CODES = new Set(['ECONNRESET', 'ECONNREFUSED', 'ETIMEDOUT', 'EPIPE', 'EAI_AGAIN', 'ENOTFOUND', 'ECONNABORTED', 'EHOSTUNREACH', 'ENETUNREACH', 'UND_ERR_SOCKET']);

/**
 * True for failures worth trying again: throttling, 5xx, and network errors (a thrown error that
 * carries no service response at all).
 */
export function isTransientAwsError(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const e = error as { name?: unknown; code?: unknown; $fault?: unknown; $retryable?: unknown; $metadata?: { httpStatusCode?: number } };
  if (typeof e.name === 'string' && TRANSIENT_NAMES.has(e.name)) return true;
  if (typeof e.code === 'string' && NETWORK_CODES.has(e.code)) return true;
  if (e.$retryable !== undefined && e.$retryable !== null) return true;
  const status = e.$metadata?.httpStatusCode;
  if (typeof status === 'number') return status >= 500 || status === 429;
  return e.$fault === 'server';
}

/**
 * What a DynamoDB failure means for the record: `transient` (retry), `condition` (a conditional
 * write lost: a normal outcome), `invalid` (this item or request is refused for good: dead letter,
 * or isolate the bad item of a batch), `fatal` (the table or credentials are unusable: stop).
 */
export type DynamoFailure = 'transient' | 'invalid' | 'condition' | 'fatal';

export function dynamoFailureOf(error: unknown): DynamoFailure {
  const e = error as { name?: string; $metadata?: { httpStatusCode?: number } } | null;
  if (e?.name === 'ConditionalCheckFailedException') return 'condition';
  if (isTransientAwsError(error)) return 'transient';
  if (e?.name === 'ValidationException' || e?.name === 'ItemCollectionSizeLimitExceededException' || e?.$metadata?.httpStatusCode === 413) return 'invalid';
  return 'fatal';
}

export interface RetryHooks {
  readonly policy: RetryPolicy;
  readonly sleep: Sleep;
  readonly random: () => number;
  /** Called before each retry with its number (1-based) and the error that caused it. */
  readonly onRetry?: (attempt: number, error: unknown) => void;
}

/** Thrown by `withRetries` when every attempt failed transiently; `cause` is the last error. */
export class RetriesExhausted extends Error {
  readonly attempts: number;
  constructor(attempts: number, cause: unknown) {
    super(`gave up after ${attempts} attempts`, { cause });
    this.name = 'RetriesExhausted';
    this.attempts = attempts;
  }
}

/**
 * Runs `call` until it succeeds, retrying errors `isTransient` accepts with full-jitter backoff.
 * Any other error is rethrown at once; when the attempts run out it throws `RetriesExhausted`.
 */
export async function withRetries<T>(
  call: () => Promise<T>,
  hooks: RetryHooks,
  isTransient: (error: unknown) => boolean = isTransientAwsError,
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await call();
    } catch (error) {
      if (!isTransient(error)) throw error;
      if (attempt >= hooks.policy.maxAttempts) throw new RetriesExhausted(attempt, error);
      hooks.onRetry?.(attempt, error);
      await hooks.sleep(backoffDelayMs(attempt, hooks.policy.baseMs, hooks.policy.maxMs, hooks.random));
    }
  }
}

/**
 * Runs `task` over `items` with at most `limit` in flight. After the first failure no new task
 * starts; those in flight finish, then the first error is thrown.
 */
export async function runBounded<T>(items: readonly T[], limit: number, task: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  let failure: { error: unknown } | undefined;
  const worker = async () => {
    while (failure === undefined && next < items.length) {
      const item = items[next++] as T;
      try {
        await task(item);
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  if (failure !== undefined) throw failure.error;
}
