import { DescribeTableCommand, DescribeTimeToLiveCommand } from '@aws-sdk/client-dynamodb';
import { CreateBucketCommand, HeadBucketCommand } from '@aws-sdk/client-s3';
import { Admin } from '@platformatic/kafka';
import { createDynamoClient, createS3Client, type Connections } from '../config.ts';
import { ensureTable, type TableDefinition } from '../sinks/dynamodb-table.ts';
import { sinkKind, stepKind } from './kinds/index.ts';
import { platformaticConnection, type KafkaConnectionOptions } from '../sources/connection.ts';
import type { ValidTopology } from './types.ts';

export interface ProvisionOptions {
  /** Partitions of the topics it creates; default 3. */
  readonly partitions?: number;
  /** Kafka with TLS, SASL and retries (`kafkaConnectionFromEnv`); default the brokers of `connections`, plain text. */
  readonly kafka?: KafkaConnectionOptions;
}

function kafkaAdmin(connections: Connections, options: ProvisionOptions): Admin {
  return new Admin({ clientId: 'tributary-provision', ...(options.kafka ? platformaticConnection(options.kafka) : { bootstrapBrokers: [...connections.brokers] }) });
}

/** What `provisionTopology` created (names that already existed are not listed). */
export interface Provisioned {
  readonly topics: string[];
  readonly tables: string[];
  readonly buckets: string[];
}

/** Every Kafka topic a topology reads or writes, its dead-letter topic included. */
export function topicsOf(topology: ValidTopology): string[] {
  const topics = topology.sources.flatMap((s) => s.topics);
  for (const sink of topology.sinks) topics.push(...(sinkKind(sink).topics?.(sink) ?? []));
  topics.push(topology.deadLetters.topic);
  return [...new Set(topics)];
}

/** The DynamoDB tables a topology writes, each once: its sinks' (TTL where set) and durable dedup tables (keyed by `pk`). */
export function tablesOf(topology: ValidTopology): TableDefinition[] {
  const tables: TableDefinition[] = [
    ...topology.sinks.flatMap((sink) => sinkKind(sink).tables?.(sink) ?? []),
    ...topology.steps.flatMap((step) => stepKind(step).tables?.(step) ?? []),
  ];
  // A table several sinks write is one table: the first definition, with a TTL if any sets one.
  const byName = new Map<string, TableDefinition>();
  for (const t of tables) {
    const first = byName.get(t.table);
    if (first === undefined) byName.set(t.table, t);
    else if (first.ttlAttribute === undefined && t.ttlAttribute !== undefined) byName.set(t.table, { ...first, ttlAttribute: t.ttlAttribute });
  }
  return [...byName.values()];
}

/** The S3 buckets a topology writes. */
export function bucketsOf(topology: ValidTopology): string[] {
  return [...new Set(topology.sinks.flatMap((s) => sinkKind(s).buckets?.(s) ?? []))];
}

/** One thing a topology needs, and whether it is there. */
export interface PlannedItem {
  readonly kind: 'topic' | 'table' | 'bucket';
  readonly name: string;
  readonly exists: boolean;
  /** What it would be created with, or what is missing on it: `3 partitions`, `TTL on expires_at`. */
  readonly detail?: string;
}

/**
 * What `provisionTopology` would do, without changing anything: every topic, table and bucket the
 * topology needs, found or not (a table found without its TTL says so).
 */
export async function planProvision(topology: ValidTopology, connections: Connections, options: ProvisionOptions = {}): Promise<PlannedItem[]> {
  const plan: PlannedItem[] = [];
  const admin = kafkaAdmin(connections, options);
  try {
    const existing = new Set(await admin.listTopics());
    for (const topic of topicsOf(topology)) plan.push({ kind: 'topic', name: topic, exists: existing.has(topic), ...(existing.has(topic) ? {} : { detail: `${options.partitions ?? 3} partitions` }) });
  } finally {
    await admin.close();
  }
  const dynamo = createDynamoClient(connections);
  try {
    for (const definition of tablesOf(topology)) {
      const ttl = definition.ttlAttribute;
      const exists = await dynamo.send(new DescribeTableCommand({ TableName: definition.table })).then(
        () => true,
        (error: Error) => (error.name === 'ResourceNotFoundException' ? false : Promise.reject(error)),
      );
      let detail = ttl === undefined ? undefined : `TTL on ${ttl}`;
      if (exists && ttl !== undefined) {
        const status = (await dynamo.send(new DescribeTimeToLiveCommand({ TableName: definition.table }))).TimeToLiveDescription?.TimeToLiveStatus;
        detail = status === 'ENABLED' || status === 'ENABLING' ? undefined : `TTL on ${ttl} would be enabled`;
      }
      plan.push({ kind: 'table', name: definition.table, exists, ...(detail === undefined ? {} : { detail }) });
    }
  } finally {
    dynamo.destroy();
  }
  const s3 = createS3Client(connections);
  try {
    for (const bucket of bucketsOf(topology)) {
      const exists = await s3.send(new HeadBucketCommand({ Bucket: bucket })).then(
        () => true,
        (error: Error & { $metadata?: { httpStatusCode?: number } }) => (error.name === 'NotFound' || error.$metadata?.httpStatusCode === 404 ? false : Promise.reject(error)),
      );
      plan.push({ kind: 'bucket', name: bucket, exists });
    }
  } finally {
    s3.destroy();
  }
  return plan;
}

/**
 * Creates what a topology needs and does not find: topics, DynamoDB tables (on demand, TTL
 * enabled where a sink sets one; durable dedup tables keyed by `pk`) and S3 buckets. Idempotent.
 * For the local stack, demos and tests (`tributary provision`); in production these belong to
 * infrastructure code.
 */
export async function provisionTopology(topology: ValidTopology, connections: Connections, options: ProvisionOptions = {}): Promise<Provisioned> {
  const created: Provisioned = { topics: [], tables: [], buckets: [] };

  const admin = kafkaAdmin(connections, options);
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
    for (const definition of tablesOf(topology)) if (await ensureTable(dynamo, definition)) created.tables.push(definition.table);
  } finally {
    dynamo.destroy();
  }

  const s3 = createS3Client(connections);
  try {
    for (const bucket of bucketsOf(topology)) {
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
