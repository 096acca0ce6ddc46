/**
 * Kafka connection settings (brokers, TLS, SASL, IAM) in one client-neutral shape, mapped onto the
 * options of @platformatic/kafka and of kafkajs. The Kafka source, the Kafka sink and the
 * dead-letter writer all take this shape.
 *
 * @example MSK with SASL/SCRAM over TLS (system CAs)
 * ```ts
 * const connection = { brokers: ['b-1.msk.example:9096'], tls: true,
 *   sasl: { mechanism: 'scram-sha-512', username: 'app', password: process.env.KAFKA_PASSWORD! } };
 * ```
 *
 * @example MSK with IAM: OAUTHBEARER with the token provider of `./msk-iam.ts` (over
 * `aws-msk-iam-sasl-signer-js`, a dependency; tokens cached and signed again before they expire)
 * ```ts
 * const connection = { brokers: ['b-1.msk.example:9098'], tls: true,
 *   sasl: { mechanism: 'oauthbearer', token: mskIamTokenProvider({ region: 'eu-west-1' }) } };
 * ```
 * The provider is called for every authentication: each new connection, and each re-authentication
 * (@platformatic/kafka re-authenticates at 80% of the session lifetime; kafkajs only before a request
 * near its end, so an idle kafkajs connection is closed by the broker and opened again).
 */
import type { ConnectionOptions as TlsConnectionOptions } from 'node:tls';
import { findErrorBy, type SASLOptions } from '@platformatic/kafka';
import type { KafkaConfig, SASLOptions as KafkajsSasl } from 'kafkajs';
import { ConfigError } from '../core/errors.ts';
import { DEFAULT_UNAVAILABLE_TIMEOUT_MS } from '../core/health.ts';

/** TLS material; every field optional. `tls: true` means TLS verified against the system CAs. */
export interface KafkaTlsOptions {
  readonly ca?: string | Buffer | readonly (string | Buffer)[];
  readonly cert?: string | Buffer;
  readonly key?: string | Buffer;
  readonly passphrase?: string;
  /** Default true; set false only for a test broker with a self-signed certificate. */
  readonly rejectUnauthorized?: boolean;
  /** SNI server name, when brokers are addressed by IP. */
  readonly servername?: string;
}

/** SASL PLAIN or SCRAM (MSK's SASL/SCRAM is `scram-sha-512`). */
export interface KafkaPasswordSasl {
  readonly mechanism: 'plain' | 'scram-sha-256' | 'scram-sha-512';
  readonly username: string;
  readonly password: string;
}

/** SASL OAUTHBEARER; `token` returns a fresh bearer token (MSK IAM: see the module example). */
export interface KafkaOauthSasl {
  readonly mechanism: 'oauthbearer';
  readonly token: () => string | Promise<string>;
}

export type KafkaSaslOptions = KafkaPasswordSasl | KafkaOauthSasl;

export interface KafkaConnectionOptions {
  /** `host:port` of one or more bootstrap brokers. */
  readonly brokers: readonly string[];
  readonly clientId?: string;
  /** `true` for TLS with the system CAs, or the TLS material. */
  readonly tls?: boolean | KafkaTlsOptions;
  readonly sasl?: KafkaSaslOptions;
  readonly connectTimeoutMs?: number;
  readonly requestTimeoutMs?: number;
  /**
   * How long the client retries a request while the cluster does not answer (a broker restarting,
   * unreachable, a leader moving), with exponential backoff up to 5 s between tries. Default 300000
   * (`TRIBUTARY_KAFKA_UNAVAILABLE_TIMEOUT_MS`); the runtime gives up a little earlier, with a clear error.
   */
  readonly unavailableTimeoutMs?: number;
  /** Told of every request the client retries, and of answers: the runtime's Kafka health. */
  readonly dependency?: { failed(error: unknown): void; succeeded(): void };
}

/**
 * Whether a failed request says the cluster does not answer (a connection refused, closed or timed
 * out), as opposed to an answer that asks to try again (a coordinator still loading, a leader
 * moving): only the first makes an outage.
 */
export function isUnreachable(error: unknown): boolean {
  return error instanceof Error && (findErrorBy(error, 'code', 'PLT_KFK_NETWORK') !== null || findErrorBy(error, 'code', 'PLT_KFK_TIMEOUT') !== null);
}

/** Backoff between retries of a Kafka request: 250 ms doubling up to 5 s, with equal jitter. */
export const KAFKA_RETRY = Object.freeze({ baseDelayMs: 250, maxDelayMs: 5_000 });

/** The wait before retry `attempt` (1-based): half the capped exponential, plus up to as much again at random. */
export function kafkaRetryDelayMs(attempt: number, random: () => number = Math.random): number {
  const cap = Math.min(KAFKA_RETRY.maxDelayMs, KAFKA_RETRY.baseDelayMs * 2 ** Math.max(0, attempt - 1));
  return Math.floor(cap / 2 + (random() * cap) / 2);
}

/**
 * Retries per request so that they span at least `unavailableTimeoutMs` plus a fifth (counting the
 * smallest waits, with no time for the requests themselves): a request fails only after the
 * runtime's own outage timeout has passed, so that its clearer error comes first.
 */
export function kafkaRetries(unavailableTimeoutMs: number = DEFAULT_UNAVAILABLE_TIMEOUT_MS): number {
  let retries = 0;
  for (let spanned = 0; spanned < unavailableTimeoutMs * 1.2; retries++) spanned += kafkaRetryDelayMs(retries + 1, () => 0);
  return Math.max(3, retries);
}

