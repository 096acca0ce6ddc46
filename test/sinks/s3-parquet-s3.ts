/** Helpers for the S3 Parquet sink's integration tests: list, download, and fail or count sends. */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { GetObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';

/** Every key in the bucket, sorted. */
export async function listKeys(client: S3Client, bucket: string): Promise<string[]> {
  const keys: string[] = [];
  let token: string | undefined;
  do {
    const page = await client.send(new ListObjectsV2Command({ Bucket: bucket, ContinuationToken: token }));
    for (const object of page.Contents ?? []) keys.push(object.Key as string);
    token = page.NextContinuationToken;
  } while (token);
  return keys.sort();
}

/** Downloads every object into a fresh temp directory, keeping the key paths; returns the directory. */
export async function download(client: S3Client, bucket: string): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'tributary-s3-'));
  for (const key of await listKeys(client, bucket)) {
    const object = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    const path = join(dir, key);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, await (object.Body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray());
  }
  return dir;
}

/** Makes the next `count` sends of the named commands throw before they leave the client. */
export function failSends(client: S3Client, commands: readonly string[], count: number): void {
  let left = count;
  client.middlewareStack.add(
    (next, context) => async (args) => {
      if (left > 0 && commands.includes(context.commandName ?? '')) {
        left -= 1;
        throw Object.assign(new Error('injected S3 failure'), { name: 'InternalError' });
      }
      return next(args);
    },
    { step: 'initialize', name: 'tributaryInjectFailures' },
  );
}

/** Records the name of every command the client sends. */
export function recordSends(client: S3Client): string[] {
  const sent: string[] = [];
  client.middlewareStack.add(
    (next, context) => async (args) => {
      sent.push(context.commandName ?? '?');
      return next(args);
    },
    { step: 'initialize', name: 'tributaryRecordSends', priority: 'high' },
  );
  return sent;
}
