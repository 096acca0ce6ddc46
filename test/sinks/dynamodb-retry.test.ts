import { ProvisionedThroughputExceededException } from '@aws-sdk/client-dynamodb';
import { describe, expect, it } from 'vitest';
import { RetriesExhausted, backoffDelayMs, dynamoFailureOf, isTransientAwsError, runBounded, withRetries } from '../../src/sinks/dynamodb-retry.ts';

describe('backoffDelayMs', () => {
  it('is uniform below a cap that doubles from baseMs up to maxMs (full jitter)', () => {
    expect([1, 2, 3, 4, 10].map((a) => backoffDelayMs(a, 50, 1_000, () => 0.999999))).toEqual([49, 99, 199, 399, 999]);
    expect(backoffDelayMs(5, 50, 1_000, () => 0)).toBe(0);
    expect(backoffDelayMs(2, 50, 1_000, () => 0.5)).toBe(50);
    expect(backoffDelayMs(80, 50, 1_000, () => 0.5)).toBe(500);
  });
});

describe('isTransientAwsError', () => {
  const meta = { $metadata: { httpStatusCode: 400 } };
  it.each([
    ['throughput exceeded', new ProvisionedThroughputExceededException({ message: 'slow down', ...meta }), true],
    ['ThrottlingException by name', Object.assign(new Error('x'), { name: 'ThrottlingException', ...meta }), true],
    ['RequestLimitExceeded by name', Object.assign(new Error('x'), { name: 'RequestLimitExceeded', ...meta }), true],
    ['a 500', Object.assign(new Error('x'), { name: 'InternalFailure', $metadata: { httpStatusCode: 500 } }), true],
    ['a 503', Object.assign(new Error('x'), { name: 'Whatever', $metadata: { httpStatusCode: 503 } }), true],
    ['a refused connection', Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }), true],
    ['a validation error', Object.assign(new Error('bad'), { name: 'ValidationException', $fault: 'client', ...meta }), false],
    ['a missing table', Object.assign(new Error('x'), { name: 'ResourceNotFoundException', ...meta }), false],
    ['a plain error', new Error('bug'), false],
    ['not an error', 'nope', false],
  ])('%s -> %s', (_name, error, expected) => {
    expect(isTransientAwsError(error)).toBe(expected);
  });
});

describe('dynamoFailureOf', () => {
  const named = (name: string, status = 400) => Object.assign(new Error(name), { name, $metadata: { httpStatusCode: status } });
  it.each([
    ['ConditionalCheckFailedException', 'condition'],
    ['ProvisionedThroughputExceededException', 'transient'],
    ['RequestLimitExceeded', 'transient'],
    ['ValidationException', 'invalid'],
    ['ItemCollectionSizeLimitExceededException', 'invalid'],
    ['ResourceNotFoundException', 'fatal'],
    ['UnrecognizedClientException', 'fatal'],
  ])('%s -> %s', (name, expected) => {
    expect(dynamoFailureOf(named(name))).toBe(expected);
  });
  it('a 413 is invalid, a 500 transient', () => {
    expect(dynamoFailureOf(named('RequestEntityTooLarge', 413))).toBe('invalid');
    expect(dynamoFailureOf(named('InternalServerError', 500))).toBe('transient');
  });
});

describe('withRetries', () => {
  const throttle = () => Object.assign(new Error('t'), { name: 'ThrottlingException' });

  it('retries transient failures with growing delays, then succeeds', async () => {
    const slept: number[] = [];
    const retried: number[] = [];
    let calls = 0;
    const result = await withRetries(
      async () => {
        if (++calls < 4) throw throttle();
        return 'done';
      },
      { policy: { maxAttempts: 5, baseMs: 100, maxMs: 10_000 }, sleep: async (ms) => void slept.push(ms), random: () => 0.5, onRetry: (a) => retried.push(a) },
    );
    expect(result).toBe('done');
    expect(slept).toEqual([50, 100, 200]);
    expect(retried).toEqual([1, 2, 3]);
  });

  it('gives up after maxAttempts with RetriesExhausted carrying the last error', async () => {
    let calls = 0;
    const error = await withRetries(
      async () => {
        calls++;
        throw throttle();
      },
      { policy: { maxAttempts: 3, baseMs: 1, maxMs: 1 }, sleep: async () => {}, random: () => 0 },
    ).catch((e: unknown) => e);
    expect(calls).toBe(3);
    expect(error).toBeInstanceOf(RetriesExhausted);
    expect((error as RetriesExhausted).cause).toMatchObject({ name: 'ThrottlingException' });
  });

  it('rethrows a permanent error at once', async () => {
    let calls = 0;
    const error = await withRetries(
      async () => {
        calls++;
        throw new Error('bug');
      },
      { policy: { maxAttempts: 3, baseMs: 1, maxMs: 1 }, sleep: async () => {}, random: () => 0 },
    ).catch((e: unknown) => e);
    expect(calls).toBe(1);
    expect(error).toMatchObject({ message: 'bug' });
  });
});

describe('runBounded', () => {
  it('keeps at most `limit` tasks in flight and runs them all', async () => {
    let inFlight = 0;
    let peak = 0;
    const done: number[] = [];
    await runBounded([1, 2, 3, 4, 5, 6, 7], 3, async (n) => {
      inFlight++;
      peak = Math.max(peak, inFlight);
      await new Promise((r) => setImmediate(r));
      inFlight--;
      done.push(n);
    });
    expect(peak).toBe(3);
    expect(done.sort()).toEqual([1, 2, 3, 4, 5, 6, 7]);
  });

  it('starts nothing new after a failure, lets the others finish, then throws the first error', async () => {
    const started: number[] = [];
    const finished: number[] = [];
    const error = await runBounded([1, 2, 3, 4, 5], 2, async (n) => {
      started.push(n);
      if (n === 1) throw new Error('first');
      await new Promise((r) => setImmediate(r));
      finished.push(n);
    }).catch((e: unknown) => e);
    expect(error).toMatchObject({ message: 'first' });
    expect(started).toEqual([1, 2]);
    expect(finished).toEqual([2]);
  });
});