const MECHANISMS = ['plain', 'scram-sha-256', 'scram-sha-512', 'oauthbearer'];

/** Checks the settings once; throws a ConfigError naming each problem. */
export function validateConnection(options: KafkaConnectionOptions, path = 'source'): void {
  const problems: string[] = [];
  if (!Array.isArray(options.brokers) || options.brokers.length === 0) problems.push(`${path}/brokers must list at least one broker`);
  for (const [i, broker] of (options.brokers ?? []).entries()) {
    if (!/^[^:\s]+:\d+$/.test(broker)) problems.push(`${path}/brokers/${i} must be host:port, got ${JSON.stringify(broker)}`);
  }
  const sasl = options.sasl;
  if (sasl !== undefined) {
    if (!MECHANISMS.includes(sasl.mechanism)) problems.push(`${path}/sasl/mechanism must be one of ${MECHANISMS.join(', ')}`);
    else if (sasl.mechanism === 'oauthbearer') {
      if (typeof sasl.token !== 'function') problems.push(`${path}/sasl/token must be a function returning a token`);
    } else if (!sasl.username || typeof sasl.password !== 'string') {
      problems.push(`${path}/sasl needs username and password for ${sasl.mechanism}`);
    }
  }
  if (options.unavailableTimeoutMs !== undefined && !(options.unavailableTimeoutMs > 0)) problems.push(`${path}/unavailableTimeoutMs must be > 0`);
  if (problems.length > 0) throw new ConfigError(problems);
}

function tlsOptions(tls: KafkaConnectionOptions['tls']): TlsConnectionOptions | undefined {
  if (tls === undefined || tls === false) return undefined;
  if (tls === true) return {};
  const { ca, ...rest } = tls;
  return { ...rest, ...(ca === undefined ? {} : { ca: Array.isArray(ca) ? [...ca] : (ca as string | Buffer) }) };
}

/** The connection part of @platformatic/kafka client options. */
export function platformaticConnection(options: KafkaConnectionOptions): {
  bootstrapBrokers: string[];
  tls?: TlsConnectionOptions;
  tlsServerName?: string | boolean;
  sasl?: SASLOptions;
  connectTimeout?: number;
  requestTimeout?: number;
  retries: number;
  retryDelay: (client: unknown, operation: string, attempt: number, retries: number, error: unknown) => number;
} {
  const tls = tlsOptions(options.tls);
  const sasl = options.sasl;
  const dependency = options.dependency;
  return {
    bootstrapBrokers: [...options.brokers],
    // The client's one retry path (it asks each error whether it `canRetry`), stretched to ride
    // through an outage; each retry is reported so the runtime knows Kafka does not answer.
    retries: kafkaRetries(options.unavailableTimeoutMs),
    retryDelay: (_client, _operation, attempt, _retries, error) => {
      if (isUnreachable(error)) dependency?.failed(error);
      return kafkaRetryDelayMs(attempt);
    },
    ...(tls === undefined ? {} : { tls, tlsServerName: tls.servername ?? true }),
    ...(sasl === undefined
      ? {}
      : sasl.mechanism === 'oauthbearer'
        ? { sasl: { mechanism: 'OAUTHBEARER', token: sasl.token } }
        : {
            sasl: {
              mechanism: sasl.mechanism === 'plain' ? 'PLAIN' : sasl.mechanism === 'scram-sha-256' ? 'SCRAM-SHA-256' : 'SCRAM-SHA-512',
              username: sasl.username,
              password: sasl.password,
            },
          }),
    ...(options.connectTimeoutMs === undefined ? {} : { connectTimeout: options.connectTimeoutMs }),
    ...(options.requestTimeoutMs === undefined ? {} : { requestTimeout: options.requestTimeoutMs }),
  };
}

/** The connection part of a kafkajs `KafkaConfig`. */
export function kafkajsConnection(options: KafkaConnectionOptions): Pick<
  KafkaConfig,
  'brokers' | 'clientId' | 'ssl' | 'sasl' | 'connectionTimeout' | 'requestTimeout' | 'retry'
> {
  const tls = tlsOptions(options.tls);
  const sasl = options.sasl;
  let kafkajsSasl: KafkajsSasl | undefined;
  if (sasl?.mechanism === 'oauthbearer') {
    const token = sasl.token;
    kafkajsSasl = { mechanism: 'oauthbearer', oauthBearerProvider: async () => ({ value: await token() }) };
  } else if (sasl !== undefined) {
    kafkajsSasl = { mechanism: sasl.mechanism, username: sasl.username, password: sasl.password } as KafkajsSasl;
  }
  return {
    brokers: [...options.brokers],
    ...(options.clientId === undefined ? {} : { clientId: options.clientId }),
    ...(tls === undefined ? {} : { ssl: Object.keys(tls).length === 0 ? true : tls }),
    ...(kafkajsSasl === undefined ? {} : { sasl: kafkajsSasl }),
    ...(options.connectTimeoutMs === undefined ? {} : { connectionTimeout: options.connectTimeoutMs }),
    ...(options.requestTimeoutMs === undefined ? {} : { requestTimeout: options.requestTimeoutMs }),
    retry: { initialRetryTime: KAFKA_RETRY.baseDelayMs, maxRetryTime: KAFKA_RETRY.maxDelayMs, retries: kafkaRetries(options.unavailableTimeoutMs) },
  };
}
