/**
 * What the outage tests share: the traffic (generated events with injected duplicates, whose ground
 * truth is the set of distinct events), the Tributary child process (its logs, status lines and
 * RSS), and the read-back of what it wrote, compared with the ground truth.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { DeleteTableCommand } from '@aws-sdk/client-dynamodb';
import { Admin, Producer, stringSerializer } from '@platformatic/kafka';
import { expect, onTestFinished } from 'vitest';
import { createDynamoClient, createS3Client, type Connections } from '../../src/config.ts';
import { scanTable } from '../../src/sinks/dynamodb-table.ts';
import { provisionTopology } from '../../src/topology/provision.ts';
import { validateTopology } from '../../src/topology/validate.ts';
import { query } from '../sinks/parquet/duckdb.ts';
import { download } from '../sinks/s3-parquet-s3.ts';
import type { PrivateService } from '../support/private-service.ts';
import { connections, deleteBucket, uniqueName } from '../support/stack.ts';
import { outagesTopology, type OutageSink } from './fixtures/outages.topology.ts';
import { committedOffsets, endOffsets, readTopic } from './support.ts';

const root = join(import.meta.dirname, '..', '..');
const NODE = join(root, 'node_modules', '.bin', 'node');

/** Event time of every generated event: one hour, so Parquet files land in one or two prefixes. */
const T0 = Date.UTC(2026, 10, 23, 10, 0, 0);

/**
 * Generated traffic on `<tag>-events`: `perSecond` events a second, keyed by user, each 40th one
 * sent once more later (a producer retry: same key, same `event_id`). `truth` holds each distinct
 * event once.
 */
export class Traffic {
  readonly truth = new Map<string, number>();
  sent = 0;
  #next = 0;
  #producer: Producer<Buffer, Buffer, string, string> | undefined;
  #timer: NodeJS.Timeout | undefined;
  #sending: Promise<void> = Promise.resolve();
  readonly #brokers: readonly string[];
  readonly #topic: string;
  readonly #perTick: number;

  constructor(brokers: readonly string[], topic: string, perSecond: number) {
    this.#brokers = brokers;
    this.#topic = topic;
    this.#perTick = Math.max(1, Math.round(perSecond / 10));
  }

  /** Sends `count` events at once (a backlog). */
  async burst(count: number): Promise<void> {
    for (let done = 0; done < count; done += 2000) await this.#send(Math.min(2000, count - done));
  }

  /** Starts sending every 100 ms. */
  start(): void {
    const tick = () => {
      this.#sending = this.#send(this.#perTick).catch((error: unknown) => console.error('traffic send failed', error));
      this.#timer = setTimeout(() => void this.#sending.then(tick), 100);
    };
    tick();
  }

  /** Stops sending (waits for the send under way) and closes the producer. */
  async stop(): Promise<void> {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.#sending;
    await this.#producer?.close().catch(() => {});
    this.#producer = undefined;
  }

  async #send(count: number): Promise<void> {
    this.#producer ??= new Producer({
      clientId: uniqueName('outage-traffic'),
      bootstrapBrokers: [...this.#brokers],
      idempotent: true,
      serializers: { headerKey: stringSerializer, headerValue: stringSerializer },
    });
    const messages = [];
    for (let i = 0; i < count; i++) {
      const n = this.#next++;
      // Every 40th message repeats the event sent 25 before it.
      const event = n % 40 === 39 ? n - 25 : n;
      const id = `e${event}`;
      this.truth.set(id, event);
      const user = `u${event % 97}`;
      messages.push({ topic: this.#topic, key: Buffer.from(user), value: Buffer.from(JSON.stringify({ event_id: id, user_id: user, n: event, timestamp: T0 + event * 50 })) });
    }
    await this.#producer.send({ messages });
    this.sent += count;
  }
}

export interface StatusLine {
  readonly at: number;
  readonly ready: boolean;
  readonly unavailable: string[];
  readonly inflight: { records: number; bytes: number; paused: boolean };
  readonly rss: number;
  readonly heapUsed: number;
  readonly read: number;
  readonly written: number;
  readonly commits: number;
  readonly pauses: number;
}

export interface LogLine {
  readonly at: number;
  readonly level: number;
  readonly msg: string;
  readonly [field: string]: unknown;
}

/** The Tributary child: its log lines and status lines as they come. */
export class TributaryChild {
  readonly process: ChildProcess;
  readonly logs: LogLine[] = [];
  readonly statuses: StatusLine[] = [];
  readonly exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  #tail = '';
  #output = '';

