/** `tributary provision` against the local stack: the dry-run plan, creation, and idempotence. */
import { DeleteBucketCommand } from '@aws-sdk/client-s3';
import { DeleteTableCommand } from '@aws-sdk/client-dynamodb';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { main } from '../../../src/cli.ts';
import { createTable, createTopic, dynamoClient, kafkaAdmin, s3Client, uniqueName } from '../../support/stack.ts';
import { captureIo } from './io.ts';

const dir = mkdtempSync(join(tmpdir(), 'tributary-provision-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('tributary provision --local', () => {
  it('prints the plan with --dry-run and changes nothing, then creates what is missing, once', async () => {
    const existingTopic = await createTopic({ prefix: 'prov-in' });
    const existingTable = await createTable({ prefix: 'prov-old' }); // no TTL yet
    const [newTopic, dlq, newTable, bucket] = [uniqueName('prov-out'), uniqueName('prov-dlq'), uniqueName('prov-new'), uniqueName('prov-bucket')];
    const file = join(dir, 'shop.yaml');
    writeFileSync(
      file,
      [
        'name: shop',
        `sources: [{ id: orders, topics: [${existingTopic}] }]`,
        'steps: [{ id: parse, kind: parse, from: orders }]',
        'sinks:',
        `  - { id: out, kind: kafka, from: parse, topic: ${newTopic} }`,
        `  - { id: old, kind: dynamodb, from: parse, table: ${existingTable}, partitionKey: { name: pk, value: "{id}" }, sortKey: { name: sk, value: "{id}" }, ttl: { attribute: expires_at, after: 1d } }`,
        `  - { id: new, kind: dynamodb, from: parse, table: ${newTable}, partitionKey: { name: id, value: "{id}" } }`,
        `  - { id: cold, kind: s3-parquet, from: parse, bucket: ${bucket} }`,
        `deadLetters: { topic: ${dlq} }`,
      ].join('\n'),
    );
    const provision = async (...args: string[]) => {
      const io = captureIo({ ...process.env });
      const code = await main(['provision', file, '--local', ...args], io);
      return { code, out: io.out, err: io.err };
    };
    const cleanUp = async () => {
      const admin = kafkaAdmin();
      await admin.deleteTopics({ topics: [newTopic, dlq] }).catch(() => {});
      await admin.close();
      await dynamoClient().send(new DeleteTableCommand({ TableName: newTable })).catch(() => {});
      await s3Client().send(new DeleteBucketCommand({ Bucket: bucket })).catch(() => {});
    };
    try {
      const plan = await provision('--dry-run');
      expect(plan.err).toBe('');
      expect(plan.code).toBe(0);
      const lines = plan.out.split('\n').filter(Boolean).map((l) => l.replace(/ +/g, ' '));
      expect(lines).toEqual([
        `topic ${existingTopic} exists`,
        `topic ${newTopic} would be created (3 partitions)`,
        `topic ${dlq} would be created (3 partitions)`,
        `table ${existingTable} exists, TTL on expires_at would be enabled`,
        `table ${newTable} would be created`,
        `bucket ${bucket} would be created`,
        'dry run: 4 to create, 2 existing; nothing changed',
      ]);
      expect(await provision('--dry-run')).toEqual(plan); // nothing changed

      const created = await provision('--partitions', '2');
      expect(created).toEqual({
        code: 0,
        out: [`created topic ${newTopic}`, `created topic ${dlq}`, `created table ${newTable}`, `created bucket ${bucket}`, 'provisioned "shop": 4 created, 2 existing', ''].join('\n'),
        err: '',
      });
      const after = (await provision('--dry-run')).out.split('\n').filter(Boolean).map((l) => l.replace(/ +/g, ' '));
      expect(after).toEqual([
        `topic ${existingTopic} exists`,
        `topic ${newTopic} exists`,
        `topic ${dlq} exists`,
        `table ${existingTable} exists`,
        `table ${newTable} exists`,
        `bucket ${bucket} exists`,
        'dry run: 0 to create, 6 existing; nothing changed',
      ]);
      expect((await provision()).out).toBe('provisioned "shop": 0 created, 6 existing\n');
    } finally {
      await cleanUp();
    }
  });

  it('fails with exit 1 and the reason when Kafka does not answer, within TRIBUTARY_KAFKA_UNAVAILABLE_TIMEOUT_MS', async () => {
    const io = captureIo({ TRIBUTARY_BROKERS: '127.0.0.1:1', TRIBUTARY_KAFKA_UNAVAILABLE_TIMEOUT_MS: '1000' });
    const started = performance.now();
    expect(await main(['provision', 'topologies/game-events.yaml', '--dry-run'], io)).toBe(1);
    expect(performance.now() - started).toBeLessThan(15_000);
    expect(io.out).toBe('');
    expect(io.err).toMatch(/^provision failed: Listing topics failed\. \(connect ECONNREFUSED 127\.0\.0\.1:1\)\n$/);
  });

  it('refuses to provision without brokers unless local', async () => {
    const io = captureIo({});
    expect(await main(['provision', 'topologies/game-events.yaml'], io)).toBe(1);
    expect(io.err).toMatch(/^TRIBUTARY_BROKERS: required/);
  });
});
