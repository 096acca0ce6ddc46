import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { parseBoolean } from './config-env.ts';
import { ConfigError } from './core/errors.ts';

/**
 * The one configuration entry point for connections: Kafka brokers and AWS endpoints, read from the
 * environment once. With no configuration it points at the local stack (`npm run stack:up`); on ECS,
 * set `TRIBUTARY_BROKERS` and leave the AWS endpoints unset so the SDK uses the real services.
 */
export interface Connections {
  readonly brokers: readonly string[];
  readonly region: string;
  /** Unset means the real AWS endpoint. */
  readonly dynamodbEndpoint: string | undefined;
  readonly s3Endpoint: string | undefined;
  /** Unset means the SDK's default credential chain (the ECS task role). */
  readonly credentials: { readonly accessKeyId: string; readonly secretAccessKey: string } | undefined;
  /** Connection and request timeouts of the AWS clients; unset, `DEFAULT_AWS_TIMEOUTS`. */
  readonly timeouts?: AwsTimeouts;
}

/**
 * Timeouts of the AWS clients, so that a service that accepts a connection and never answers fails
 * the call (and the sink retries it) instead of hanging the pipeline.
 */
export interface AwsTimeouts {
  /** Establishing a connection. */
  readonly connectTimeoutMs: number;
  /** A whole DynamoDB request and its response. */
  readonly dynamodbRequestTimeoutMs: number;
  /** A whole S3 request and its response (one PutObject of a file below the multipart threshold, or one part). */
  readonly s3RequestTimeoutMs: number;
}

export const DEFAULT_AWS_TIMEOUTS: AwsTimeouts = Object.freeze({ connectTimeoutMs: 3_000, dynamodbRequestTimeoutMs: 10_000, s3RequestTimeoutMs: 60_000 });

/** What a client is for: `maxAttempts` 1 for the sinks, which retry themselves (one retry layer). */
export interface AwsClientOptions {
  /** Attempts per call, the SDK's own retries included. Default: the SDK's (3). */
  readonly maxAttempts?: number;
}

/** Ports and credentials of the local stack; each port can be moved with an environment variable. */
export function localStack(env: NodeJS.ProcessEnv = process.env) {
  const port = (name: string, fallback: number) => Number(env[name] ?? fallback);
  const ports = {
    kafka: port('TRIBUTARY_KAFKA_PORT', 19092),
    kafkaController: port('TRIBUTARY_KAFKA_CONTROLLER_PORT', 19093),
    dynamodb: port('TRIBUTARY_DYNAMODB_PORT', 18000),
    s3: port('TRIBUTARY_S3_PORT', 17070),
  };
  return {
    ports,
    connections: Object.freeze({
      brokers: Object.freeze([`127.0.0.1:${ports.kafka}`]),
      region: 'us-east-1',
      dynamodbEndpoint: `http://127.0.0.1:${ports.dynamodb}`,
      s3Endpoint: `http://127.0.0.1:${ports.s3}`,
      // DynamoDB Local accepts only letters and digits in the access key id.
      credentials: Object.freeze({ accessKeyId: 'tributary', secretAccessKey: 'tributarysecret' }),
    }) satisfies Connections,
  };
}

/**
 * Connections from the environment: `TRIBUTARY_BROKERS` (comma-separated), `AWS_REGION`,
 * `TRIBUTARY_DYNAMODB_ENDPOINT`, `TRIBUTARY_S3_ENDPOINT`, `AWS_ACCESS_KEY_ID`/`AWS_SECRET_ACCESS_KEY`,
 * and the AWS clients' timeouts `TRIBUTARY_AWS_CONNECT_TIMEOUT_MS`, `TRIBUTARY_DYNAMODB_REQUEST_TIMEOUT_MS`,
 * `TRIBUTARY_S3_REQUEST_TIMEOUT_MS`. `TRIBUTARY_LOCAL=1` (or no `TRIBUTARY_BROKERS` at all) starts
 * from the local stack's values. That fallback serves tests and benchmarks: every CLI command that
 * connects checks the settings first (`parseSettings`: `run`, `connectingEnv` for the others), which
 * refuses a missing `TRIBUTARY_BROKERS` outside local mode.
 */
