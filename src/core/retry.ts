/**
 * The one retry path of the sinks. What a call threw is classified into the error catalogue
 * (`errors.ts`) and retried only when the error is `retriable` (anything else is rethrown as it was
 * thrown, for the caller to handle), with full-jitter exponential backoff,
 * until the call succeeds or its failures have lasted the dependency's outage timeout: then it
 * rejects with `UnavailableError`, which stops the pipeline (the process exits non-zero and is
 * restarted) instead of stalling it without end. There is no count of attempts: an outage of the
 * service is ridden through, however many tries it takes, for as long as the timeout allows.
 *
 * @example
 * ```ts
 * await retrying(() => client.send(put), { policy, dependency: health.dependency('s3'), classify, sleep, random });
 * ```
 */
import { UnavailableError, type TributaryError } from './errors.ts';
import type { Dependency } from './health.ts';

export interface RetryPolicy {
  /** The cap of the first retry's wait; each further retry doubles it. */
  readonly baseDelayMs: number;
  /** No wait exceeds this. */
  readonly maxDelayMs: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = Object.freeze({ baseDelayMs: 100, maxDelayMs: 5_000 });

/**
 * The wait before retry number `retry` (1 for the first), "full jitter" as in the AWS Architecture
 * Blog: uniform in `[0, min(maxDelayMs, baseDelayMs * 2^(retry - 1)))`, which spreads competing
 * writers apart better than equal or decorrelated jitter.
 *
 * ```ts
 * backoffDelayMs(3, { baseDelayMs: 50, maxDelayMs: 5_000 }, Math.random); // somewhere in [0, 200)
 * ```
 * @param random uniform in [0, 1)
 */
export function backoffDelayMs(retry: number, policy: RetryPolicy, random: () => number): number {
  const cap = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.max(0, retry - 1));
  return Math.floor(random() * cap);
}

/** Problems with a policy, for a ConfigError. */
export function retryPolicyProblems(policy: RetryPolicy, path = 'retry'): string[] {
  return policy.baseDelayMs >= 0 && policy.maxDelayMs >= policy.baseDelayMs ? [] : [`${path} needs 0 <= baseDelayMs <= maxDelayMs`];
}

export interface RetryOptions {
  readonly policy: RetryPolicy;
  /** Told of failures and successes; its outage timeout bounds how long one call is retried. */
  readonly dependency: Dependency;
  /** What a call threw, in the catalogue: retried only if `retriable`. */
  readonly classify: (error: unknown) => TributaryError;
  /**
   * Whether a retriable failure means the service does not answer (network, timeout, 5xx), which
   * makes the dependency unavailable (not ready), rather than a refusal it answered with
   * (throttling). Default: every retriable failure.
   */
  readonly unreachable?: (error: unknown) => boolean;
  /** Resolves after `ms` (the sinks pass their scheduler's timer). */
  readonly sleep: (ms: number) => Promise<void>;
  /** Uniform in [0, 1), for the jitter. */
  readonly random: () => number;
  /** Called before each retry (metrics). */
  readonly onRetry?: (retry: number, error: TributaryError) => void;
  /** How long one call's failures may last before it gives up. Default: the dependency's outage timeout. */
  readonly giveUpAfterMs?: number;
}

/** The failures of one call, for loops that cannot be a single `retrying` (partial batch results). */
export class Retrier {
  readonly #o: RetryOptions;
  #retries = 0;
  /** When the first try began: a try that hangs until its timeout counts too. */
  readonly #startedAt: number;

  /** Made just before the first try. */
  constructor(options: RetryOptions) {
    this.#o = options;
    this.#startedAt = options.dependency.now();
  }

  /** The call succeeded. */
  succeeded(): void {
    this.#o.dependency.succeeded();
  }

  /**
   * After a failure: rethrows it, as thrown, unless its classified error is retriable; throws
   * `UnavailableError` once this call has been tried for the timeout; otherwise waits the backoff.
   */
  async failed(raw: unknown): Promise<void> {
    const { dependency, classify, unreachable, policy, sleep, random, onRetry } = this.#o;
    const error = classify(raw);
    if (!error.retriable) throw raw;
    if (unreachable === undefined || unreachable(raw)) dependency.failed(raw);
    const elapsed = dependency.now() - this.#startedAt;
    if (elapsed >= (this.#o.giveUpAfterMs ?? dependency.unavailableTimeoutMs)) {
      throw new UnavailableError(dependency.name, elapsed, { cause: error, ...(error.stepId === undefined ? {} : { stepId: error.stepId }) });
    }
    this.#retries += 1;
    onRetry?.(this.#retries, error);
    await sleep(backoffDelayMs(this.#retries, policy, random));
  }
}

/** Calls `call` until it succeeds, retrying as `options` say (see the module comment). */
export async function retrying<T>(call: () => Promise<T>, options: RetryOptions): Promise<T> {
  const retrier = new Retrier(options);
  for (;;) {
    try {
      const result = await call();
      retrier.succeeded();
      return result;
    } catch (error) {
      await retrier.failed(error);
    }
  }
}
