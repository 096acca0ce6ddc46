/**
 * deploy/ecs/ stays true to the code: the task definition's settings pass the start-up check, its
 * stop timeout is above the shutdown budget, its health check probes the HTTP port; the task role
 * policy names every topic, table and bucket the default topology touches with these settings; the
 * execution role lets ECS pull the image, write the logs and read the SCRAM secret; the autoscaling
 * policy tracks the EMF metric the tasks publish.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseSettings, SETTINGS } from '../../src/config-env.ts';
import { emfLine } from '../../src/runtime/emf.ts';
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

  it("guards memory against the task's memory, with the heap limit below it", () => {
    const taskMb = Number(read(file).memory);
    expect(Number(env.TRIBUTARY_MEMORY_LIMIT_MB)).toBe(taskMb);
    const heapMb = Number(/--max-old-space-size=(\d+)/.exec(env.NODE_OPTIONS ?? '')?.[1]);
    expect(heapMb).toBeLessThan(taskMb * 0.85);
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

interface Statement {
  Action: string[];
  Resource: string | string[];
  Condition?: Record<string, Record<string, string>>;
}

/** Whether one statement of `statements` allows `action` on `resource` (IAM's `*` wildcard). */
function grants(statements: readonly Statement[], action: string, resource: string): Statement | undefined {
  const matches = (pattern: string) => new RegExp(`^${pattern.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replaceAll('*', '.*')}$`).test(resource);
  return statements.find((s) => s.Action.includes(action) && [s.Resource].flat().some(matches));
}

describe('the execution role policy', () => {
  const statements = read('execution-role-policy.json').Statement as Statement[];

  it.each(['task-definition.json', 'task-definition-scram.json'])('lets ECS start %s: pull its image, write (and create) its log group, read its secrets', (file) => {
    const definition = read(file) as { executionRoleArn: string; containerDefinitions: (Container & { image: string; logConfiguration: { options: Record<string, string> } })[] };
    expect(definition.executionRoleArn).toMatch(/:role\/tributary-execution$/);
    const container = definition.containerDefinitions[0] as (typeof definition.containerDefinitions)[number];

    const repository = /^(\w+)\.dkr\.ecr\.(\w+)\.amazonaws\.com\/([^:]+):/.exec(container.image);
    expect(repository).not.toBeNull();
    const [, account, region, name] = repository as RegExpExecArray;
    for (const action of ['ecr:BatchCheckLayerAvailability', 'ecr:GetDownloadUrlForLayer', 'ecr:BatchGetImage']) {
      expect(grants(statements, action, `arn:aws:ecr:${region}:${account}:repository/${name}`), action).toBeDefined();
    }
    expect(grants(statements, 'ecr:GetAuthorizationToken', '*')).toBeDefined();

    const logs = container.logConfiguration.options;
    const group = `arn:aws:logs:${logs['awslogs-region']}:ACCOUNT_ID:log-group:${logs['awslogs-group']}`;
    for (const action of ['logs:CreateLogStream', 'logs:PutLogEvents']) expect(grants(statements, action, `${group}:log-stream:tributary/tributary/abc123`), action).toBeDefined();
    if (logs['awslogs-create-group'] === 'true') expect(grants(statements, 'logs:CreateLogGroup', group)).toBeDefined();

    for (const secret of container.secrets ?? []) {
      // `valueFrom` may name a JSON key of the secret (`…:secret:NAME:username::`); the grant is on the secret.
      const arn = secret.valueFrom.split(':').slice(0, 7).join(':');
      expect(grants(statements, 'secretsmanager:GetSecretValue', arn), secret.name).toBeDefined();
    }
  });

  it('decrypts with KMS only through Secrets Manager, and grants nothing on every resource but the ECR token', () => {
    const decrypt = statements.find((s) => s.Action.includes('kms:Decrypt'));
    expect(decrypt?.Condition).toEqual({ StringEquals: { 'kms:ViaService': 'secretsmanager.REGION.amazonaws.com' } });
    for (const s of statements) {
      for (const action of s.Action) expect(action.endsWith('*'), action).toBe(false);
      if ([s.Resource].flat().includes('*')) expect(s.Action).toEqual(['ecr:GetAuthorizationToken']);
    }
  });
});

describe('the autoscaling policy', () => {
  const target = read('scalable-target.json') as Record<string, unknown>;
  const policy = read('autoscaling-policy.json');
  const spec = policy.TargetTrackingScalingPolicyConfiguration.CustomizedMetricSpecification as {
    Namespace: string;
    MetricName: string;
    Dimensions: { Name: string; Value: string }[];
    Statistic: string;
  };
  const env = Object.fromEntries((read('task-definition.json').containerDefinitions[0] as Container).environment.map((e) => [e.name, e.value]));
  const settings = parseSettings(env).settings;

  it('scales the service of the scalable target', () => {
    for (const key of ['ServiceNamespace', 'ResourceId', 'ScalableDimension']) expect(policy[key], key).toBe(target[key]);
  });

  it('tracks the metric the tasks publish: EMF namespace, metric name and dimension of src/runtime/emf.ts', () => {
    expect(settings.emf).toBe(true);
    const line = JSON.parse(emfLine({ namespace: settings.emfNamespace, group: env.CONSUMER_GROUP ?? '', topology: 'game-events' }, { lag: 1, recordsPerSecond: 0, deadLetters: 0, inflight: 0 }, 0));
    const directive = line._aws.CloudWatchMetrics[0];
    expect(spec.Namespace).toBe(directive.Namespace);
    expect(directive.Metrics.map((m: { Name: string }) => m.Name)).toContain(spec.MetricName);
    expect(spec.Dimensions.map((d) => d.Name)).toEqual(directive.Dimensions[0]);
    for (const d of spec.Dimensions) expect(d.Value, d.Name).toBe(line[d.Name]);
  });

  it('averages the per-task lag, which every task publishes several times a minute, so the statistic does not jitter with how many lines fall in a period', () => {
    // Each task's ConsumerLag is the lag of its own partitions: the Average over a period is the
    // lag per task whatever the number of lines each task landed in it (a Sum would count them).
    expect(spec.Statistic).toBe('Average');
    expect(settings.emfIntervalMs).toBeLessThanOrEqual(30_000);
    expect(target.MaxCapacity).toBeGreaterThanOrEqual(target.MinCapacity as number);
  });
});
