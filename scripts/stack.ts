/**
 * The local stack: Apache Kafka (KRaft, one combined node), DynamoDB Local and versitygw (S3), run
 * from artifacts fetched once into a cache outside git (`TRIBUTARY_CACHE`, default
 * `~/.cache/tributary`). Logs, data and pid files live in `.stack/` at the repository root.
 *
 *   node scripts/stack.ts up | down | status
 *   node scripts/stack.ts start <kafka|dynamodb|s3> | stop <kafka|dynamodb|s3>
 *
 * `up` reuses a service that already answers on its port, and starts the others; `down` stops only
 * the processes whose pid files `up` wrote. `start` and `stop` act on one service and keep its data,
 * so a fault test can bounce it: with `TRIBUTARY_STACK_DIR` and the port variables a private
 * instance runs beside the shared stack. `TRIBUTARY_DYNAMODB_DB_PATH` keeps DynamoDB Local's tables
 * on disk there (in memory they would not survive a stop).
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { Admin } from '@platformatic/kafka';
import { createDynamoClient, localStack } from '../src/config.ts';
import { StackError } from '../src/core/errors.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const cache = process.env.TRIBUTARY_CACHE ?? join(homedir(), '.cache', 'tributary');
const state = process.env.TRIBUTARY_STACK_DIR ?? join(root, '.stack');
const { ports, connections } = localStack();

const KAFKA_LIB = join(cache, 'kafka', 'lib');
const DYNAMODB_LIB = join(cache, 'dynamodb', 'lib');
const VERSITYGW = join(cache, 'bin', 'versitygw');
const VERSITYGW_VERSION = 'v1.8.0';

interface Service {
  name: 'kafka' | 'dynamodb' | 's3';
  port: number;
  ensureArtifacts(): Promise<void>;
  prepare(): void;
  command(): { cmd: string; args: string[] };
  ready(): Promise<boolean>;
}

const log = (message: string) => process.stderr.write(`[stack] ${message}\n`);

function requireTool(tool: string, hint: string): void {
  const probe = spawnSync(tool, ['-version'], { stdio: 'ignore' });
  if (probe.error) throw new StackError(`${tool} is not installed or not on PATH: ${hint}`);
}

function run(cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = process.env): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    child.on('error', (error) => reject(new StackError(`${cmd} failed to start: ${error.message}`, { cause: error })));
    child.on('exit', (code) =>
      code === 0 ? resolve() : reject(new StackError(`${cmd} ${args.join(' ')} exited ${code}:\n${output.slice(-4000)}`)),
    );
  });
}

async function mavenCopy(pomDir: string, lib: string, label: string): Promise<void> {
  const marker = join(lib, '.complete');
  if (existsSync(marker)) return;
  requireTool('mvn', 'install Maven 3.8+ (apt-get install maven) to fetch the stack from Maven Central');
  log(`fetching ${label} from Maven Central into ${lib} (once; about a minute)`);
  const started = Date.now();
  await run('mvn', ['-q', '-B', 'dependency:copy-dependencies', `-DoutputDirectory=${lib}`], pomDir);
  writeFileSync(marker, new Date().toISOString());
  log(`${label} fetched in ${((Date.now() - started) / 1000).toFixed(0)} s`);
}

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    socket.setTimeout(1000);
    socket.once('connect', () => (socket.destroy(), resolve(true)));
    socket.once('error', () => resolve(false));
    socket.once('timeout', () => (socket.destroy(), resolve(false)));
  });
}

const kafka: Service = {
  name: 'kafka',
  port: ports.kafka,
  ensureArtifacts: () => mavenCopy(join(root, 'stack', 'kafka'), KAFKA_LIB, 'Apache Kafka 4.1.1'),
  prepare() {
    const dir = join(state, 'kafka');
    const data = join(dir, 'data');
    mkdirSync(dir, { recursive: true });
    writeFileSync(
      join(dir, 'server.properties'),
      [
        'process.roles=broker,controller',
        'node.id=1',
        `controller.quorum.bootstrap.servers=127.0.0.1:${ports.kafkaController}`,
        `listeners=PLAINTEXT://127.0.0.1:${ports.kafka},CONTROLLER://127.0.0.1:${ports.kafkaController}`,
        `advertised.listeners=PLAINTEXT://127.0.0.1:${ports.kafka}`,
        'controller.listener.names=CONTROLLER',
        'listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT',
        'inter.broker.listener.name=PLAINTEXT',
        `log.dirs=${data}`,
        'num.partitions=3',
        'offsets.topic.replication.factor=1',
        'offsets.topic.num.partitions=6',
        'transaction.state.log.replication.factor=1',
        'transaction.state.log.min.isr=1',
        'share.coordinator.state.topic.replication.factor=1',
        'share.coordinator.state.topic.min.isr=1',
        'group.initial.rebalance.delay.ms=0',
        // Room for oversized records, so that Tributary (not the broker) is what refuses them.
        'message.max.bytes=10485760',
        'replica.fetch.max.bytes=10485760',
        'log.segment.bytes=268435456',
        '',
      ].join('\n'),
    );
    writeFileSync(
      join(dir, 'log4j2.properties'),
      [
        'status=warn',
        'appender.out.type=Console',
        'appender.out.name=out',
        'appender.out.layout.type=PatternLayout',
        'appender.out.layout.pattern=[%d] %p %m (%c)%n',
        'rootLogger.level=INFO',
        'rootLogger.appenderRef.out.ref=out',
        'logger.log.name=kafka.log',
        'logger.log.level=WARN',
        'logger.storage.name=org.apache.kafka.storage',
        'logger.storage.level=WARN',
        '',
      ].join('\n'),
    );
    if (!existsSync(join(data, 'meta.properties'))) {
      const cp = `${KAFKA_LIB}/*`;
      const id = spawnSync('java', ['-cp', cp, 'kafka.tools.StorageTool', 'random-uuid'], { encoding: 'utf8' });
      const clusterId = id.stdout.trim().split('\n').pop();
      if (id.status !== 0 || !clusterId) throw new StackError(`Kafka StorageTool random-uuid failed: ${id.stderr}`);
      const format = spawnSync(
        'java',
        ['-cp', cp, `-Dlog4j2.configurationFile=${join(dir, 'log4j2.properties')}`, 'kafka.tools.StorageTool', 'format', '--standalone', '-t', clusterId, '-c', join(dir, 'server.properties')],
        { encoding: 'utf8' },
      );
      if (format.status !== 0) throw new StackError(`Kafka storage format failed: ${format.stdout}${format.stderr}`);
    }
  },
  command: () => ({
    cmd: 'java',
    args: [
      `-Xms${process.env.TRIBUTARY_KAFKA_HEAP ?? '512m'}`,
      `-Xmx${process.env.TRIBUTARY_KAFKA_HEAP ?? '512m'}`,
      `-Dlog4j2.configurationFile=${join(state, 'kafka', 'log4j2.properties')}`,
      '-cp',
      `${KAFKA_LIB}/*`,
      'kafka.Kafka',
      join(state, 'kafka', 'server.properties'),
    ],
  }),
  async ready() {
    // An open port is not enough: the broker must answer a metadata request.
    const admin = new Admin({ clientId: 'tributary-stack', bootstrapBrokers: [...connections.brokers], timeout: 2000, retries: 0 });
    try {
      await admin.listTopics();
      return true;
    } catch {
      return false;
    } finally {
      await admin.close().catch(() => {});
    }
  },
};

const dynamodb: Service = {
  name: 'dynamodb',
  port: ports.dynamodb,
  ensureArtifacts: () => mavenCopy(join(root, 'stack', 'dynamodb'), DYNAMODB_LIB, 'DynamoDB Local 3.3.1'),
  prepare() {
    mkdirSync(join(state, 'dynamodb'), { recursive: true });
    if (process.env.TRIBUTARY_DYNAMODB_DB_PATH) mkdirSync(process.env.TRIBUTARY_DYNAMODB_DB_PATH, { recursive: true });
  },
  command: () => ({
    cmd: 'java',
    args: [
      `-Xmx${process.env.TRIBUTARY_DYNAMODB_HEAP ?? '768m'}`,
      `-Djava.io.tmpdir=${join(state, 'dynamodb')}`,
      '-cp',
      `${DYNAMODB_LIB}/*`,
      'software.amazon.dynamodb.services.local.main.ServerRunner',
      '-port',
      String(ports.dynamodb),
      '-disableTelemetry',
      ...(process.env.TRIBUTARY_DYNAMODB_DB_PATH ? ['-dbPath', process.env.TRIBUTARY_DYNAMODB_DB_PATH] : ['-inMemory']),
      '-sharedDb',
    ],
  }),
  async ready() {
    const client = createDynamoClient(connections);
    try {
      await client.send(new ListTablesCommand({ Limit: 1 }), { abortSignal: AbortSignal.timeout(2000) });
      return true;
    } catch {
      return false;
    } finally {
      client.destroy();
    }
  },
};

const s3: Service = {
  name: 's3',
  port: ports.s3,
  async ensureArtifacts() {
    if (existsSync(VERSITYGW)) return;
    const go = spawnSync('go', ['version'], { stdio: 'ignore' });
    if (go.error) throw new StackError('go is not installed or not on PATH: it builds the S3 server (versitygw) once');
    log(`building versitygw ${VERSITYGW_VERSION} with go install into ${dirname(VERSITYGW)} (once; 2-3 minutes)`);
    const started = Date.now();
    await run('go', ['install', '-ldflags=-s -w', `github.com/versity/versitygw/cmd/versitygw@${VERSITYGW_VERSION}`], root, {
      ...process.env,
      GOBIN: dirname(VERSITYGW),
    });
    log(`versitygw built in ${((Date.now() - started) / 1000).toFixed(0)} s`);
  },
  prepare() {
    mkdirSync(join(state, 's3', 'data'), { recursive: true });
  },
  command: () => ({
    cmd: VERSITYGW,
    args: [
      '--access', connections.credentials.accessKeyId,
      '--secret', connections.credentials.secretAccessKey,
      '--port', `127.0.0.1:${ports.s3}`,
      '--region', connections.region,
      '--health', '/health',
      '--quiet',
      'posix', join(state, 's3', 'data'),
    ],
  }),
  async ready() {
    try {
      const response = await fetch(`http://127.0.0.1:${ports.s3}/health`, { signal: AbortSignal.timeout(2000) });
      return response.ok;
    } catch {
      return false;
    }
  },
};

const SERVICES = [kafka, dynamodb, s3];
const pidFile = (service: Service) => join(state, `${service.name}.pid`);
const logFile = (service: Service) => join(state, `${service.name}.log`);

function pidOf(service: Service): number | undefined {
  if (!existsSync(pidFile(service))) return undefined;
  const pid = Number(readFileSync(pidFile(service), 'utf8'));
  try {
    process.kill(pid, 0);
    return pid;
  } catch {
    return undefined;
  }
}

async function waitReady(service: Service, pid: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await service.ready()) return;
    try {
      process.kill(pid, 0);
    } catch {
      throw new StackError(`${service.name} exited during start; see ${logFile(service)}:\n${tail(logFile(service))}`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new StackError(`${service.name} was not ready after ${timeoutMs / 1000} s; see ${logFile(service)}`);
}

function tail(file: string): string {
  return existsSync(file) ? readFileSync(file, 'utf8').split('\n').slice(-20).join('\n') : '';
}

async function start(service: Service): Promise<'reused' | 'started'> {
  if (await service.ready()) return 'reused';
  if (await portOpen(service.port)) {
    // A service on a loaded machine can miss one 2 s probe: give it a while before calling the port foreign.
    for (const deadline = Date.now() + 30_000; Date.now() < deadline; await new Promise((r) => setTimeout(r, 1000))) {
      if (await service.ready()) return 'reused';
    }
    throw new StackError(
      `port ${service.port} is taken by a process that is not a ready ${service.name}; stop it, or move the stack with TRIBUTARY_${service.name.toUpperCase()}_PORT`,
    );
  }
  await service.ensureArtifacts();
  service.prepare();
  const { cmd, args } = service.command();
  const out = openSync(logFile(service), 'a');
  const child = spawn(cmd, args, { cwd: state, detached: true, stdio: ['ignore', out, out] });
  await new Promise<void>((resolve, reject) => {
    child.once('spawn', resolve);
    child.once('error', (e) => reject(new StackError(`${cmd} could not start: ${e.message}`, { cause: e })));
  });
  child.unref();
  writeFileSync(pidFile(service), String(child.pid));
  await waitReady(service, child.pid as number, 90_000);
  return 'started';
}

/** Starts every service that is not already running; resolves when all three answer. */
export async function up(): Promise<void> {
  requireTool('java', 'install a JDK 17+ (apt-get install openjdk-17-jre-headless): Kafka and DynamoDB Local run on it');
  mkdirSync(state, { recursive: true });
  mkdirSync(cache, { recursive: true });
  const started = Date.now();
  // Fetch everything first, in parallel: on a fresh machine this is most of the time.
  await Promise.all(SERVICES.map((s) => s.ensureArtifacts()));
  const fetched = Date.now();
  const results = await Promise.all(
    SERVICES.map(async (service) => {
      const t0 = Date.now();
      const how = await start(service);
      return `${service.name} ${how} on 127.0.0.1:${service.port} (${((Date.now() - t0) / 1000).toFixed(1)} s)`;
    }),
  );
  for (const line of results) log(line);
  log(`stack ready in ${((Date.now() - started) / 1000).toFixed(1)} s (artifacts ${((fetched - started) / 1000).toFixed(1)} s); logs in ${state}`);
}