  constructor(env: Record<string, string>) {
    this.process = spawn(NODE, [join(import.meta.dirname, 'fixtures', 'topology-child.ts')], {
      cwd: root,
      env: { ...process.env, VITEST: '', LOG_LEVEL: 'info', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.process.stdout?.on('data', (chunk: Buffer) => this.#take(String(chunk)));
    // OUTAGE_LOG_DIR keeps each child's whole output, for a failure to look into.
    const dir = process.env.OUTAGE_LOG_DIR;
    if (dir) this.process.stdout?.pipe(createWriteStream(join(dir, `${env.TAG ?? 'child'}-${this.process.pid}.log`)));
    this.process.stderr?.on('data', (chunk: Buffer) => (this.#output += chunk));
    this.exit = new Promise((resolve) => this.process.once('exit', (code, signal) => resolve({ code, signal })));
  }

  #take(text: string): void {
    const lines = (this.#tail + text).split('\n');
    this.#tail = lines.pop() ?? '';
    for (const line of lines) {
      const parsed = line.startsWith('{') ? (JSON.parse(line) as { status?: StatusLine; time?: number; level?: number; msg?: string }) : undefined;
      if (parsed?.status !== undefined) {
        this.statuses.push(parsed.status);
        continue;
      }
      this.#output = `${this.#output}${line}\n`.slice(-200_000);
      if (parsed !== undefined) this.logs.push({ ...parsed, at: parsed.time ?? Date.now(), level: parsed.level ?? 0, msg: parsed.msg ?? '' });
    }
  }

  get alive(): boolean {
    return this.process.exitCode === null && this.process.signalCode === null;
  }

  get status(): StatusLine | undefined {
    return this.statuses.at(-1);
  }

  /** Log lines whose message is `msg` (optionally since `from`, epoch ms). */
  logged(msg: string | RegExp, from = 0): LogLine[] {
    return this.logs.filter((l) => l.at >= from && (typeof msg === 'string' ? l.msg === msg : msg.test(l.msg)));
  }

  /** The last output (logs, not status lines), and the last status, for failure messages. */
  output(): string {
    return `${this.#output.slice(-6000)}last status: ${JSON.stringify(this.status)}\n`;
  }

  /** RSS from /proc, the whole process's (the child's own status line says the same from inside). */
  rssBytes(): number | undefined {
    try {
      const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${this.process.pid}/status`, 'utf8'));
      return match ? Number(match[1]) * 1024 : undefined;
    } catch {
      return undefined;
    }
  }

  /** SIGTERM, then the exit code (0 after a clean drain, flush and commit). */
  async stop(): Promise<number | null> {
    if (this.alive) this.process.kill('SIGTERM');
    return (await this.exit).code;
  }
}

/** Resolves when `predicate()` holds, polling every 250 ms; rejects after `timeoutMs` with `what`. */
export async function until(what: string, predicate: () => boolean | Promise<boolean>, timeoutMs: number, child?: TributaryChild): Promise<number> {
  const started = Date.now();
  if (process.env.OUTAGE_DEBUG) console.log(`${new Date().toISOString()} waiting: ${what}`);
  while (!(await predicate())) {
    if (process.env.OUTAGE_DEBUG && (Date.now() - started) % 10_000 < 250) console.log(`${new Date().toISOString()} ${what}: ${JSON.stringify(child?.status)}`);
    if (child !== undefined && !child.alive) throw new Error(`${what}: the Tributary process exited:\n${child.output()}`);
    if (Date.now() - started > timeoutMs) throw new Error(`${what}: not within ${timeoutMs} ms${child ? `:\n${child.output()}` : ''}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  return Date.now() - started;
}

export interface OutageRun {
  readonly tag: string;
  readonly sinks: readonly OutageSink[];
  /** The services each sink and the source use (a private one where a test bounces it). */
  readonly kafka: Connections;
  readonly aws: Connections;
  /** Variables for the child: TAG, SINKS and the ports of the private service. */
  readonly env: Record<string, string>;
}

/** Names a run and creates its topics, table and bucket on the services it uses. */
export async function prepareRun(sinks: readonly OutageSink[], services: { kafka: Connections; aws: Connections; env: Record<string, string> }): Promise<OutageRun> {
  const tag = uniqueName('outage');
  const env = { ...services.env, TAG: tag, SINKS: sinks.join(',') };
  const topology = validateTopology(outagesTopology(sinks), { env: { ...process.env, ...env } });
  // Topics on the broker in use; the table and bucket on the AWS services in use.
  await provisionTopology(topology, { ...services.aws, brokers: services.kafka.brokers }, { partitions: 3 });
  return { tag, sinks, kafka: services.kafka, aws: services.aws, env };
}

export interface ReadBack {
  readonly items?: Map<string, number>;
  /** event_id -> rows with it. */
  readonly parquet?: Map<string, number>;
  readonly parquetFiles?: number;
  readonly copies?: { records: number; distinct: Set<string> };
  readonly deadLetters: number;
  /** Partitions of the input whose committed offset is short of the end. */
  readonly uncommitted: string[];
}

/** Everything the run wrote, read back from the services. */
export async function readBack(run: OutageRun): Promise<ReadBack> {
  const brokers = run.kafka.brokers;
  const result: { -readonly [K in keyof ReadBack]: ReadBack[K] } = { deadLetters: 0, uncommitted: [] };
  if (run.sinks.includes('items')) {
    const client = createDynamoClient(run.aws);
    try {
      result.items = new Map((await scanTable(client, `${run.tag}-items`)).map((item) => [String(item.event_id), Number(item.n)]));
    } finally {
      client.destroy();
    }
  }
  if (run.sinks.includes('files')) {
    const client = createS3Client(run.aws);
    try {
      const dir = await download(client, `${run.tag}-bucket`);
      const rows = await query(`SELECT event_id, count(*)::INTEGER AS n FROM read_parquet('${dir}/**/*.parquet') GROUP BY event_id`).catch(() => []);
      const files = await query(`SELECT count(DISTINCT filename)::INTEGER AS n FROM read_parquet('${dir}/**/*.parquet', filename = true)`).catch(() => [{ n: 0 }]);
      result.parquet = new Map(rows.map((r) => [String(r.event_id), Number(r.n)]));
      result.parquetFiles = Number(files[0]?.n ?? 0);
      rmSync(dir, { recursive: true, force: true });
    } finally {
      client.destroy();
    }
  }
  const ends = await endOffsets(brokers, `${run.tag}-events`);
  const committed = await committedOffsets(brokers, `${run.tag}-group`, `${run.tag}-events`);
  for (const [partition, end] of ends) if ((committed.get(partition) ?? -1) < end) result.uncommitted.push(`${partition}: ${committed.get(partition) ?? -1} < ${end}`);
  if (run.sinks.includes('copies')) {
    const total = [...(await endOffsets(brokers, `${run.tag}-copies`)).values()].reduce((a, b) => a + b, 0);
    const records = total === 0 ? [] : await readTopic(brokers, `${run.tag}-copies`, total, 30_000);
    result.copies = { records: records.length, distinct: new Set(records.map((r) => String(r.key))) };
  }
  result.deadLetters = [...(await endOffsets(brokers, `${run.tag}-dead-letters`)).values()].reduce((a, b) => a + b, 0);
  return result;
}

/** Asserts that every sink holds exactly the ground truth, that nothing was dead-lettered and that all is committed. */
export function expectExact(actual: ReadBack, truth: ReadonlyMap<string, number>): void {
  const ids = [...truth.keys()].sort();
  if (actual.items !== undefined) {
    const missing = ids.filter((id) => !actual.items?.has(id));
    expect(missing.slice(0, 10), `${missing.length} events missing in DynamoDB`).toEqual([]);
    expect(actual.items.size, 'DynamoDB items').toBe(truth.size);
    for (const [id, n] of truth) if (actual.items.get(id) !== n) expect(actual.items.get(id), `item ${id}`).toBe(n);
  }
  if (actual.parquet !== undefined) {
    const missing = ids.filter((id) => !actual.parquet?.has(id));
    const doubled = [...actual.parquet].filter(([, rows]) => rows !== 1);
    expect(missing.slice(0, 10), `${missing.length} events missing in Parquet`).toEqual([]);
    expect(doubled.slice(0, 10), `${doubled.length} events with more than one Parquet row`).toEqual([]);
    expect(actual.parquet.size, 'distinct Parquet rows').toBe(truth.size);
  }
  if (actual.copies !== undefined) {
    // At least once on Kafka: a replay may write a copy again; consumers deduplicate by key (event_id).
    expect([...actual.copies.distinct].sort(), 'distinct Kafka copies').toEqual(ids);
  }
  expect(actual.deadLetters, 'dead letters').toBe(0);
  expect(actual.uncommitted, 'partitions not committed to the end').toEqual([]);
}

/** Removes what `prepareRun` made on services that outlive the test (the shared stack). */
export async function cleanUp(run: OutageRun, shared: { kafka: boolean; aws: boolean }): Promise<void> {
  if (shared.kafka) {
    const admin = new Admin({ clientId: uniqueName('outage-cleanup'), bootstrapBrokers: [...run.kafka.brokers] });
    try {
      const topics = (await admin.listTopics()).filter((t) => t.startsWith(`${run.tag}-`));
      if (topics.length > 0) await admin.deleteTopics({ topics });
    } finally {
      await admin.close();
    }
  }
  if (!shared.aws) return;
  if (run.sinks.includes('items')) {
    const client = createDynamoClient(run.aws);
    await client.send(new DeleteTableCommand({ TableName: `${run.tag}-items` })).catch(() => {});
    client.destroy();
  }
  if (run.sinks.includes('files')) {
    const client = createS3Client(run.aws);
    const bucket = `${run.tag}-bucket`;
    try {
      await deleteBucket(client, bucket);
    } catch {
      // gone already
    } finally {
      client.destroy();
    }
  }
}

/** RSS samples of the child, taken every 250 ms from /proc while `sampling`. */
export class RssSampler {
  readonly samples: { at: number; rss: number }[] = [];
  readonly #timer: NodeJS.Timeout;
  constructor(child: TributaryChild) {
    this.#timer = setInterval(() => {
      const rss = child.rssBytes();
      if (rss !== undefined) this.samples.push({ at: Date.now(), rss });
    }, 250);
  }
  /** The largest RSS between `from` and `to` (epoch ms). */
  peak(from: number, to = Infinity): number {
    return Math.max(0, ...this.samples.filter((s) => s.at >= from && s.at <= to).map((s) => s.rss));
  }
  stop(): void {
    clearInterval(this.#timer);
  }
}

export const MiB = 1024 * 1024;

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Whether the run's group has committed every record of its input topic. */
export async function allCommitted(run: OutageRun): Promise<boolean> {
  const ends = await endOffsets(run.kafka.brokers, `${run.tag}-events`);
  const committed = await committedOffsets(run.kafka.brokers, `${run.tag}-group`, `${run.tag}-events`);
  return [...ends].every(([partition, end]) => (committed.get(partition) ?? -1) >= end);
}

/** Changes of readiness between `from` and `to`, as `+1.2 s not ready (s3)`, times from `from`. */
export function readiness(child: TributaryChild, from: number, to = Infinity): string[] {
  const changes: string[] = [];
  let last = '';
  for (const s of child.statuses) {
    if (s.at < from || s.at > to) continue;
    const now = s.ready ? 'ready' : `not ready (${s.unavailable.join(', ') || 'starting'})`;
    if (now !== last) changes.push(`+${((s.at - from) / 1000).toFixed(1)} s ${now}`);
    last = now;
  }
  return changes;
}

/** Why the source paused during [from, to]: the `reason` of each 'source paused' log line, counted. */
export function pauseReasons(child: TributaryChild, from: number, to = Infinity): Record<string, number> {
  const reasons: Record<string, number> = {};
  for (const line of child.logged('source paused', from).filter((l) => l.at <= to)) {
    const reason = String(line.reason);
    reasons[reason] = (reasons[reason] ?? 0) + 1;
  }
  return reasons;
}

/** Traffic into the run's input and a Tributary child reading it (with its RSS sampled), all stopped when the test ends. */
export function startRun(run: OutageRun, ratePerSecond: number, env: Record<string, string> = {}): { traffic: Traffic; child: TributaryChild; rss: RssSampler } {
  const traffic = new Traffic(run.kafka.brokers, `${run.tag}-events`, ratePerSecond);
  const child = new TributaryChild({ ...run.env, TRIBUTARY_COMMIT_INTERVAL_MS: '1000', ...env });
  const rss = new RssSampler(child);
  onTestFinished(async () => {
    rss.stop();
    await traffic.stop();
    if (child.alive) child.process.kill('SIGKILL');
  });
  return { traffic, child, rss };
}

export interface SinkOutage {
  /** The private service stopped, named as Tributary's dependency (`s3`, `dynamodb`). */
  readonly service: PrivateService;
  readonly sinks: readonly OutageSink[];
  readonly ratePerSecond: number;
  readonly maxInflight: number;
  /** Records written before the service is stopped. */
  readonly writtenBefore: number;
  /** The backlog left in Kafka at the end of the outage, in multiples of the in-flight bound, at least. */
  readonly backlogBounds: number;
}

/**
 * The service a sink writes to stopped for `OUTAGE_MS` mid-run while traffic keeps coming: the
 * process stays up, says it is not ready, holds the source within its bound (records stay in Kafka,
 * memory flat), logs the outage once and then per interval, is ready again once the service answers,
 * and the outputs equal the ground truth. Prints what it measured.
 */
export async function sinkOutage(o: SinkOutage): Promise<void> {
  const name = o.service.name;
  const run = await prepareRun(o.sinks, { kafka: connections, aws: o.service.connections, env: o.service.env });
  onTestFinished(() => cleanUp(run, { kafka: true, aws: false }));
  const { traffic, child, rss } = startRun(run, o.ratePerSecond, { TRIBUTARY_MAX_INFLIGHT_RECORDS: String(o.maxInflight) });
  traffic.start();
  await until(`Tributary writing to ${name}`, () => (child.status?.written ?? 0) >= o.writtenBefore, 90_000, child);
  const stopAt = Date.now();
  const rssBefore = rss.peak(stopAt - 3_000);
  const stopMs = await o.service.stop();
  await sleep(OUTAGE_MS);
  // From a few seconds after the server is gone (the next call has failed by then) to its restart.
  const during = child.statuses.filter((s) => s.at > stopAt + stopMs + 3_000);
  const notReadyAt = child.statuses.find((s) => s.at > stopAt && !s.ready)?.at ?? Infinity;
  const startAt = Date.now();
  await o.service.start();
  const backAt = Date.now();
  await until(`${name} available again, as the child sees it`, () => child.logged(`${name} available again`, startAt).length > 0, 60_000, child);
  const resumedAt = child.logged(`${name} available again`, startAt)[0]?.at ?? Date.now();
  await traffic.stop();
  const drainMs = await until('everything committed', () => allCommitted(run), 150_000, child);
  expect(await child.stop()).toBe(0);
  rss.stop();

  const maxInflight = Math.max(...during.map((s) => s.inflight.records));
  const peakRss = rss.peak(stopAt, backAt);
  const outageLogs = child.logs.filter((l) => l.at >= stopAt && l.at <= resumedAt && l.level >= 40);
  console.log(`readiness from the stop (the server took ${(stopMs / 1000).toFixed(1)} s to go): ${readiness(child, stopAt, resumedAt + 2_000).join(', ')}`);
  console.log(
    `${name} outage: ${traffic.sent} events sent (${traffic.truth.size} distinct), ${name} down ${((backAt - stopAt) / 1000).toFixed(1)} s ` +
      `(restart ${((backAt - startAt) / 1000).toFixed(1)} s); Tributary saw it back ${resumedAt - backAt} ms after it answered, drained in ${(drainMs / 1000).toFixed(1)} s; ` +
      `in flight during the outage at most ${maxInflight} (bound ${o.maxInflight}); RSS ${Math.round(rssBefore / MiB)} MB before, peak ${Math.round(peakRss / MiB)} MB during; ` +
      `source paused for ${JSON.stringify(pauseReasons(child, stopAt, backAt))}; ${outageLogs.length} warnings logged during the outage`,
  );

  // The process stayed up, said it was not ready, and held the source instead of buffering.
  expect(during.length).toBeGreaterThan(50);
  expect(notReadyAt - stopAt).toBeLessThan(stopMs + 3_000);
  expect(during.every((s) => !s.ready && s.unavailable.includes(name))).toBe(true);
  expect(during.some((s) => s.inflight.paused)).toBe(true);
  expect(maxInflight).toBeLessThanOrEqual(o.maxInflight + PAUSE_SLACK);
  expect(traffic.sent - (during.at(-1)?.read ?? 0)).toBeGreaterThan(o.backlogBounds * o.maxInflight); // the backlog stayed in Kafka
  expect(peakRss - rssBefore).toBeLessThan(150 * MiB);
  // Logged once, then once per interval: not per retry.
  expect(child.logged(`${name} unavailable; retrying with backoff`, stopAt)).toHaveLength(1);
  expect(child.logged(`${name} still unavailable; retrying`, stopAt).length).toBeLessThanOrEqual(OUTAGE_MS / 10_000 + 2);
  expect(outageLogs.length).toBeLessThan(15);
  expect(child.statuses.some((s) => s.at > resumedAt && s.ready)).toBe(true);

  expectExact(await readBack(run), traffic.truth);
}

/** How long the outage tests stop a service. */
export const OUTAGE_MS = 30_000;
/** Records the source may hand over after the bound closed the gate, before the pause takes hold. */
export const PAUSE_SLACK = 2_000;
