/**
 * deploy/ecs/ stays true to the code: the task definition's settings pass the start-up check, its
 * stop timeout is above the shutdown budget, its health check probes the HTTP port; the task role
 * policy names every topic, table and bucket the default topology touches with these settings.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseSettings, SETTINGS } from '../../src/config-env.ts';
import { internalTopicsOf } from '../../src/topology/repartition.ts';
import { loadTopologyFile } from '../../src/topology/load.ts';

const DIR = join(import.meta.dirname, '..', '..', 'deploy', 'ecs');
const read = (file: string) => JSON.parse(readFileSync(join(DIR, file), 'utf8'));
const TOPOLOGY_VARIABLES = ['TOPIC_PREFIX', 'TABLE_PREFIX', 'EVENTS_BUCKET', 'CONSUMER_GROUP', 'NODE_OPTIONS'];

interface Container {
  environment: { name: string; value: string }[];
  secrets?: { name: string; valueFrom: string }[];
  stopTimeout: number;
  healthCheck: { command: string[] };
  portMappings: { containerPort: number }[];
}

describe.each(['task-definition.json', 'task-definition-scram.json'])('%s', (file) => {
  const container = read(file).containerDefinitions[0] as Container;
  const env: Record<string, string> = Object.fromEntries(container.environment.map((e) => [e.name, e.value]));
  for (const secret of container.secrets ?? []) env[secret.name] = 'from-secrets-manager';

  it('passes the start-up configuration check, with only known settings', () => {
    expect(parseSettings(env).problems).toEqual([]);
    for (const name of Object.keys(env)) expect(SETTINGS[name] !== undefined || TOPOLOGY_VARIABLES.includes(name), name).toBe(true);
  });

  it('stops later than the shutdown budget and probes /healthz on the HTTP port', () => {
    const budgetS = Number(env.TRIBUTARY_SHUTDOWN_TIMEOUT_MS ?? SETTINGS.TRIBUTARY_SHUTDOWN_TIMEOUT_MS?.default) / 1000;
    expect(container.stopTimeout).toBeGreaterThan(budgetS + 5);
    const port = Number(env.TRIBUTARY_HTTP_PORT ?? 9464);
    expect(container.healthCheck.command.join(' ')).toContain(`127.0.0.1:${port}/healthz`);
    expect(container.portMappings.map((p) => p.containerPort)).toContain(port);
  });

  it('keeps secrets out of the plain environment', () => {
    for (const name of Object.keys(SETTINGS).filter((n) => SETTINGS[n]?.kind === 'secret')) {
      expect(container.environment.map((e) => e.name), name).not.toContain(name);
    }
  });
});

describe('the task role policy', () => {
  it('grants every topic, table and bucket of the default topology with the task definition settings', async () => {
    const env: Record<string, string> = Object.fromEntries((read('task-definition.json').containerDefinitions[0] as Container).environment.map((e) => [e.name, e.value]));
    const topology = await loadTopologyFile(join(import.meta.dirname, '..', '..', 'topologies', 'game-events.yaml'), { env });
    const statements = read('task-role-policy.json').Statement as { Action: string[]; Resource: string | string[] }[];
    const granted = (action: string, resource: string) =>
      statements.some((s) => s.Action.includes(action) && [s.Resource].flat().some((r) => new RegExp(`^${r.replaceAll('*', '.*')}$`).test(resource)));
    const topic = (name: string) => `arn:aws:kafka:REGION:ACCOUNT_ID:topic/CLUSTER_NAME/CLUSTER_UUID/${name}`;
    for (const name of topology.sources.flatMap((s) => s.topics)) expect(granted('kafka-cluster:ReadData', topic(name)), name).toBe(true);
    const written = [topology.deadLetters.topic, ...topology.sinks.flatMap((s) => (s.kind === 'kafka' ? [s.topic] : []))];
    for (const name of written) expect(granted('kafka-cluster:WriteData', topic(name)), name).toBe(true);
    const internal = internalTopicsOf(topology).map((t) => t.name);
    expect(internal.length).toBeGreaterThan(0);
    for (const name of internal) {
      for (const action of ['kafka-cluster:CreateTopic', 'kafka-cluster:ReadData', 'kafka-cluster:WriteData']) expect(granted(action, topic(name)), `${action} ${name}`).toBe(true);
    }
    expect(granted('kafka-cluster:AlterGroup', `arn:aws:kafka:REGION:ACCOUNT_ID:group/CLUSTER_NAME/CLUSTER_UUID/${topology.sources[0]?.group}`)).toBe(true);
    for (const sink of topology.sinks) {
      if (sink.kind === 'dynamodb') for (const action of ['dynamodb:BatchWriteItem', 'dynamodb:UpdateItem']) expect(granted(action, `arn:aws:dynamodb:REGION:ACCOUNT_ID:table/${sink.table}`), sink.table).toBe(true);
      if (sink.kind === 's3-parquet') {
        expect(granted('s3:PutObject', `arn:aws:s3:::${sink.bucket}/${sink.prefix}/x.parquet`)).toBe(true);
        expect(granted('s3:ListBucket', `arn:aws:s3:::${sink.bucket}`)).toBe(true);
      }
    }
    // Least privilege: nothing on every resource, no wildcard actions.
    for (const s of statements) {
      expect([s.Resource].flat()).not.toContain('*');
      for (const action of s.Action) expect(action.endsWith('*'), action).toBe(false);
    }
  });
});
