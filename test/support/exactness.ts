/**
 * The exactness harness: the default topology run as separate `tributary run` processes (killed
 * with SIGKILL, stopped with SIGTERM) and its input fed in paced segments. The group is watched in
 * exactness-group.ts, outputs are read back and compared in exactness-check.ts.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, openSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Admin, Producer, stringSerializers } from '@platformatic/kafka';
import { onTestFinished } from 'vitest';
import { connectionsFromEnv } from '../../src/config.ts';
import { loadTopologyFile } from '../../src/topology/load.ts';
import { provisionTopology } from '../../src/topology/provision.ts';
import { TOPICS, type InputRecord } from './exactness-input.ts';
import { dropStores } from './exactness-check.ts';
import { GroupWatch } from './exactness-group.ts';
import { brokers, uniqueName } from './stack.ts';

const ROOT = resolve(import.meta.dirname, '../..');
const NODE = existsSync(join(ROOT, 'node_modules/.bin/node')) ? join(ROOT, 'node_modules/.bin/node') : process.execPath;
const YAML = 'topologies/game-events.yaml';
/** Names the logical instance a process is: a restart keeps it, so static membership can apply. */
/** One pino line of an instance's log. */
export type LogLine = { readonly msg?: string; readonly level?: number; readonly [field: string]: unknown };

export const INSTANCE_ID_ENV = 'TRIBUTARY_GROUP_INSTANCE_ID';
/** Registers a clean-up to run when the run is over: vitest's `onTestFinished` in tests, a list in the bench. */
export type OnFinished = (cleanUp: () => Promise<void>) => void;

export interface Instance {
  readonly name: string;
  readonly child: ChildProcess;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  alive: boolean;
}

/** One run: its names, log directory, instances, group watch and clean-up. */
export class ExactnessRun {
  readonly tag = uniqueName('exact');
  readonly tablePrefix = `${this.tag.replace('-', '_')}_`;
  readonly logDir = mkdtempSync(join(tmpdir(), `${this.tag}-`));
  readonly instances: Instance[] = [];
  readonly env: NodeJS.ProcessEnv;
  readonly watch: GroupWatch;
  readonly #t0 = performance.now();

  constructor(env: Record<string, string> = {}, onFinished: OnFinished = onTestFinished) {
    const inherited = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('VITEST')));
    this.env = {
      ...inherited,
      // The local stack, and a free port for each instance's HTTP server (several run at once).
      TRIBUTARY_LOCAL: '1',
      TRIBUTARY_HTTP_PORT: '0',
      TOPIC_PREFIX: `${this.tag}-`,
      TABLE_PREFIX: this.tablePrefix,
      EVENTS_BUCKET: this.tag,
      CONSUMER_GROUP: this.tag,
      // Longer than any takeover (session timeout 30 s): windows close on event time, from the ticks
      // every upstream partition ends with (watermark markers carry them across the repartition topic).
      WINDOW_IDLE_TIMEOUT: '2m',
      PARQUET_ROTATION_INTERVAL: '5s',
      TRIBUTARY_COMMIT_INTERVAL_MS: '1000',
      LOG_LEVEL: 'info',
      ...env,
    };
    this.watch = new GroupWatch(this.tag, TOPICS.map((t) => this.topic(t)));
    onFinished(() => this.#cleanUp());
  }

  topic(name: string): string {
    return `${this.tag}-${name}`;
  }

  table(name: string): string {
    return `${this.tablePrefix}${name}`;
  }

  /** Seconds since the run began, for the log. */
  get elapsed(): string {
    return ((performance.now() - this.#t0) / 1000).toFixed(1);
  }

  log(message: string): void {
    console.log(`[${this.tag} +${this.elapsed}s] ${message}`);
  }

  async provision(): Promise<void> {
    const topology = await loadTopologyFile(YAML, { env: this.env });
    await provisionTopology(topology, connectionsFromEnv(this.env), { partitions: 3 });
  }

  /**
   * Starts `tributary run` on the default topology, stdout and stderr to `<logDir>/<name>.log`;
   * `instanceId` (default `name`) goes to the process as INSTANCE_ID_ENV.
   */
  spawn(name: string, instanceId = name): Instance {
    const out = openSync(join(this.logDir, `${name}.log`), 'a');
    const env = { ...this.env, [INSTANCE_ID_ENV]: `${this.tag}-${instanceId}` };
    const child = spawn(NODE, ['src/cli.ts', 'run', YAML], { cwd: ROOT, env, stdio: ['ignore', out, out], detached: true });
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((done) => child.once('exit', (code, signal) => done({ code, signal })));
    const instance: Instance = { name, child, exited, alive: true };
    void exited.then(() => (instance.alive = false));
    this.instances.push(instance);
    this.log(`started ${name} (pid ${child.pid})`);
    return instance;
  }

  /** Every JSON line the instances logged so far (pino: `msg`, `level` and the fields), in file order. */
  instanceLogs(): LogLine[] {
    const lines = this.instances.flatMap((i) => readFileSync(join(this.logDir, `${i.name}.log`), 'utf8').split('\n'));
    return lines.flatMap((line) => {
      if (!line.startsWith('{')) return [];
      try {
        return [JSON.parse(line) as LogLine];
      } catch {
        return [];
      }
    });
  }

  async kill(instance: Instance, signal: 'SIGKILL' | 'SIGTERM'): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    instance.child.kill(signal);
    const result = await instance.exited;
    this.log(`${instance.name} ${signal === 'SIGKILL' ? 'killed' : 'stopped'}: ${JSON.stringify(result)}`);
    return result;
  }

  /** SIGTERM to every live instance; returns their exit codes by name. */
  async stopAll(): Promise<Record<string, number | null>> {
    const live = this.instances.filter((i) => i.alive);
    const results = await Promise.all(live.map((i) => this.kill(i, 'SIGTERM')));
    return Object.fromEntries(live.map((i, n) => [i.name, results[n]?.code ?? null]));
  }

  async #cleanUp(): Promise<void> {
    for (const i of this.instances) if (i.alive) i.child.kill('SIGKILL');
    await this.watch.close();
    if (process.env.TRIBUTARY_KEEP_EXACTNESS === '1') return;
    const admin = new Admin({ clientId: `${this.tag}-cleanup`, bootstrapBrokers: brokers });
    try {
      const topics = (await admin.listTopics()).filter((t) => t.includes(this.tag));
      if (topics.length > 0) await admin.deleteTopics({ topics });
      await admin.deleteGroups({ groups: [this.tag] }).catch(() => {});
    } finally {
      await admin.close();
    }
    await dropStores(this.tag, this.tablePrefix);
  }
}

