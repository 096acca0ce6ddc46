/**
 * Earlier runs' topics, buckets and tables (`e2e-*`, `e2e_*`), deleted before a run: each run
 * leaves its input, repartition and changelog topics, a bucket of Parquet and raw objects and the
 * DynamoDB tables of each variant. A local stack that kept them all (11 GB of objects, hundreds of
 * topics) made the broker and the disk the noisiest part of the measurement (50% I/O wait during a
 * hot-path run), and DynamoDB Local holds every table in its 768 MB heap.
 */
import { DeleteTableCommand, ListTablesCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DeleteBucketCommand, DeleteObjectsCommand, ListBucketsCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { Admin } from '@platformatic/kafka';

const PREFIX = 'e2e-';

export async function removeLeftovers(brokers: readonly string[], s3: S3Client, dynamo: DynamoDBClient): Promise<{ topics: number; buckets: number; objects: number; tables: number }> {
  const admin = new Admin({ clientId: 'bench-e2e-leftovers', bootstrapBrokers: [...brokers] });
  let topics: string[] = [];
  try {
    topics = (await admin.listTopics()).filter((t) => t.startsWith(PREFIX));
    if (topics.length > 0) await admin.deleteTopics({ topics });
  } finally {
    await admin.close();
  }
  const buckets = ((await s3.send(new ListBucketsCommand({}))).Buckets ?? []).flatMap((b) => (b.Name?.startsWith(PREFIX) ? [b.Name] : []));
  let objects = 0;
  for (const bucket of buckets) {
    for (;;) {
      const listed = await s3.send(new ListObjectsV2Command({ Bucket: bucket, MaxKeys: 1000 }));
      const keys = (listed.Contents ?? []).flatMap((o) => (o.Key === undefined ? [] : [{ Key: o.Key }]));
      if (keys.length === 0) break;
      await s3.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: keys, Quiet: true } }));
      objects += keys.length;
    }
    await s3.send(new DeleteBucketCommand({ Bucket: bucket }));
  }
  const tables = await deleteTables(dynamo, 'e2e_');
  return { topics: topics.length, buckets: buckets.length, objects, tables };
}

/** Deletes the DynamoDB tables whose names start with `prefix`; returns how many. */
export async function deleteTables(dynamo: DynamoDBClient, prefix: string): Promise<number> {
  const names: string[] = [];
  let start: string | undefined;
  do {
    const page = await dynamo.send(new ListTablesCommand(start === undefined ? {} : { ExclusiveStartTableName: start }));
    names.push(...(page.TableNames ?? []).filter((name) => name.startsWith(prefix)));
    start = page.LastEvaluatedTableName;
  } while (start !== undefined);
  for (const name of names) await dynamo.send(new DeleteTableCommand({ TableName: name }));
  return names.length;
}
