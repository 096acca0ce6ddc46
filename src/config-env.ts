/**
 * Every environment setting of a Tributary process, parsed and checked once at start: all problems
 * are reported together, unknown `TRIBUTARY_*` names are refused (with a suggestion), booleans accept
 * `1/true/yes` and `0/false/no`, SASL mechanisms any case. `TRIBUTARY_BROKERS` is required unless
 * local mode is asked for (`TRIBUTARY_LOCAL=1` or `--local`): a production task never falls back to
 * the local stack silently. `describeSettings` prints the effective values with secrets masked.
 *
 * @example
 * ```ts
 * const settings = loadSettings(process.env); // throws a ConfigError naming every problem
 * ```
 */
import { ConfigError } from './core/errors.ts';

export type SaslMechanism = 'plain' | 'scram-sha-256' | 'scram-sha-512' | 'aws-msk-iam';

export interface Settings {
  readonly local: boolean;
  /** Empty in local mode when unset (the local stack's broker applies). */
  readonly brokers: readonly string[];
  readonly kafkaTls: boolean;
  readonly sasl: { readonly mechanism: SaslMechanism; readonly username?: string; readonly password?: string } | undefined;
  readonly region: string | undefined;
  readonly maxInflightRecords: number | undefined;
  readonly maxInflightBytes: number | undefined;
  readonly commitIntervalMs: number | undefined;
  readonly shutdownTimeoutMs: number | undefined;
  readonly groupProtocol: 'classic' | 'consumer' | undefined;
  readonly logLevel: string | undefined;
  /** `undefined`: no HTTP server (`TRIBUTARY_HTTP_PORT=off`). */
  readonly httpPort: number | undefined;
  /** `auto`: a progress line when stdout (stderr with EMF on) is a terminal; see `terminalView`. */
  readonly progress: 'auto' | 'on' | 'off';
  readonly logFile: string | undefined;
  readonly emf: boolean;
  readonly emfIntervalMs: number;
  readonly emfNamespace: string;
}

type Kind = 'string' | 'secret' | 'boolean' | 'positive' | 'positive-or-off' | 'port' | 'list' | { readonly oneOf: readonly string[] };

interface Spec {
  readonly kind: Kind;
  readonly help: string;
  readonly default?: string;
}

