/** Reads a run's outputs back: Kafka topics, DynamoDB tables, Parquet objects on S3 through DuckDB. */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { GetObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { DuckDBInstance } from '@duckdb/node-api';
import { Consumer } from '@platformatic/kafka';
import { countRecords, deleteGroup, uniqueId } from '../baselines/common.ts';

/** Every value of a topic (as many as it holds now). */
export async function readTopic(brokers: string[], topic: string): Promise<string[]> {
  const expected = await countRecords(brokers, [topic]);
  if (expected === 0) return [];
  const groupId = uniqueId('e2e-read');
  const consumer = new Consumer({ groupId, clientId: groupId, bootstrapBrokers: brokers, autocommit: false });
  const values: string[] = [];
  try {
    const stream = await consumer.consume({ topics: [topic], mode: 'earliest' });
    await new Promise<void>((resolve, reject) => {
      stream.on('error', reject);
      stream.on('data', (m: { value: Buffer | undefined }) => {
        values.push(m.value?.toString('utf8') ?? '');
        if (values.length >= expected) resolve();
      });
    });
    await stream.close();
  } finally {
    await consumer.close(true);
    await deleteGroup(brokers, groupId);
  }
  return values;
}

/** Downloads the bucket and returns DuckDB's answer to `sql(glob)`; `files` is how many objects there were. */
export async function queryParquet(client: S3Client, bucket: string, sql: (glob: string) => string): Promise<{ files: number; rows: Record<string, unknown>[] }> {
  const dir = mkdtempSync(join(tmpdir(), 'tributary-e2e-'));
  try {
    let token: string | undefined;
    let files = 0;
    do {
      const page = await client.send(new ListObjectsV2Command({ Bucket: bucket, ContinuationToken: token }));
      for (const object of page.Contents ?? []) {
        const body = await client.send(new GetObjectCommand({ Bucket: bucket, Key: object.Key }));
        const path = join(dir, object.Key as string);
        mkdirSync(dirname(path), { recursive: true });
        writeFileSync(path, await (body.Body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray());
        files++;
      }
      token = page.NextContinuationToken;
    } while (token);
    if (files === 0) return { files, rows: [] };
    const db = await DuckDBInstance.create(':memory:');
    const connection = await db.connect();
    const reader = await connection.runAndReadAll(sql(`read_parquet('${dir}/**/*.parquet', union_by_name = true)`));
    const rows = reader.getRowObjectsJS() as Record<string, unknown>[];
    connection.closeSync();
    return { files, rows };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
