import { describe, expect, it } from 'vitest';
import { SinkPermanentError, UnavailableError } from '../../src/core/errors.ts';
import { Dependency } from '../../src/core/health.ts';
import type { RetryOptions } from '../../src/core/retry.ts';
import { sinkErrorOf } from '../../src/sinks/aws-errors.ts';
import { uploadWithRetry } from '../../src/sinks/s3-parquet-upload.ts';
import { FakeS3 } from './s3-parquet-fake.ts';

/** Retry options on a virtual clock that each sleep moves on. */
function retry(timeoutMs: number, slept: number[] = []): RetryOptions {
  let now = 0;
  return {
    policy: { baseDelayMs: 100, maxDelayMs: 350 },
    dependency: new Dependency('s3', { unavailableTimeoutMs: timeoutMs, now: () => now }),
    classify: (error) => sinkErrorOf(error, 'to-s3', 'upload'),
    sleep: async (ms) => {
      slept.push(ms);
      now += ms;
    },
    random: () => 0.5,
  };
}

describe('uploadWithRetry', () => {
  const request = (s3: FakeS3) => ({
    client: s3.client,
    bucket: 'b',
    key: 'k',
    body: new Uint8Array([1, 2, 3]),
    multipartThresholdBytes: 5 * 2 ** 20,
    partSizeBytes: 5 * 2 ** 20,
  });

  it('retries after the drawn delays and succeeds', async () => {
    const s3 = new FakeS3();
    s3.failures = 2;
    const slept: number[] = [];
    const mode = await uploadWithRetry(request(s3), retry(60_000, slept));
    expect(mode).toBe('put');
    expect(s3.objects.get('k')).toEqual(new Uint8Array([1, 2, 3]));
    expect(slept).toEqual([50, 100]);
  });

  it('retries for as long as the outage timeout, however many tries that takes, then gives up with UnavailableError', async () => {
    const s3 = new FakeS3();
    s3.failures = 1_000;
    const error = await uploadWithRetry(request(s3), retry(10_000)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UnavailableError);
    expect((error as UnavailableError).message).toMatch(/^s3 unavailable for 10 s, longer than its outage timeout; giving up: upload: InternalError: injected failure/);
    // Waits of 50, 100, then 175 ms (half the 350 ms cap): 59 of them cover 10 s, so 60 tries.
    expect(s3.sends).toBe(60);
  });

  it('does not retry what is not retriable', async () => {
    const s3 = new FakeS3();
    s3.send = async () => {
      throw Object.assign(new Error('denied'), { name: 'AccessDenied', $metadata: { httpStatusCode: 403 } });
    };
    await expect(uploadWithRetry(request(s3), retry(10_000))).rejects.toMatchObject({ name: 'AccessDenied' });
    expect(sinkErrorOf(new Error('x'), 's', 'w')).toBeInstanceOf(SinkPermanentError);
  });
});
