import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { S3Client } from '@aws-sdk/client-s3';
import type { SchedulerLike } from 'rxjs';
import { ConfigError } from '../core/errors.ts';
import { compileField } from '../core/expression.ts';
import type { PipelineContext } from '../runtime/context.ts';
import type { Envelope } from '../core/envelope.ts';
import type { KafkaConnectionOptions } from '../sources/connection.ts';
import { dynamoDbSink } from '../sinks/dynamodb.ts';
import { createKafkaSink } from '../sinks/kafka.ts';
import { s3ParquetSink } from '../sinks/s3-parquet.ts';
import { s3RawSink } from '../sinks/s3-raw.ts';
import type { Sink } from '../core/sink.ts';
import type { ValidSink } from './types.ts';

/** Clients the sinks write with; one of each, shared by every sink of its kind. */
export interface SinkDeps {
  readonly dynamo?: DynamoDBClient;
  /**
   * The DynamoDB sinks' client, when `dynamo` (which durable dedup also uses) makes several attempts
   * per call: the sinks retry themselves, so theirs should make one (`maxAttempts: 1`).
   */
  readonly sinkDynamo?: DynamoDBClient;
  readonly s3?: S3Client;
  /** Brokers and security for Kafka sinks (the source's, usually). */
  readonly kafka?: KafkaConnectionOptions;
  readonly scheduler?: SchedulerLike;
}

/** Builds the sink a validated sink spec describes. */
export function compileSink(spec: ValidSink, ctx: PipelineContext, deps: SinkDeps): Sink<unknown> {
  const missing = (what: string) => new ConfigError(`/sinks/${spec.id}: no ${what} client was given to the compiler`);
  switch (spec.kind) {
    case 'dynamodb': {
      const client = deps.sinkDynamo ?? deps.dynamo;
      if (!client) throw missing('DynamoDB');
      return dynamoDbSink(
        {
          id: spec.id,
          table: spec.table,
          client,
          partitionKey: spec.partitionKey,
          ...(spec.sortKey ? { sortKey: spec.sortKey } : {}),
          attributes: spec.attributes,
          ...(spec.ttl ? { ttl: spec.ttl } : {}),
          mode: spec.mode,
          ...(spec.update ? { update: spec.update } : {}),
          ...(spec.latest ? { latest: spec.latest } : {}),
          ...(spec.ifAbsent ? { ifAbsent: spec.ifAbsent } : {}),
          ...(spec.applyOnce ? { applyOnce: true } : {}),
          ...(spec.shards > 1 ? { shards: spec.shards } : {}),
          concurrency: spec.concurrency,
        },
        ctx.sinkContext,
      );
    }
    case 's3-parquet': {
      if (!deps.s3) throw missing('S3');
      return s3ParquetSink(
        {
          id: spec.id,
          client: deps.s3,
          bucket: spec.bucket,
          prefix: spec.prefix,
          partitionBy: spec.partitionBy,
          writer: spec.writer,
          compression: spec.compression,
          ...(spec.columns ? { columns: spec.columns } : {}),
          extraFields: spec.extraFields,
          maxColumns: spec.maxColumns,
          timeZone: spec.timeZone,
          maxFileRows: spec.rotation.rows,
          maxFileBytes: spec.rotation.bytes,
          maxFileAgeMs: spec.rotation.intervalMs,
          ...(deps.scheduler ? { scheduler: deps.scheduler } : {}),
        },
        ctx.sinkContext,
      );
    }
    case 's3-raw': {
      if (!deps.s3) throw missing('S3');
      return s3RawSink(
        {
          id: spec.id,
          client: deps.s3,
          bucket: spec.bucket,
          prefix: spec.prefix,
          format: spec.format,
          compression: spec.compression,
          layout: spec.layout,
          timeZone: spec.timeZone,
          maxFileRows: spec.rotation.rows,
          maxFileBytes: spec.rotation.bytes,
          maxFileAgeMs: spec.rotation.intervalMs,
          ...(deps.scheduler ? { scheduler: deps.scheduler } : {}),
        },
        ctx.sinkContext,
      );
    }
    case 'kafka': {
      if (!deps.kafka) throw missing('Kafka');
      const key = spec.key === undefined ? undefined : compileField(spec.key);
      return createKafkaSink<unknown>(
        {
          ...deps.kafka,
          id: spec.id,
          topic: spec.topic,
          compression: spec.compression === 'none' ? 'none' : spec.compression,
          ...(key
            ? {
                key: (envelope: Envelope<unknown>) => {
                  const k = key(envelope.value, envelope.meta);
                  return k === undefined || k === null ? null : typeof k === 'string' ? k : JSON.stringify(k);
                },
              }
            : {}),
        },
        ctx.sinkContext,
      ) as Sink<unknown>;
    }
  }
}