/** Every setting Tributary reads from the environment (besides the `${NAME}`s a topology file names). */
export const SETTINGS: Readonly<Record<string, Spec>> = {
  TRIBUTARY_LOCAL: { kind: 'boolean', help: 'run against the local stack (npm start, tests)', default: 'false' },
  TRIBUTARY_BROKERS: { kind: 'list', help: 'bootstrap brokers host:port, comma-separated; required unless local' },
  TRIBUTARY_KAFKA_TLS: { kind: 'boolean', help: 'TLS to the brokers', default: 'false' },
  TRIBUTARY_KAFKA_SASL_MECHANISM: { kind: { oneOf: ['plain', 'scram-sha-256', 'scram-sha-512', 'aws-msk-iam'] }, help: 'SASL mechanism (any case)' },
  TRIBUTARY_KAFKA_SASL_USERNAME: { kind: 'string', help: 'SASL username (plain, SCRAM)' },
  TRIBUTARY_KAFKA_SASL_PASSWORD: { kind: 'secret', help: 'SASL password (plain, SCRAM)' },
  AWS_REGION: { kind: 'string', help: 'region of DynamoDB, S3 and MSK IAM', default: 'us-east-1' },
  AWS_DEFAULT_REGION: { kind: 'string', help: 'region when AWS_REGION is unset' },
  AWS_ACCESS_KEY_ID: { kind: 'secret', help: 'static AWS credentials (else the SDK chain: the task role)' },
  AWS_SECRET_ACCESS_KEY: { kind: 'secret', help: 'static AWS credentials' },
  AWS_SESSION_TOKEN: { kind: 'secret', help: 'static AWS credentials' },
  TRIBUTARY_DYNAMODB_ENDPOINT: { kind: 'string', help: 'custom DynamoDB endpoint (local servers)' },
  TRIBUTARY_S3_ENDPOINT: { kind: 'string', help: 'custom S3 endpoint (local servers)' },
  TRIBUTARY_MAX_INFLIGHT_RECORDS: { kind: 'positive', help: 'backpressure bound, records', default: '100000' },
  TRIBUTARY_MAX_INFLIGHT_BYTES: { kind: 'positive', help: 'backpressure bound, bytes', default: '67108864' },
  TRIBUTARY_COMMIT_INTERVAL_MS: { kind: 'positive', help: 'checkpoint period', default: '5000' },
  TRIBUTARY_MEMORY_LIMIT_MB: { kind: 'positive-or-off', help: "memory the process may use: above 85% of it, a memory-reducing collection returns V8's pooled heap pages (at most every 10 s); off disables", default: "the container's hard limit (cgroup), else off" },
  TRIBUTARY_BACKPRESSURE_FLUSH_MS: { kind: 'positive', help: 'while the in-flight bound holds the source, flush the sinks again this long after each flush', default: '500' },
  TRIBUTARY_SHUTDOWN_TIMEOUT_MS: { kind: 'positive', help: 'graceful shutdown budget', default: '25000' },
  TRIBUTARY_KAFKA_UNAVAILABLE_TIMEOUT_MS: { kind: 'positive', help: 'how long Kafka may be unreachable (not ready meanwhile) before the process exits 1', default: '300000' },
  TRIBUTARY_SINK_UNAVAILABLE_TIMEOUT_MS: { kind: 'positive', help: 'how long S3 or DynamoDB may fail before the process exits 1', default: '300000' },
  TRIBUTARY_AWS_CONNECT_TIMEOUT_MS: { kind: 'positive', help: 'AWS clients: connection timeout', default: '3000' },
  TRIBUTARY_S3_REQUEST_TIMEOUT_MS: { kind: 'positive', help: 'S3 client: request timeout', default: '60000' },
  TRIBUTARY_DYNAMODB_REQUEST_TIMEOUT_MS: { kind: 'positive', help: 'DynamoDB client: request timeout', default: '10000' },
  TRIBUTARY_GROUP_PROTOCOL: { kind: { oneOf: ['classic', 'consumer'] }, help: 'consumer group protocol', default: 'classic' },
  TRIBUTARY_GROUP_INSTANCE_ID: { kind: 'string', help: 'static membership id; none turns it off', default: 'from the ECS task' },
  LOG_LEVEL: { kind: { oneOf: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] }, help: 'log level', default: 'info' },
  TRIBUTARY_LOG_RECORD_CONTENT: { kind: 'boolean', help: 'logs may carry record content (value prefixes, quoted field values)', default: 'false' },
  TRIBUTARY_LOG_FILE: { kind: 'string', help: 'JSON logs to this file instead of stdout (default on a terminal: tributary.log)' },
  TRIBUTARY_HTTP_PORT: { kind: 'port', help: 'health, readiness, /metrics and the status page; off disables', default: '9464' },
  TRIBUTARY_PROGRESS: { kind: { oneOf: ['auto', 'on', 'off'] }, help: 'terminal progress line (auto: when stdout is a terminal; stderr with EMF on)', default: 'auto' },
  TRIBUTARY_EMF: { kind: 'boolean', help: 'CloudWatch EMF metric lines on stdout', default: 'false' },
  TRIBUTARY_EMF_INTERVAL_MS: { kind: 'positive', help: 'EMF period', default: '60000' },
  TRIBUTARY_EMF_NAMESPACE: { kind: 'string', help: 'EMF CloudWatch namespace', default: 'Tributary' },
  // The local stack's ports and cache (scripts/stack.ts), and a bench override.
  TRIBUTARY_KAFKA_PORT: { kind: 'port', help: 'local stack Kafka port', default: '19092' },
  TRIBUTARY_KAFKA_CONTROLLER_PORT: { kind: 'port', help: 'local stack Kafka controller port', default: '19093' },
  TRIBUTARY_DYNAMODB_PORT: { kind: 'port', help: 'local stack DynamoDB port', default: '18000' },
  TRIBUTARY_S3_PORT: { kind: 'port', help: 'local stack S3 port', default: '17070' },
  TRIBUTARY_CACHE: { kind: 'string', help: 'local stack artifact cache' },
  TRIBUTARY_STACK_DIR: { kind: 'string', help: 'local stack data and logs directory', default: '.stack' },
  TRIBUTARY_DYNAMODB_DB_PATH: { kind: 'string', help: 'local stack: DynamoDB Local keeps its tables in this directory (in memory when unset)' },
  TRIBUTARY_KAFKA_HEAP: { kind: 'string', help: 'local stack Kafka JVM heap' },
  TRIBUTARY_DYNAMODB_HEAP: { kind: 'string', help: 'local stack DynamoDB Local JVM heap' },
  // Test runs: children inherit these, so they must not be refused as unknown.
  TRIBUTARY_KEEP_STACK: { kind: 'boolean', help: 'tests: leave the local stack running after the run', default: 'false' },
  TRIBUTARY_KEEP_EXACTNESS: { kind: 'boolean', help: 'tests: keep the exactness runs\' topics, tables and objects', default: 'false' },
};

