import { CreateBucketCommand, HeadBucketCommand } from '@aws-sdk/client-s3';
import { Admin } from '@platformatic/kafka';
import { createDynamoClient, createS3Client, type Connections } from '../config.ts';
import { ensureTable, tableDefinitionOf } from '../sinks/dynamodb-table.ts';
import type { ValidTopology } from './types.ts';

/** What `provisionTopology` created (names that already existed are not listed). */
export interface Provisioned {
  readonly topics: string[];
  readonly tables: string[];
  readonly buckets: string[];
}

/** Every Kafka topic a topology reads or writes, its dead-letter topic included. */
export function topicsOf(topology: ValidTopology): string[] {
  const topics = topology.sources.flatMap((s) => s.topics);
  for (const sink of topology.sinks) if (sink.kind === 'kafka') topics.push(sink.topic);
  topics.push(topology.deadLetters.topic);
  return [...new Set(topics)];
}

/**
 * Creates what a topology needs and does not find: topics, DynamoDB tables (on demand, TTL
 * enabled where a sink sets one; durable dedup tables keyed by `pk`) and S3 buckets. For the local
 * stack, demos and tests; in production these belong to infrastructure code.
 */
export async function provisionTopology(topology: ValidTopology, connections: Connections, options: { readonly partitions?: number } = {}): Promise<Provisioned> {
  const created: Provisioned = { topics: [], tables: [], buckets: [] };

  const admin = new Admin({ clientId: 'tributary-provision', bootstrapBrokers: [...connections.brokers] });
  try {
    const existing = new Set(await admin.listTopics());
    const missing = topicsOf(topology).filter((t) => !existing.has(t));
    if (missing.length > 0) await admin.createTopics({ topics: missing, partitions: options.partitions ?? 3, replicas: 1 });
    created.topics.push(...missing);
  } finally {
    await admin.close();
  }

  const dynamo = createDynamoClient(connections);
  try {
    for (const sink of topology.sinks) {
      if (sink.kind !== 'dynamodb') continue;
      const definition = tableDefinitionOf({
        table: sink.table,
        // A sharded key is a string whatever the key's own type.
        partitionKey: sink.shards > 1 ? { ...sink.partitionKey, type: 'string' } : sink.partitionKey,
        ...(sink.sortKey ? { sortKey: sink.sortKey } : {}),
        ...(sink.ttl ? { ttl: sink.ttl } : {}),
      });
      if (await ensureTable(dynamo, definition)) created.tables.push(sink.table);
    }
    for (const step of topology.steps) {
      if (step.kind !== 'dedup' || !step.durable) continue;
      const definition = { table: step.durable.table, partitionKey: { name: 'pk', type: 'string' as const }, ttlAttribute: 'expires_at' };
      if (await ensureTable(dynamo, definition)) created.tables.push(step.durable.table);
    }
  } finally {
    dynamo.destroy();
  }

  const s3 = createS3Client(connections);
  try {
    const buckets = new Set(topology.sinks.flatMap((s) => (s.kind === 's3-parquet' || s.kind === 's3-raw' ? [s.bucket] : [])));
    for (const bucket of buckets) {
      try {
        await s3.send(new HeadBucketCommand({ Bucket: bucket }));
      } catch {
        await s3.send(new CreateBucketCommand({ Bucket: bucket }));
        created.buckets.push(bucket);
      }
    }
  } finally {
    s3.destroy();
  }
  return created;
}
