import { describe, expect, it } from 'vitest';
import { backoffMs, uploadWithRetry, type RetryOptions } from '../../src/sinks/s3-parquet-upload.ts';
import { FakeS3 } from './s3-parquet-fake.ts';

const RETRY: RetryOptions = { attempts: 4, baseDelayMs: 100, maxDelayMs: 350 };

describe('backoffMs', () => {
  it('draws a full-jitter delay under an exponential, capped ceiling', () => {
    expect([0, 1, 2, 3].map((n) => backoffMs(n, RETRY, () => 0.999999))).toEqual([99, 199, 349, 349]);
    expect(backoffMs(3, RETRY, () => 0)).toBe(0);
  });
});

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
    const retried: number[] = [];
    const mode = await uploadWithRetry(request(s3), RETRY, {
      sleep: async (ms) => void slept.push(ms),
      random: () => 0.5,
      onRetry: (attempt) => retried.push(attempt),
    });
    expect(mode).toBe('put');
    expect(s3.objects.get('k')).toEqual(new Uint8Array([1, 2, 3]));
    expect(retried).toEqual([1, 2]);
    expect(slept).toEqual([50, 100]);
  });

  it('gives up after the configured attempts with the last error', async () => {
    const s3 = new FakeS3();
    s3.failures = 10;
    await expect(
      uploadWithRetry(request(s3), RETRY, { sleep: async () => {}, random: () => 0, onRetry: () => {} }),
    ).rejects.toThrow('injected failure');
    expect(s3.sends).toBe(4);
  });
});