const TRUE = ['1', 'true', 'yes', 'on'];
const FALSE = ['0', 'false', 'no', 'off'];

/** `1/true/yes/on` or `0/false/no/off` (any case); `undefined` when unset or not a boolean. */
export function parseBoolean(raw: string | undefined): boolean | undefined {
  if (raw === undefined || raw === '') return undefined;
  const v = raw.trim().toLowerCase();
  return TRUE.includes(v) ? true : FALSE.includes(v) ? false : undefined;
}

function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let previous = row[0] as number;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const current = row[j] as number;
      row[j] = Math.min(current + 1, (row[j - 1] as number) + 1, previous + (a[i - 1] === b[j - 1] ? 0 : 1));
      previous = current;
    }
  }
  return row[b.length] as number;
}

function checkValue(name: string, spec: Spec, raw: string): string | undefined {
  const kind = spec.kind;
  if (kind === 'boolean' && parseBoolean(raw) === undefined) return `${name}: must be one of 1/true/yes or 0/false/no, got "${raw}"`;
  if (kind === 'positive' && !(Number.isFinite(Number(raw)) && Number(raw) > 0)) return `${name}: must be a positive number, got "${raw}"`;
  if (kind === 'positive-or-off' && raw.toLowerCase() !== 'off' && !(Number.isFinite(Number(raw)) && Number(raw) > 0)) return `${name}: must be a positive number or off, got "${raw}"`;
  if (kind === 'port' && !(name === 'TRIBUTARY_HTTP_PORT' && raw.toLowerCase() === 'off') && !(/^\d+$/.test(raw) && Number(raw) <= 65535))
    return `${name}: must be a port number 0-65535${name === 'TRIBUTARY_HTTP_PORT' ? ' or off' : ''}, got "${raw}"`;
  if (typeof kind === 'object' && !kind.oneOf.includes(raw.toLowerCase())) return `${name}: must be one of ${kind.oneOf.join(', ')}, got "${raw}"`;
  return undefined;
}

