/**
 * SASL/SCRAM from the environment against a real broker. The shared local broker has no SCRAM
 * listener (and others use it), so this test starts its own Apache Kafka from the stack's cached jars
 * on free ports, with a SASL_PLAINTEXT listener and SCRAM users added at format time, and stops it
 * after. Both clients read through the runtime with the settings `tributary run` builds from
 * `TRIBUTARY_KAFKA_SASL_*`; a wrong password is refused.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { homedir, tmpdir } from 'node:os';
import { inspect } from 'node:util';
import { join } from 'node:path';
import { Admin } from '@platformatic/kafka';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadSettings } from '../../src/config-env.ts';
import { createLogger } from '../../src/core/logger.ts';
import { KafkaProducer } from '../../src/sinks/kafka-producer.ts';
import { createRuntime } from '../../src/runtime/runtime.ts';
import { platformaticConnection, type KafkaConnectionOptions } from '../../src/sources/connection.ts';
import { kafkaConnectionFromEnv } from '../../src/topology/run.ts';
import { CountingSink, eventually } from '../runtime/support.ts';
import { uniqueName } from '../support/stack.ts';

const LIB = join(process.env.TRIBUTARY_CACHE ?? join(homedir(), '.cache', 'tributary'), 'kafka', 'lib', '*');
const USER = 'tributary';
const PASSWORD = 'scram-secret-512';

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

let broker: ChildProcess | undefined;
let dir = '';
let port = 0;

const scramEnv = (password = PASSWORD, mechanism = 'SCRAM-SHA-512') => ({
  TRIBUTARY_BROKERS: `127.0.0.1:${port}`,
  TRIBUTARY_KAFKA_SASL_MECHANISM: mechanism,
  TRIBUTARY_KAFKA_SASL_USERNAME: USER,
  TRIBUTARY_KAFKA_SASL_PASSWORD: password,
});

async function metadataWith(connection: KafkaConnectionOptions): Promise<void> {
  const admin = new Admin({ clientId: uniqueName('scram-admin'), ...platformaticConnection(connection), retries: 0 });
  try {
    await admin.metadata({ topics: [] });
  } finally {
    await admin.close().catch(() => {});
  }
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'tributary-scram-'));
  const [controller, internal] = [await freePort(), await freePort()];
  port = await freePort();
  writeFileSync(join(dir, 'log4j2.properties'), 'rootLogger.level=WARN\nrootLogger.appenderRef.stdout.ref=STDOUT\nappender.stdout.type=Console\nappender.stdout.name=STDOUT\nappender.stdout.layout.type=PatternLayout\nappender.stdout.layout.pattern=%m%n\n');
  const jaas = 'org.apache.kafka.common.security.scram.ScramLoginModule required;';
  writeFileSync(
    join(dir, 'server.properties'),
    [
      'process.roles=broker,controller',
      'node.id=1',
      `controller.quorum.bootstrap.servers=127.0.0.1:${controller}`,
      `listeners=SASL_PLAINTEXT://127.0.0.1:${port},INTERNAL://127.0.0.1:${internal},CONTROLLER://127.0.0.1:${controller}`,
      `advertised.listeners=SASL_PLAINTEXT://127.0.0.1:${port},INTERNAL://127.0.0.1:${internal}`,
      'controller.listener.names=CONTROLLER',
      'listener.security.protocol.map=CONTROLLER:PLAINTEXT,INTERNAL:PLAINTEXT,SASL_PLAINTEXT:SASL_PLAINTEXT',
      'inter.broker.listener.name=INTERNAL',
      'sasl.enabled.mechanisms=SCRAM-SHA-512,SCRAM-SHA-256',
      `listener.name.sasl_plaintext.scram-sha-512.sasl.jaas.config=${jaas}`,
      `listener.name.sasl_plaintext.scram-sha-256.sasl.jaas.config=${jaas}`,
      `log.dirs=${join(dir, 'data')}`,
      'num.partitions=2',
      'offsets.topic.replication.factor=1',
      'offsets.topic.num.partitions=2',
      'transaction.state.log.replication.factor=1',
      'transaction.state.log.min.isr=1',
      'share.coordinator.state.topic.replication.factor=1',
      'share.coordinator.state.topic.min.isr=1',
      'group.initial.rebalance.delay.ms=0',
    ].join('\n'),
  );
  const log4j = `-Dlog4j2.configurationFile=${join(dir, 'log4j2.properties')}`;
  const id = spawnSync('java', ['-cp', LIB, log4j, 'kafka.tools.StorageTool', 'random-uuid'], { encoding: 'utf8' }).stdout.trim();
  const format = spawnSync(
    'java',
    ['-cp', LIB, log4j, 'kafka.tools.StorageTool', 'format', '--standalone', '-t', id, '-c', join(dir, 'server.properties'),
      '--add-scram', `SCRAM-SHA-512=[name=${USER},password=${PASSWORD}]`, '--add-scram', `SCRAM-SHA-256=[name=${USER},password=${PASSWORD}]`],
    { encoding: 'utf8' },
  );
  if (format.status !== 0) throw new Error(`format failed: ${format.stderr}${format.stdout}`);
  broker = spawn('java', ['-Xms256m', '-Xmx384m', '-cp', LIB, log4j, 'kafka.Kafka', join(dir, 'server.properties')], { stdio: 'ignore' });
  const connection = kafkaConnectionFromEnv(scramEnv());
  await eventually(() => metadataWith(connection).then(() => true, () => false), 90_000, 500);
}, 180_000);

afterAll(async () => {
  if (broker?.pid !== undefined && broker.exitCode === null) {
    const exited = new Promise((resolve) => broker?.once('exit', resolve));
    broker.kill('SIGTERM');
    await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 15_000))]);
    if (broker.exitCode === null) broker.kill('SIGKILL');
  }
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('SASL/SCRAM from the environment', () => {
  it('refuses a wrong password', async () => {
    const refused = await metadataWith(kafkaConnectionFromEnv(scramEnv('not-the-password'))).then(() => undefined, (error: unknown) => error as Error & { errors?: Error[] });
    expect(refused).toBeDefined();
    // The client wraps the broker's answer a few levels down.
    expect(inspect(refused, { depth: 8 })).toMatch(/SASL_AUTHENTICATION_FAILED|Authentication failed/i);
  });

  it.each([
    ['platformatic', 'SCRAM-SHA-512'],
    ['kafkajs', 'scram-sha-256'],
  ] as const)('%s reads through the runtime with %s', async (client, mechanism) => {
    const env = scramEnv(PASSWORD, mechanism);
    expect(loadSettings(env).sasl).toMatchObject({ mechanism: mechanism.toLowerCase(), username: USER });
    const connection = kafkaConnectionFromEnv(env);
    const [topic, dlq] = [uniqueName('scram'), uniqueName('scram-dlq')];
    const admin = new Admin({ clientId: uniqueName('scram-admin'), ...platformaticConnection(connection) });
    await admin.createTopics({ topics: [topic, dlq], partitions: 2, replicas: 1 });
    await admin.close();
    const producer = new KafkaProducer({ ...connection, compression: 'none' });
    const errors = await producer.send(Array.from({ length: 500 }, (_, i) => ({ topic, key: Buffer.from(`k${i}`), value: Buffer.from(`{"n":${i}}`), headers: {} })));
    await producer.close();
    expect(errors.filter(Boolean)).toEqual([]);
    const sink = new CountingSink();
    const runtime = createRuntime({
      source: { ...connection, client, groupId: uniqueName('scram'), topics: [topic], fromBeginning: true, sessionTimeoutMs: 6000, heartbeatIntervalMs: 1000 },
      deadLetterTopic: dlq,
      commitIntervalMs: 1000,
      logger: createLogger({ test: 'scram' }, 'warn'),
    });
    const done = runtime.run((input$, ctx) => input$.pipe(ctx.toSink(sink)));
    try {
      await eventually(() => sink.seen.size === 500, 60_000);
    } finally {
      await runtime.shutdown('test over');
      await done.catch(() => {});
    }
    expect(sink.seen.size).toBe(500);
  });
});
