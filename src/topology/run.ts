import { pino } from 'pino';
import { connectionsFromEnv, createDynamoClient, createS3Client } from '../config.ts';
import { loadSettings, parseBoolean, type Settings } from '../config-env.ts';
import { startOps, terminalView, type Terminal } from './ops.ts';
import { mskIamTokenProvider } from '../sources/msk-iam.ts';
import { ConfigError, UnavailableError } from '../core/errors.ts';
import type { Dependency } from '../core/health.ts';
import { createLogger } from '../core/logger.ts';
import type { RuntimeOptions } from '../runtime/context.ts';
import { createRuntime, type Runtime } from '../runtime/runtime.ts';
import { installSignalHandlers } from '../runtime/shutdown.ts';
import { memoryLimitOf } from '../runtime/memory-guard.ts';
import type { KafkaConnectionOptions } from '../sources/connection.ts';
import { ecsGroupInstanceId } from '../sources/ecs.ts';
import type { SourceOptions } from '../sources/source.ts';
import { ensureInternalTopics } from '../runtime/changelog.ts';
import { internalTopicsOf } from './repartition.ts';
import { compileTopology } from './compile.ts';
import { topologyMemoryWarning } from './memory.ts';
import type { ValidTopology } from './types.ts';

/**
 * Settings read from the environment, for a container:
 * - connections (`TRIBUTARY_BROKERS`, `AWS_REGION`, `TRIBUTARY_DYNAMODB_ENDPOINT`, `TRIBUTARY_S3_ENDPOINT`,
 *   see src/config.ts);
 * - Kafka security: `TRIBUTARY_KAFKA_TLS` (1/true/yes), `TRIBUTARY_KAFKA_SASL_MECHANISM` (`scram-sha-256`,
 *   `scram-sha-512`, `plain`, `aws-msk-iam`; any case), `TRIBUTARY_KAFKA_SASL_USERNAME`, `TRIBUTARY_KAFKA_SASL_PASSWORD`;
 * - bounds and timings: `TRIBUTARY_MAX_INFLIGHT_RECORDS`, `TRIBUTARY_MAX_INFLIGHT_BYTES`,
 *   `TRIBUTARY_COMMIT_INTERVAL_MS`, `TRIBUTARY_BACKPRESSURE_FLUSH_MS` (default 500), `TRIBUTARY_SHUTDOWN_TIMEOUT_MS` (default 25000),
 *   `TRIBUTARY_MEMORY_LIMIT_MB` (the memory guard's limit; default the container's, see runtime/memory-guard.ts);
 * - outages: `TRIBUTARY_KAFKA_UNAVAILABLE_TIMEOUT_MS` and `TRIBUTARY_SINK_UNAVAILABLE_TIMEOUT_MS`
 *   (S3, DynamoDB), default 300000 each: how long Tributary waits for a service that does not
 *   answer, not ready meanwhile, before it exits 1;
 * - group membership: `TRIBUTARY_GROUP_PROTOCOL` (`classic`, the default, or `consumer` for KIP-848),
 *   `TRIBUTARY_GROUP_INSTANCE_ID` (static membership; on ECS derived from the task when unset, see
 *   src/sources/ecs.ts; `none` turns it off).
 */
export function kafkaConnectionFromEnv(env: NodeJS.ProcessEnv, signer?: Parameters<typeof mskIamTokenProvider>[0]['signer']): KafkaConnectionOptions {
  const { brokers } = connectionsFromEnv(env);
  const mechanism = env.TRIBUTARY_KAFKA_SASL_MECHANISM?.trim().toLowerCase();
  const region = env.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? 'us-east-1';
  const unavailableTimeoutMs = numberFromEnv(env, 'TRIBUTARY_KAFKA_UNAVAILABLE_TIMEOUT_MS');
  return {
    brokers,
    ...(unavailableTimeoutMs === undefined ? {} : { unavailableTimeoutMs }),
    ...(parseBoolean(env.TRIBUTARY_KAFKA_TLS) ? { tls: true } : {}),
    ...(mechanism === 'aws-msk-iam'
      ? { sasl: { mechanism: 'oauthbearer', token: mskIamTokenProvider({ region, ...(signer === undefined ? {} : { signer }) }) } }
      : mechanism
      ? {
          sasl: {
            mechanism: mechanism as 'scram-sha-256',
            username: env.TRIBUTARY_KAFKA_SASL_USERNAME ?? '',
            password: env.TRIBUTARY_KAFKA_SASL_PASSWORD ?? '',
          },
        }
      : {}),
  } as KafkaConnectionOptions;
}