/**
 * Produces the input in segments, each paced over `segmentMs`, strictly one after another (the
 * order of the records is part of the input).
 */
export class Feeder {
  readonly #segments: InputRecord[][];
  readonly #producer: Producer<string, string, string, string>;
  readonly #prefix: string;
  readonly #segmentMs: number;
  readonly #started: Promise<void>[] = [];
  #last: Promise<void> = Promise.resolve();
  produced = 0;

  constructor(records: readonly InputRecord[], segments: number, topicPrefix: string, segmentMs: number, onFinished: OnFinished = onTestFinished) {
    const size = Math.ceil(records.length / segments);
    this.#segments = Array.from({ length: segments }, (_, k) => records.slice(k * size, (k + 1) * size));
    this.#prefix = topicPrefix;
    this.#segmentMs = segmentMs;
    this.#producer = new Producer({ clientId: `${topicPrefix}feeder`, bootstrapBrokers: brokers, serializers: stringSerializers, idempotent: true, acks: -1 });
    onFinished(() => this.#producer.close().catch(() => {}));
  }

  get segments(): number {
    return this.#segments.length;
  }

  /** Starts segment `k` (and any before it not yet started); resolves when it is produced. */
  start(k: number): Promise<void> {
    for (let j = 0; j <= k; j++) {
      if (this.#started[j] !== undefined) continue;
      this.#last = this.#last.then(() => this.#produce(this.#segments[j] ?? []));
      this.#started[j] = this.#last;
    }
    return this.#started[k] as Promise<void>;
  }

  /** Resolves when every segment is produced. */
  all(): Promise<void> {
    return this.start(this.#segments.length - 1);
  }

  async #produce(records: readonly InputRecord[]): Promise<void> {
    const chunks = 20;
    const size = Math.ceil(records.length / chunks);
    const begin = performance.now();
    for (let c = 0; c < chunks; c++) {
      const chunk = records.slice(c * size, (c + 1) * size);
      if (chunk.length > 0) {
        await this.#producer.send({
          messages: chunk.map((r) => ({ topic: `${this.#prefix}${r.topic}`, key: r.key, value: r.value, ...(r.partition === undefined ? {} : { partition: r.partition }) })),
        });
      }
      this.produced += chunk.length;
      const wait = begin + ((c + 1) * this.#segmentMs) / chunks - performance.now();
      if (wait > 0) await sleep(wait);
    }
  }
}
