import { ProvisionedThroughputExceededException } from '@aws-sdk/client-dynamodb';
import { describe, expect, it } from 'vitest';
import { SinkPermanentError, SinkRetriableError } from '../../src/core/errors.ts';
import { dynamoFailureOf, isAmbiguous, isTransientAwsError, isUnreachable, sinkErrorOf } from '../../src/sinks/aws-errors.ts';
import { runBounded } from '../../src/sinks/run-bounded.ts';

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

describe('isUnreachable and isAmbiguous', () => {
  const error = (fields: Record<string, unknown>) => Object.assign(new Error('x'), fields);
  it.each([
    ['a refused connection', error({ code: 'ECONNREFUSED' }), true, false],
    ['a reset connection', error({ code: 'ECONNRESET' }), true, true],
    ['a request timeout', error({ name: 'TimeoutError', code: 'ETIMEDOUT' }), true, true],
    ['a 503', error({ name: 'ServiceUnavailable', $metadata: { httpStatusCode: 503 } }), true, true],
    ['a throttle', error({ name: 'ThrottlingException', $metadata: { httpStatusCode: 400 } }), false, false],
    ['a 429', error({ name: 'TooManyRequests', $metadata: { httpStatusCode: 429 } }), false, false],
    ['a validation error', error({ name: 'ValidationException', $metadata: { httpStatusCode: 400 } }), false, false],
  ])('%s: unreachable %s, ambiguous %s', (_name, e, unreachable, ambiguous) => {
    expect(isUnreachable(e)).toBe(unreachable);
    expect(isAmbiguous(e)).toBe(ambiguous);
  });
});

describe('sinkErrorOf', () => {
  it('makes a transient failure a retriable catalogue error and anything else a permanent one, naming the step', () => {
    const transient = sinkErrorOf(Object.assign(new Error('down'), { code: 'ECONNREFUSED' }), 'to-s3', 'upload of k');
    expect(transient).toBeInstanceOf(SinkRetriableError);
    expect(transient).toMatchObject({ retriable: true, stepId: 'to-s3', message: 'upload of k: Error: down' });
    const denied = sinkErrorOf(Object.assign(new Error('no'), { name: 'AccessDenied', $metadata: { httpStatusCode: 403 } }), 'to-s3', 'upload of k');
    expect(denied).toBeInstanceOf(SinkPermanentError);
    expect(denied.retriable).toBe(false);
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