function numberFromEnv(env: NodeJS.ProcessEnv, name: string): number | undefined {
  const raw = env[name];
  if (raw === undefined || raw === '') return undefined;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0) throw new ConfigError(`${name}: must be a positive number, got "${raw}"`);
  return value;
}

/** `TRIBUTARY_GROUP_PROTOCOL` and `TRIBUTARY_GROUP_INSTANCE_ID` (`none`: no static membership). */
export function groupMembershipFromEnv(env: NodeJS.ProcessEnv): Pick<SourceOptions, 'groupProtocol' | 'groupInstanceId'> {
  const protocol = env.TRIBUTARY_GROUP_PROTOCOL || undefined;
  if (protocol !== undefined && protocol !== 'classic' && protocol !== 'consumer') {
    throw new ConfigError(`TRIBUTARY_GROUP_PROTOCOL: must be classic or consumer, got "${protocol}"`);
  }
  const id = env.TRIBUTARY_GROUP_INSTANCE_ID;
  return { ...(protocol === undefined ? {} : { groupProtocol: protocol }), ...(id && id !== 'none' ? { groupInstanceId: id } : {}) };
}

/**
 * `env` with `TRIBUTARY_GROUP_INSTANCE_ID` taken from the ECS task (`ECS_CONTAINER_METADATA_URI_V4`)
 * when it is unset and static membership applies (@platformatic/kafka, classic protocol).
 */
export async function withGroupInstanceId(topology: ValidTopology, env: NodeJS.ProcessEnv, fetchImpl: typeof fetch = fetch): Promise<NodeJS.ProcessEnv> {
  const uri = env.ECS_CONTAINER_METADATA_URI_V4;
  if (!uri || env.TRIBUTARY_GROUP_INSTANCE_ID || topology.sources[0]?.client === 'kafkajs') return env;
  if (groupMembershipFromEnv(env).groupProtocol === 'consumer') return env;
  const id = await ecsGroupInstanceId(uri, fetchImpl);
  const logger = createLogger({ topology: topology.name }, env.LOG_LEVEL);
  if (id === undefined) logger.warn({ uri }, 'no ECS task metadata: running without static group membership');
  else logger.info({ groupInstanceId: id }, 'static group membership: instance id from the ECS task');
  return id === undefined ? env : { ...env, TRIBUTARY_GROUP_INSTANCE_ID: id };
}

/** The consumer's options: one member of one consumer group for every source (validation made them agree on group, client and `startFrom`). */
export function sourceOptionsOf(topology: ValidTopology, connection: KafkaConnectionOptions): SourceOptions {
  const [first] = topology.sources;
  if (!first) throw new ConfigError('/sources: a topology needs at least one source to run');
  return {
    ...connection,
    client: first.client,
    groupId: first.group,
    topics: [...topology.sources.flatMap((s) => s.topics), ...internalTopicsOf(topology).filter((t) => t.kind === 'repartition').map((t) => t.name)],
    // With no committed offset, `committed` and `earliest` start from the beginning.
    fromBeginning: first.startFrom !== 'latest',
  };
}

