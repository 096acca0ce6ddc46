import { randomBytes } from 'node:crypto';
import { GetObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { describe, expect, it } from 'vitest';
import { createBucket, s3Client } from '../support/stack.ts';

describe('the S3 server (versitygw)', () => {
  it('takes a multipart upload over 5 MiB, lists it and returns it byte for byte', async () => {
    const bucket = await createBucket('stack');
    const client = s3Client();
    const body = randomBytes(12 * 1024 * 1024 + 123);
    const key = 'events/game-events/year=2026/month=11/day=23/hour=16/game-events+0+00000000000000000000.parquet';

    const upload = new Upload({ client, params: { Bucket: bucket, Key: key, Body: body }, partSize: 5 * 1024 * 1024, queueSize: 2 });
    const parts: number[] = [];
    upload.on('httpUploadProgress', (p) => p.part !== undefined && parts.push(p.part));
    await upload.done();
    expect(new Set(parts).size).toBe(3);

    const listed = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: 'events/game-events/year=2026/month=11/' }));
    expect(listed.Contents?.map((o) => [o.Key, o.Size])).toEqual([[key, body.length]]);

    const got = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    const bytes = Buffer.from(await (got.Body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray());
    expect(bytes.equals(body)).toBe(true);
  });
});