export function connectionsFromEnv(env: NodeJS.ProcessEnv = process.env): Connections {
  const local = parseBoolean(env.TRIBUTARY_LOCAL) === true || env.TRIBUTARY_BROKERS === undefined;
  const base: Connections = local
    ? localStack(env).connections
    : { brokers: [], region: 'us-east-1', dynamodbEndpoint: undefined, s3Endpoint: undefined, credentials: undefined };
  const accessKeyId = env.AWS_ACCESS_KEY_ID;
  const secretAccessKey = env.AWS_SECRET_ACCESS_KEY;
  return Object.freeze({
    brokers: Object.freeze(env.TRIBUTARY_BROKERS?.split(',').map((b) => b.trim()).filter(Boolean) ?? [...base.brokers]),
    region: env.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? base.region,
    dynamodbEndpoint: env.TRIBUTARY_DYNAMODB_ENDPOINT ?? base.dynamodbEndpoint,
    s3Endpoint: env.TRIBUTARY_S3_ENDPOINT ?? base.s3Endpoint,
    credentials: accessKeyId && secretAccessKey ? { accessKeyId, secretAccessKey } : base.credentials,
    timeouts: Object.freeze({
      connectTimeoutMs: positiveMs(env, 'TRIBUTARY_AWS_CONNECT_TIMEOUT_MS') ?? DEFAULT_AWS_TIMEOUTS.connectTimeoutMs,
      dynamodbRequestTimeoutMs: positiveMs(env, 'TRIBUTARY_DYNAMODB_REQUEST_TIMEOUT_MS') ?? DEFAULT_AWS_TIMEOUTS.dynamodbRequestTimeoutMs,
      s3RequestTimeoutMs: positiveMs(env, 'TRIBUTARY_S3_REQUEST_TIMEOUT_MS') ?? DEFAULT_AWS_TIMEOUTS.s3RequestTimeoutMs,
    }),
  });
}

function positiveMs(env: NodeJS.ProcessEnv, name: string): number | undefined {
  const raw = env[name];
  if (raw === undefined || raw === '') return undefined;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0) throw new ConfigError(`${name}: must be a positive number of milliseconds, got "${raw}"`);
  return value;
}

/** The SDK's HTTP handler settings: a connection timeout, and a request timeout that fails the call. */
function requestHandler(connections: Connections, requestTimeoutMs: (t: AwsTimeouts) => number) {
  const timeouts = connections.timeouts ?? DEFAULT_AWS_TIMEOUTS;
  return { connectionTimeout: timeouts.connectTimeoutMs, requestTimeout: requestTimeoutMs(timeouts), throwOnRequestTimeout: true };
}

/** A DynamoDB client for these connections, with their timeouts. */
export function createDynamoClient(connections: Connections, options: AwsClientOptions = {}): DynamoDBClient {
  return new DynamoDBClient({
    region: connections.region,
    requestHandler: requestHandler(connections, (t) => t.dynamodbRequestTimeoutMs),
    ...(options.maxAttempts === undefined ? {} : { maxAttempts: options.maxAttempts }),
    ...(connections.dynamodbEndpoint ? { endpoint: connections.dynamodbEndpoint } : {}),
    ...(connections.credentials ? { credentials: { ...connections.credentials } } : {}),
  });
}

/**
 * An S3 client for these connections. With a custom endpoint (an S3-compatible server) it uses
 * path-style addressing, since `<bucket>.localhost` does not resolve, and computes checksums only
 * when an operation requires them, which every S3-compatible server accepts.
 */
export function createS3Client(connections: Connections, options: AwsClientOptions = {}): S3Client {
  const custom = connections.s3Endpoint !== undefined;
  return new S3Client({
    region: connections.region,
    requestHandler: requestHandler(connections, (t) => t.s3RequestTimeoutMs),
    ...(options.maxAttempts === undefined ? {} : { maxAttempts: options.maxAttempts }),
    ...(custom
      ? {
          endpoint: connections.s3Endpoint,
          forcePathStyle: true,
          requestChecksumCalculation: 'WHEN_REQUIRED' as const,
          responseChecksumValidation: 'WHEN_REQUIRED' as const,
        }
      : {}),
    ...(connections.credentials ? { credentials: { ...connections.credentials } } : {}),
  });
}