/** The runtime's options for a topology: its source, dead letters, and the bounds and timings the environment sets. */
export function runtimeOptionsOf(topology: ValidTopology, kafka: KafkaConnectionOptions, env: NodeJS.ProcessEnv = process.env): RuntimeOptions {
  const maxInflightRecords = numberFromEnv(env, 'TRIBUTARY_MAX_INFLIGHT_RECORDS');
  const maxInflightBytes = numberFromEnv(env, 'TRIBUTARY_MAX_INFLIGHT_BYTES');
  const commitIntervalMs = numberFromEnv(env, 'TRIBUTARY_COMMIT_INTERVAL_MS');
  const backpressureFlushMs = numberFromEnv(env, 'TRIBUTARY_BACKPRESSURE_FLUSH_MS');
  const shutdownTimeoutMs = numberFromEnv(env, 'TRIBUTARY_SHUTDOWN_TIMEOUT_MS');
  const sinkUnavailableTimeoutMs = numberFromEnv(env, 'TRIBUTARY_SINK_UNAVAILABLE_TIMEOUT_MS');
  const memoryLimitBytes = memoryLimitOf(env);
  return {
    source: { ...sourceOptionsOf(topology, kafka), ...groupMembershipFromEnv(env) },
    deadLetterTopic: topology.deadLetters.topic,
    logger: createLogger({ topology: topology.name }, env.LOG_LEVEL, env.TRIBUTARY_LOG_FILE ? pino.destination({ dest: env.TRIBUTARY_LOG_FILE, mkdir: true }) : undefined),
    limits: {
      ...(maxInflightRecords === undefined ? {} : { maxInflightRecords }),
      ...(maxInflightBytes === undefined ? {} : { maxInflightBytes }),
    },
    ...(commitIntervalMs === undefined ? {} : { commitIntervalMs }),
    ...(backpressureFlushMs === undefined ? {} : { backpressureFlushMs }),
    ...(shutdownTimeoutMs === undefined ? {} : { shutdownTimeoutMs }),
    ...(sinkUnavailableTimeoutMs === undefined ? {} : { sinkUnavailableTimeoutMs }),
    ...(memoryLimitBytes === undefined ? {} : { memoryLimitBytes }),
  };
}

export interface StartedTopology {
  readonly runtime: Runtime;
  /** Resolves when the pipeline has drained and committed after `runtime.shutdown()`. */
  readonly done: Promise<void>;
  /** Frees the AWS clients; call after `done`. */
  close(): void;
}

/**
 * Creates the topology's internal topics (repartition topics, changelogs) if missing, before the
 * consumer subscribes to them; returns the partitions of each source topic (for `compileTopology`).
 */
export function ensureTopologyTopics(topology: ValidTopology, kafka: KafkaConnectionOptions): Promise<Map<string, number>> {
  return ensureInternalTopics(kafka, topology.sources.flatMap((s) => s.topics), internalTopicsOf(topology));
}

/** Compiles and starts a topology against the services the environment names. */
export function startTopology(topology: ValidTopology, env: NodeJS.ProcessEnv = process.env, options: { readonly bounded?: boolean } = {}): StartedTopology {
  const connections = connectionsFromEnv(env);
  const kafka = kafkaConnectionFromEnv(env);
  // Durable dedup keeps the SDK's retries; sinks retry themselves, so their clients try once.
  const dynamo = createDynamoClient(connections);
  const sinkDynamo = createDynamoClient(connections, { maxAttempts: 1 });
  const s3 = createS3Client(connections, { maxAttempts: 1 });
  const runtime = createRuntime(runtimeOptionsOf(topology, kafka, env));
  // Not there yet at start: waited for as in any outage (not ready, logged once per interval).
  const reachable = runtime.health.dependency('kafka');
  const done = untilExpired(ensureTopologyTopics(topology, { ...kafka, dependency: reachable }), reachable).then(
    (partitionCounts) => {
      reachable.succeeded();
      return runtime.run(
        compileTopology(topology, { dynamo, sinkDynamo, s3, kafka, partitionCounts, ...(options.bounded === undefined ? {} : { bounded: options.bounded }) }),
      );
    },
    async (error: unknown) => {
      await runtime.shutdown('internal topics could not be created');
      throw reachable.available || error instanceof UnavailableError ? error : new UnavailableError('kafka', reachable.unavailableForMs, { cause: error });
    },
  );
  return {
    runtime,
    done,
    close() {
      dynamo.destroy();
      sinkDynamo.destroy();
      s3.destroy();
    },
  };
}