/** Stops one service `up` or `start` started (by pid file): SIGTERM, then SIGKILL after 15 s. */
async function stop(service: Service): Promise<void> {
  const pid = pidOf(service);
  rmSync(pidFile(service), { force: true });
  if (pid === undefined) return;
  process.kill(-pid, 'SIGTERM');
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    try {
      process.kill(pid, 0);
      await new Promise((r) => setTimeout(r, 200));
    } catch {
      break;
    }
  }
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // already gone
  }
  log(`${service.name} stopped (pid ${pid})`);
}

/** Stops the services `up` started (by pid file); leaves anything else alone. */
export async function down(): Promise<void> {
  for (const service of SERVICES) await stop(service);
  // In-memory DynamoDB and a test-only broker: nothing worth keeping between stacks.
  rmSync(join(state, 'kafka', 'data'), { recursive: true, force: true });
}

function serviceNamed(name: string | undefined): Service {
  const service = SERVICES.find((s) => s.name === name);
  if (service === undefined) throw new StackError(`unknown service ${JSON.stringify(name)}: kafka, dynamodb or s3`);
  return service;
}

/** Starts one service (reused if it answers already), keeping its data from an earlier run. */
export async function startService(name: string | undefined): Promise<void> {
  const service = serviceNamed(name);
  mkdirSync(state, { recursive: true });
  const t0 = Date.now();
  const how = await start(service);
  log(`${service.name} ${how} on 127.0.0.1:${service.port} (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
}

/** Stops one service this script started, keeping its data for the next `start`. */
export async function stopService(name: string | undefined): Promise<void> {
  await stop(serviceNamed(name));
}

export async function status(): Promise<boolean> {
  let all = true;
  for (const service of SERVICES) {
    const ok = await service.ready();
    all &&= ok;
    const pid = pidOf(service);
    log(`${service.name.padEnd(8)} ${ok ? 'ready' : 'down '} 127.0.0.1:${service.port}${pid ? ` pid ${pid}` : ''}`);
  }
  return all;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [command, name] = process.argv.slice(2);
  const action =
    command === 'up' ? up
    : command === 'down' ? down
    : command === 'status' ? status
    : command === 'start' ? () => startService(name)
    : command === 'stop' ? () => stopService(name)
    : undefined;
  if (!action) {
    log('usage: node scripts/stack.ts up | down | status | start <service> | stop <service>');
    process.exit(2);
  }
  action().then(
    (ok) => process.exit(ok === false ? 1 : 0),
    (error: unknown) => {
      log(error instanceof Error ? error.message : String(error));
      process.exit(1);
    },
  );
}
