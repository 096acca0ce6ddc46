import { describe, expect, it } from 'vitest';
import { SinkPermanentError, SinkRetriableError, UnavailableError, type TributaryError } from '../../src/core/errors.ts';
import { Dependency } from '../../src/core/health.ts';
import { backoffDelayMs, Retrier, retrying, type RetryOptions } from '../../src/core/retry.ts';

/** Options on a virtual clock that each wait moves on; errors whose message starts with `retry` are retriable. */
function options(timeoutMs: number, overrides: Partial<RetryOptions> = {}) {
  let now = 0;
  const slept: number[] = [];
  const retried: number[] = [];
  const dependency = new Dependency('s3', { unavailableTimeoutMs: timeoutMs, now: () => now });
  const classify = (error: unknown): TributaryError =>
    String((error as Error).message).startsWith('retry') ? new SinkRetriableError((error as Error).message) : new SinkPermanentError((error as Error).message);
  const o: RetryOptions = {
    policy: { baseDelayMs: 100, maxDelayMs: 1_000 },
    dependency,
    classify,
    sleep: async (ms) => {
      slept.push(ms);
      now += ms;
    },
    random: () => 0.5,
    onRetry: (n) => retried.push(n),
    ...overrides,
  };
  return { o, slept, retried, dependency, advance: (ms: number) => (now += ms) };
}

describe('backoffDelayMs', () => {
  it('is uniform below a cap that doubles from baseDelayMs up to maxDelayMs (full jitter)', () => {
    const policy = { baseDelayMs: 50, maxDelayMs: 1_000 };
    expect([1, 2, 3, 4, 10].map((r) => backoffDelayMs(r, policy, () => 0.999999))).toEqual([49, 99, 199, 399, 999]);
    expect(backoffDelayMs(5, policy, () => 0)).toBe(0);
    expect(backoffDelayMs(80, policy, () => 0.5)).toBe(500);
  });
});

describe('retrying', () => {
  it('retries what the catalogue calls retriable with growing waits, then succeeds and ends the outage', async () => {
    const { o, slept, retried, dependency } = options(60_000);
    let calls = 0;
    const result = await retrying(async () => {
      if (++calls < 4) throw new Error('retry: down');
      return 'done';
    }, o);
    expect(result).toBe('done');
    expect(slept).toEqual([50, 100, 200]);
    expect(retried).toEqual([1, 2, 3]);
    expect(dependency.available).toBe(true);
  });

  it('has no count of attempts: it retries for the whole outage timeout, then gives up with UnavailableError', async () => {
    const { o, slept } = options(30_000);
    let calls = 0;
    const error = await retrying(async () => {
      calls++;
      throw new Error('retry: down');
    }, o).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UnavailableError);
    expect((error as UnavailableError).message).toBe('s3 unavailable for 30 s, longer than its outage timeout; giving up: retry: down');
    expect(slept.reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(30_000);
    expect(calls).toBe(slept.length + 1);
    expect(calls).toBeGreaterThan(50);
  });

  it('rethrows what is not retriable at once, as it was thrown', async () => {
    const { o, slept } = options(30_000);
    const thrown = new Error('denied');
    await expect(retrying(async () => Promise.reject(thrown), o)).rejects.toBe(thrown);
    expect(slept).toEqual([]);
  });

  it('makes the dependency unavailable only for failures that say it does not answer', async () => {
    const { o, dependency } = options(30_000, { unreachable: (e) => (e as Error).message === 'retry: refused' });
    const retrier = new Retrier(o);
    await retrier.failed(new Error('retry: throttled'));
    expect(dependency.available).toBe(true);
    await retrier.failed(new Error('retry: refused'));
    expect(dependency.available).toBe(false);
    retrier.succeeded();
    expect(dependency.available).toBe(true);
  });

  it('counts the time a hanging call took against the timeout', async () => {
    const { o, advance } = options(10_000);
    let calls = 0;
    const error = await retrying(async () => {
      calls++;
      advance(6_000); // each try hangs 6 s before it times out
      throw new Error('retry: timed out');
    }, o).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UnavailableError);
    expect(calls).toBe(2);
  });
});