/** `promise`, or an UnavailableError once `dependency` has been unavailable for its timeout (polled every second). */
function untilExpired<T>(promise: Promise<T>, dependency: Dependency): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setInterval(() => {
      if (dependency.expired) reject(new UnavailableError(dependency.name, dependency.unavailableForMs, { cause: dependency.lastError }));
    }, 1000);
  });
  return Promise.race([promise, expired]).finally(() => clearInterval(timer));
}

/** Settings the process starts with but that leave something broken: logged as warnings at start. */
export function startupWarnings(settings: Pick<Settings, 'httpPort'>): string[] {
  return settings.httpPort === undefined
    ? ['TRIBUTARY_HTTP_PORT=off: no /healthz, so the image HEALTHCHECK and an ECS health check on it always fail (ECS replaces the task); drop the health check or keep the HTTP server']
    : [];
}

export interface RunOptions {
  /** Local mode (`--local`): no TRIBUTARY_BROKERS needed. */
  readonly local?: boolean;
  /** Standard output: the progress line (EMF off) and EMF lines (default `process.stdout`). */
  readonly terminal?: Terminal;
  /** Standard error: the progress line when EMF is on (default `process.stderr`). */
  readonly stderr?: Terminal;
  /** Aborting it stops the topology as SIGTERM does (drain, flush, commit). */
  readonly signal?: AbortSignal;
}

/**
 * Runs a validated topology until SIGTERM/SIGINT (drain, flush, commit, exit 0 within the shutdown
 * deadline; a second signal exits at once), with its HTTP server, and the progress line on a
 * terminal (see `terminalView`: JSON logs then go to `TRIBUTARY_LOG_FILE`, default `tributary.log`;
 * with EMF on, the line goes to stderr and stdout carries only EMF and logs). Checks every
 * environment setting first: a ConfigError names each problem. Resolves with the process exit code.
 */
export async function runTopology(topology: ValidTopology, env: NodeJS.ProcessEnv = process.env, options: RunOptions = {}): Promise<number> {
  const settings = loadSettings(env, { local: options.local === true });
  const stdout = options.terminal ?? process.stdout;
  const { progress, logFile } = terminalView(settings, stdout, options.stderr ?? process.stderr);
  const runEnv = { ...env, ...(options.local ? { TRIBUTARY_LOCAL: '1' } : {}), ...(logFile === undefined ? {} : { TRIBUTARY_LOG_FILE: logFile }) };
  const started = startTopology(topology, await withGroupInstanceId(topology, runEnv));
  const removeHandlers = installSignalHandlers(started.runtime);
  for (const warning of startupWarnings(settings)) started.runtime.logger.warn(warning);
  const memory = topologyMemoryWarning(topology, settings);
  if (memory !== undefined) started.runtime.logger.warn(memory);
  const abort = () => void started.runtime.shutdown('aborted').catch(() => {});
  options.signal?.addEventListener('abort', abort, { once: true });
  if (options.signal?.aborted) abort();
  const ops = await startOps(topology, started.runtime, {
    ...(settings.httpPort === undefined ? {} : { httpPort: settings.httpPort }),
    limits: { ...(settings.maxInflightRecords === undefined ? {} : { maxInflightRecords: settings.maxInflightRecords }), ...(settings.maxInflightBytes === undefined ? {} : { maxInflightBytes: settings.maxInflightBytes }) },
    ...(progress === undefined ? {} : { progress }),
    ...(settings.emf ? { emf: { namespace: settings.emfNamespace, intervalMs: settings.emfIntervalMs, write: (line: string) => stdout.write(line) } } : {}),
  }).catch(async (error: unknown) => {
    await started.runtime.shutdown('the HTTP server could not start');
    throw error;
  });
  try {
    await started.done;
    return 0;
  } catch (error) {
    started.runtime.logger.error({ err: error }, 'topology stopped on an error');
    return 1;
  } finally {
    options.signal?.removeEventListener('abort', abort);
    removeHandlers();
    await ops.close();
    started.close();
  }
}
