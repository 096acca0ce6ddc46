import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import type { SchedulerLike } from 'rxjs';
import { backoffDelayMs } from './dynamodb-retry.ts';

export interface RetryOptions {
  /** Tries in all, the first included (default 5). */
  readonly attempts: number;
  /** Backoff base: the n-th retry waits a random time in [0, min(maxDelayMs, baseDelayMs * 2^n)). */
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
}

export interface UploadRequest {
  readonly client: S3Client;
  readonly bucket: string;
  readonly key: string;
  readonly body: Uint8Array;
  /** Files of at least this size go up as a multipart upload (lib-storage `Upload`). */
  readonly multipartThresholdBytes: number;
  readonly partSizeBytes: number;
}

export interface RetryHooks {
  /** Resolves after `ms`; the sink passes its scheduler's timer. */
  readonly sleep: (ms: number) => Promise<void>;
  /** In [0, 1), for the jitter. */
  readonly random: () => number;
  /** Called before each retry with the error that caused it. */
  readonly onRetry: (attempt: number, error: unknown) => void;
}

/** Hooks that sleep on `scheduler` (virtual time in tests). */
export function retryHooks(o: { scheduler: SchedulerLike; random: () => number }, onRetry: RetryHooks['onRetry']): RetryHooks {
  return { sleep: (ms) => new Promise((resolve) => o.scheduler.schedule(resolve, ms)), random: o.random, onRetry };
}

/** Full-jitter exponential backoff: a random wait in [0, min(max, base * 2^retry)). */
export function backoffMs(retry: number, options: RetryOptions, random: () => number): number {
  return backoffDelayMs(retry + 1, options.baseDelayMs, options.maxDelayMs, random);
}

/**
 * Uploads one object, PutObject below the multipart threshold and a multipart `Upload` above it,
 * retrying failures with full-jitter backoff. Rejects with the last error once attempts run out.
 */
export async function uploadWithRetry(request: UploadRequest, retry: RetryOptions, hooks: RetryHooks): Promise<'put' | 'multipart'> {
  const multipart = request.body.byteLength >= request.multipartThresholdBytes;
  await withRetry<unknown>(
    () =>
      multipart
        ? multipartUpload(request)
        : request.client.send(new PutObjectCommand({ Bucket: request.bucket, Key: request.key, Body: request.body })),
    retry,
    hooks,
  );
  return multipart ? 'multipart' : 'put';
}

/** Calls `attempt` until it resolves, with full-jitter backoff between tries; rejects with the last error. */
export async function withRetry<R>(attempt: () => Promise<R>, retry: RetryOptions, hooks: RetryHooks): Promise<R> {
  for (let tried = 1; ; tried++) {
    try {
      return await attempt();
    } catch (error) {
      if (tried >= retry.attempts) throw error;
      hooks.onRetry(tried, error);
      await hooks.sleep(backoffMs(tried - 1, retry, hooks.random));
    }
  }
}

async function multipartUpload(request: UploadRequest): Promise<void> {
  const upload = new Upload({
    client: request.client,
    params: { Bucket: request.bucket, Key: request.key, Body: request.body },
    partSize: request.partSizeBytes,
    queueSize: 2,
    // A failed attempt aborts its multipart upload; the retry starts a new one.
    leavePartsOnError: false,
  });
  await upload.done();
}
