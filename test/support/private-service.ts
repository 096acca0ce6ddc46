/**
 * A private instance of one local-stack service, for fault tests that stop and start it: its own
 * free ports and state directory, started and stopped with `scripts/stack.ts start|stop <service>`,
 * so the shared stack (which other tests and engineers use) is never touched.
 *
 * ```ts
 * const kafka = await privateService('kafka');
 * await kafka.start();
 * const child = startSomething({ ...kafka.env });   // TRIBUTARY_KAFKA_PORT etc.
 * await kafka.stop(); ... await kafka.start();
 * await kafka.dispose();                          // stops it and removes its directory
 * ```
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { localStack, type Connections } from '../../src/config.ts';

const root = join(import.meta.dirname, '..', '..');
const NODE = join(root, 'node_modules', '.bin', 'node');

export type ServiceName = 'kafka' | 'dynamodb' | 's3';

export interface PrivateService {
  readonly name: ServiceName;
  /** The variables that point `localStack()` (and so a Tributary child) at this instance. */
  readonly env: Readonly<Record<string, string>>;
  readonly connections: Connections;
  readonly dir: string;
  /** Starts it and waits until it answers; resolves with the milliseconds that took. */
  start(): Promise<number>;
  /** Stops it (SIGTERM, then SIGKILL), keeping its data; resolves with the milliseconds that took. */
  stop(): Promise<number>;
  /** Stops it and removes its directory. */
  dispose(): Promise<void>;
}

/** A port nothing listens on now. */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

function stack(command: 'start' | 'stop', name: ServiceName, env: Record<string, string>): Promise<number> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(NODE, [join(root, 'scripts', 'stack.ts'), command, name], { cwd: root, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d));
    child.stderr.on('data', (d: Buffer) => (output += d));
    child.on('exit', (code) => (code === 0 ? resolve(Date.now() - started) : reject(new Error(`stack ${command} ${name} exited ${code}:\n${output.slice(-3000)}`))));
  });
}

/** A private instance of `name` (not started yet). */
export async function privateService(name: ServiceName): Promise<PrivateService> {
  const dir = mkdtempSync(join(tmpdir(), `tributary-${name}-`));
  const env: Record<string, string> = { TRIBUTARY_STACK_DIR: dir };
  if (name === 'kafka') {
    env.TRIBUTARY_KAFKA_PORT = String(await freePort());
    env.TRIBUTARY_KAFKA_CONTROLLER_PORT = String(await freePort());
  }
  let dbDir: string | undefined;
  if (name === 'dynamodb') {
    env.TRIBUTARY_DYNAMODB_PORT = String(await freePort());
    // On disk, so the tables survive a stop; on a RAM disk where there is one: DynamoDB Local's
    // SQLite syncs every write, which on a busy disk makes it a few dozen items a second.
    dbDir = existsSync('/dev/shm') ? mkdtempSync('/dev/shm/tributary-dynamodb-') : join(dir, 'dynamodb', 'db');
    env.TRIBUTARY_DYNAMODB_DB_PATH = dbDir;
  }
  if (name === 's3') env.TRIBUTARY_S3_PORT = String(await freePort());
  // Only this service moves: the others stay the shared stack's.
  const connections = localStack({ ...process.env, ...env }).connections;
  return {
    name,
    env,
    connections,
    dir,
    start: () => stack('start', name, env),
    stop: () => stack('stop', name, env),
    async dispose() {
      await stack('stop', name, env).catch(() => {});
      rmSync(dir, { recursive: true, force: true });
      if (dbDir !== undefined) rmSync(dbDir, { recursive: true, force: true });
    },
  };
}
