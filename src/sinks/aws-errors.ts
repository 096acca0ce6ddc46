/**
 * What an AWS SDK failure means for a sink, in the error catalogue's terms: a transient failure
 * (throttling, 5xx, a network error or timeout) is a `SinkRetriableError`, which the one retry path
 * (`core/retry.ts`) retries; anything else is not retriable. The sinks' AWS clients make one attempt
 * per call (`createDynamoClient(c, { maxAttempts: 1 })`), so this is the only retry layer.
 */
import { SinkPermanentError, SinkRetriableError, TributaryError } from '../core/errors.ts';

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

/** Names of refusals the service answered with: it is up, only busy. */
const THROTTLING_NAMES = new Set([
  'ProvisionedThroughputExceededException',
  'ThrottlingException',
  'Throttling',
  'RequestLimitExceeded',
  'TooManyRequestsException',
  'SlowDown',
  'TransactionConflictException',
]);

const NETWORK_CODES = new Set(['ECONNRESET', 'ECONNREFUSED', 'ETIMEDOUT', 'EPIPE', 'EAI_AGAIN', 'ENOTFOUND', 'ECONNABORTED', 'EHOSTUNREACH', 'ENETUNREACH', 'UND_ERR_SOCKET']);

type AwsErrorShape = { name?: unknown; code?: unknown; $fault?: unknown; $retryable?: unknown; $metadata?: { httpStatusCode?: number } };

/**
 * True for failures worth trying again: throttling, 5xx, and network errors and timeouts (a thrown
 * error that carries no service response at all).
 */
export function isTransientAwsError(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const e = error as AwsErrorShape;
  if (typeof e.name === 'string' && TRANSIENT_NAMES.has(e.name)) return true;
  if (typeof e.code === 'string' && NETWORK_CODES.has(e.code)) return true;
  if (e.$retryable !== undefined && e.$retryable !== null) return true;
  const status = e.$metadata?.httpStatusCode;
  if (typeof status === 'number') return status >= 500 || status === 429;
  return e.$fault === 'server';
}

/** A transient failure in which the service did not answer (network, timeout, 5xx), not a throttle it answered with. */
export function isUnreachable(error: unknown): boolean {
  if (!isTransientAwsError(error)) return false;
  const e = error as AwsErrorShape;
  if (typeof e.name === 'string' && THROTTLING_NAMES.has(e.name)) return false;
  return e.$metadata?.httpStatusCode !== 429;
}

/**
 * Whether a failed request may have been applied all the same: it was sent, and no answer said
 * otherwise (a timeout, a connection lost, a 5xx). A refused connection or a throttle was not applied.
 */
export function isAmbiguous(error: unknown): boolean {
  if (!isUnreachable(error)) return false;
  const code = (error as AwsErrorShape).code;
  return code !== 'ECONNREFUSED' && code !== 'ENOTFOUND' && code !== 'EAI_AGAIN' && code !== 'EHOSTUNREACH' && code !== 'ENETUNREACH';
}

/** The catalogue's view of an AWS failure: `SinkRetriableError` when transient, else `SinkPermanentError`. */
export function sinkErrorOf(error: unknown, stepId: string, what: string): TributaryError {
  if (error instanceof TributaryError) return error;
  const detail = `${what}: ${(error as Error)?.name ?? 'Error'}: ${(error as Error)?.message ?? String(error)}`;
  return isTransientAwsError(error) ? new SinkRetriableError(detail, { cause: error, stepId }) : new SinkPermanentError(detail, { cause: error, stepId });
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