/** Parses the environment; `problems` names each one (empty when the settings are usable). */
export function parseSettings(env: NodeJS.ProcessEnv, options: { readonly local?: boolean } = {}): { settings: Settings; problems: string[] } {
  const problems: string[] = [];
  const names = Object.keys(SETTINGS);
  for (const name of Object.keys(env)) {
    if (!name.startsWith('TRIBUTARY_') || SETTINGS[name] !== undefined) continue;
    const near = names.filter((n) => n.startsWith('TRIBUTARY_')).sort((a, b) => distance(name, a) - distance(name, b))[0];
    problems.push(`${name}: not a Tributary setting${near !== undefined && distance(name, near) <= 4 ? `; did you mean ${near}?` : ''}`);
  }
  const get = (name: string): string | undefined => {
    const raw = env[name]?.trim();
    if (raw === undefined || raw === '') return undefined;
    const problem = checkValue(name, SETTINGS[name] as Spec, raw);
    if (problem !== undefined) {
      problems.push(problem);
      return undefined;
    }
    return raw;
  };
  const positive = (name: string) => (get(name) === undefined ? undefined : Number(get(name)));
  for (const name of names) if (!['TRIBUTARY_BROKERS'].includes(name)) get(name);
  problems.splice(0, problems.length, ...new Set(problems));

  const local = options.local === true || parseBoolean(env.TRIBUTARY_LOCAL) === true;
  const brokers = (env.TRIBUTARY_BROKERS ?? '').split(',').map((b) => b.trim()).filter(Boolean);
  if (brokers.length === 0 && !local) problems.push('TRIBUTARY_BROKERS: required (host:port, comma-separated); set TRIBUTARY_LOCAL=1 or pass --local to use the local stack');
  for (const broker of brokers) if (!/^[^:\s]+:\d+$/.test(broker)) problems.push(`TRIBUTARY_BROKERS: "${broker}" is not host:port`);

  const mechanism = get('TRIBUTARY_KAFKA_SASL_MECHANISM')?.toLowerCase() as SaslMechanism | undefined;
  const username = get('TRIBUTARY_KAFKA_SASL_USERNAME');
  const password = get('TRIBUTARY_KAFKA_SASL_PASSWORD');
  if (mechanism !== undefined && mechanism !== 'aws-msk-iam' && (username === undefined || password === undefined))
    problems.push(`TRIBUTARY_KAFKA_SASL_USERNAME and TRIBUTARY_KAFKA_SASL_PASSWORD: both required with ${mechanism}`);
  if (mechanism === undefined && (username !== undefined || password !== undefined)) problems.push('TRIBUTARY_KAFKA_SASL_MECHANISM: required when a SASL username or password is set');
  const kafkaTls = parseBoolean(get('TRIBUTARY_KAFKA_TLS')) ?? false;
  if (mechanism === 'aws-msk-iam' && !kafkaTls) problems.push('TRIBUTARY_KAFKA_TLS: MSK IAM needs TLS (set TRIBUTARY_KAFKA_TLS=true; brokers on port 9098)');
  const region = get('AWS_REGION') ?? get('AWS_DEFAULT_REGION');
  if (mechanism === 'aws-msk-iam' && region === undefined) problems.push('AWS_REGION: required with aws-msk-iam (the region of the MSK cluster)');
  if ((get('AWS_ACCESS_KEY_ID') === undefined) !== (get('AWS_SECRET_ACCESS_KEY') === undefined)) problems.push('AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY: set both or neither');

  const httpRaw = get('TRIBUTARY_HTTP_PORT');
  const settings: Settings = Object.freeze({
    local,
    brokers: Object.freeze(brokers),
    kafkaTls,
    sasl: mechanism === undefined ? undefined : Object.freeze({ mechanism, ...(username === undefined ? {} : { username }), ...(password === undefined ? {} : { password }) }),
    region,
    maxInflightRecords: positive('TRIBUTARY_MAX_INFLIGHT_RECORDS'),
    maxInflightBytes: positive('TRIBUTARY_MAX_INFLIGHT_BYTES'),
    commitIntervalMs: positive('TRIBUTARY_COMMIT_INTERVAL_MS'),
    shutdownTimeoutMs: positive('TRIBUTARY_SHUTDOWN_TIMEOUT_MS'),
    groupProtocol: get('TRIBUTARY_GROUP_PROTOCOL')?.toLowerCase() as Settings['groupProtocol'],
    logLevel: get('LOG_LEVEL')?.toLowerCase(),
    httpPort: httpRaw === undefined ? 9464 : httpRaw.toLowerCase() === 'off' ? undefined : Number(httpRaw),
    progress: (get('TRIBUTARY_PROGRESS')?.toLowerCase() ?? 'auto') as Settings['progress'],
    logFile: get('TRIBUTARY_LOG_FILE'),
    emf: parseBoolean(get('TRIBUTARY_EMF')) ?? false,
    emfIntervalMs: positive('TRIBUTARY_EMF_INTERVAL_MS') ?? 60_000,
    emfNamespace: get('TRIBUTARY_EMF_NAMESPACE') ?? 'Tributary',
  });
  return { settings, problems: [...new Set(problems)] };
}

/** The settings, or a ConfigError listing every problem. */
export function loadSettings(env: NodeJS.ProcessEnv, options: { readonly local?: boolean } = {}): Settings {
  const { settings, problems } = parseSettings(env, options);
  if (problems.length > 0) throw new ConfigError(problems);
  return settings;
}

/** One line per setting: its effective value (secrets masked) and where it came from. */
export function describeSettings(env: NodeJS.ProcessEnv, options: { readonly local?: boolean } = {}): string {
  const local = options.local === true || parseBoolean(env.TRIBUTARY_LOCAL) === true;
  const width = Math.max(...Object.keys(SETTINGS).map((n) => n.length));
  return Object.entries(SETTINGS)
    .map(([name, spec]) => {
      const raw = env[name];
      const set = raw !== undefined && raw !== '';
      const shown = !set ? (name === 'TRIBUTARY_LOCAL' && local ? 'true (--local)' : spec.default === undefined ? '(unset)' : `${spec.default} (default)`) : spec.kind === 'secret' ? '******** (set)' : raw;
      return `${name.padEnd(width)}  ${shown}`;
    })
    .join('\n');
}
