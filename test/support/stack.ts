/**
 * Factories for integration tests: uniquely named topics, tables and buckets on the local stack,
 * each removed when the test that made it finishes.
 */
import { randomBytes } from 'node:crypto';
import {
  CreateTableCommand,
  DeleteTableCommand,
  type CreateTableCommandInput,
  type DynamoDBClient,
} from '@aws-sdk/client-dynamodb';
import {
  CreateBucketCommand,
  DeleteBucketCommand,
  DeleteObjectsCommand,
  ListObjectsV2Command,
  type S3Client,
} from '@aws-sdk/client-s3';
import { Admin } from '@platformatic/kafka';
import { onTestFinished } from 'vitest';
import { createDynamoClient, createS3Client, localStack } from '../../src/config.ts';

export const connections = localStack().connections;
export const brokers: string[] = [...connections.brokers];

/** A name no other test uses: `<prefix>-<random hex>`. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${randomBytes(4).toString('hex')}`;
}

/** Runs `cleanup` when the current test finishes, or never if called outside a test. */
function afterTest(cleanup: () => Promise<unknown>): void {
  try {
    onTestFinished(async () => {
      await cleanup().catch(() => {});
    });
  } catch {
    // Outside a test (beforeAll): the caller owns clean-up.
  }
}

export function kafkaAdmin(): Admin {
  return new Admin({ clientId: uniqueName('test-admin'), bootstrapBrokers: brokers });
}

/** Creates a topic (default 3 partitions, optional topic configs) and deletes it after the test. */
export async function createTopic(options: { prefix?: string; partitions?: number; configs?: Record<string, string> } = {}): Promise<string> {
  const topic = uniqueName(options.prefix ?? 'topic');
  const admin = kafkaAdmin();
  try {
    const configs = Object.entries(options.configs ?? {}).map(([name, value]) => ({ name, value }));
    await admin.createTopics({ topics: [topic], partitions: options.partitions ?? 3, replicas: 1, ...(configs.length > 0 ? { configs } : {}) });
  } finally {
    await admin.close();
  }
  afterTest(async () => {
    const cleanup = kafkaAdmin();
    try {
      await cleanup.deleteTopics({ topics: [topic] });
    } finally {
      await cleanup.close();
    }
  });
  return topic;
}

/**
 * A fresh topic-name prefix, `<prefix>-<random hex>-`, for code that creates its own topics (the
 * generator): every topic whose name starts with it is deleted after the test.
 */
export function topicPrefix(prefix: string): string {
  const fresh = `${uniqueName(prefix)}-`;
  afterTest(async () => {
    const admin = kafkaAdmin();
    try {
      const topics = (await admin.listTopics()).filter((t) => t.startsWith(fresh));
      if (topics.length > 0) await admin.deleteTopics({ topics });
    } finally {
      await admin.close();
    }
  });
  return fresh;
}

/**
 * The test tooling's connections: patient request timeouts, since reading back a large run (a scan
 * of a table with 100,000s of items on a busy DynamoDB Local) can take longer than a sink's 10 s.
 */
const tooling = { ...connections, timeouts: { connectTimeoutMs: 10_000, dynamodbRequestTimeoutMs: 120_000, s3RequestTimeoutMs: 120_000 } };

/** A DynamoDB client for the local stack, destroyed after the test. */
export function dynamoClient(): DynamoDBClient {
  const client = createDynamoClient(tooling);
  afterTest(async () => client.destroy());
  return client;
}

/** An S3 client for the local stack, destroyed after the test. */
export function s3Client(): S3Client {
  const client = createS3Client(tooling);
  afterTest(async () => client.destroy());
  return client;
}

/**
 * Creates an on-demand table (partition key `pk`, sort key `sk` strings unless `keySchema` is given)
 * and deletes it after the test.
 */
export async function createTable(
  options: { prefix?: string } & Partial<Pick<CreateTableCommandInput, 'KeySchema' | 'AttributeDefinitions'>> = {},
): Promise<string> {
  const name = uniqueName(options.prefix ?? 'table');
  const client = createDynamoClient(connections);
  await client.send(
    new CreateTableCommand({
      TableName: name,
      BillingMode: 'PAY_PER_REQUEST',
      KeySchema: options.KeySchema ?? [
        { AttributeName: 'pk', KeyType: 'HASH' },
        { AttributeName: 'sk', KeyType: 'RANGE' },
      ],
      AttributeDefinitions: options.AttributeDefinitions ?? [
        { AttributeName: 'pk', AttributeType: 'S' },
        { AttributeName: 'sk', AttributeType: 'S' },
      ],
    }),
  );
  afterTest(async () => {
    await client.send(new DeleteTableCommand({ TableName: name }));
    client.destroy();
  });
  return name;
}

/** Creates a bucket and empties and deletes it after the test. */
export async function createBucket(prefix = 'bucket'): Promise<string> {
  const bucket = uniqueName(prefix);
  const client = createS3Client(connections);
  await client.send(new CreateBucketCommand({ Bucket: bucket }));
  afterTest(async () => {
    await deleteBucket(client, bucket);
    client.destroy();
  });
  return bucket;
}

/** Deletes every object of `bucket` (page by page), then the bucket. */
export async function deleteBucket(client: S3Client, bucket: string): Promise<void> {
  let token: string | undefined;
  do {
    const page = await client.send(new ListObjectsV2Command({ Bucket: bucket, ContinuationToken: token }));
    const keys = (page.Contents ?? []).map((o) => ({ Key: o.Key as string }));
    if (keys.length > 0) await client.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: keys } }));
    token = page.NextContinuationToken;
  } while (token);
  await client.send(new DeleteBucketCommand({ Bucket: bucket }));
}
