import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { retrying, type RetryOptions } from '../core/retry.ts';

export interface UploadRequest {
  readonly client: S3Client;
  readonly bucket: string;
  readonly key: string;
  readonly body: Uint8Array;
  /** Files of at least this size go up as a multipart upload (lib-storage `Upload`). */
  readonly multipartThresholdBytes: number;
  readonly partSizeBytes: number;
}

/**
 * Uploads one object, PutObject below the multipart threshold and a multipart `Upload` above it,
 * retrying through the one retry path (`core/retry.ts`): transient failures until S3 answers again
 * or the outage timeout passes. Rejects with what was not retriable, or `UnavailableError`.
 */
export async function uploadWithRetry(request: UploadRequest, retry: RetryOptions): Promise<'put' | 'multipart'> {
  const multipart = request.body.byteLength >= request.multipartThresholdBytes;
  await retrying<unknown>(
    () =>
      multipart
        ? multipartUpload(request)
        : request.client.send(new PutObjectCommand({ Bucket: request.bucket, Key: request.key, Body: request.body })),
    retry,
  );
  return multipart ? 'multipart' : 'put';
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
