/**
 * Builds (once, cached outside git) and runs the Kafka Streams reference against a topic, and returns
 * its throughput as a baseline result, with the windowed counts it wrote for a correctness check.
 *
 *   node_modules/.bin/node bench/reference/run.ts <input-topic>[,<topic>...] [--threads 1] [--stores memory]
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cp, mkdir, mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Admin, Consumer } from '@platformatic/kafka';
import { localStack } from '../../src/config.ts';
import { countRecords, deleteGroup, uniqueId, type BaselineResult } from '../baselines/common.ts';
import { ensureTopics } from '../generator/produce.ts';

const SOURCE_DIR = fileURLToPath(new URL('.', import.meta.url));
const JAR = 'target/tributary-reference-1.0.0.jar';

export interface ReferenceOptions {
  inputTopics: string[];
  brokers?: string[];
  /** Stream threads. Default 1: with 2 threads over 3 partitions, one thread runs ahead in event time and
   * the windowed count drops about half the records as expired (seen on a replayed topic). */
  threads?: number;
  /** State stores: RocksDB (the default, as deployed) or in memory. */
  stores?: 'rocksdb' | 'memory';
  /** `update` (default): each cache flush emits counts; `final`: only closed windows. */
  emit?: 'update' | 'final';
  graceMs?: number;
  dedupTtlMs?: number;
  heapMb?: number;
  /** Where builds are cached. Default `~/.cache/tributary/reference`. */
  cacheDir?: string;
}

export interface ReferenceResult extends BaselineResult {
  detail: {
    validGameEvents: number;
    uniqueGameEvents: number;
    closeSeconds: number;
    /** Distinct (game, minute) windows in the output topic. */
    windows: number;
    /** Sum over windows of the last count written: compare with the ground truth's game-events total. */
    windowCountSum: number;
  };
}

async function files(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await files(path)));
    else out.push(path);
  }
  return out.sort();
}

function run(command: string, args: string[], cwd: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c.length > 100_000 ? '' : c));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** Builds the reference with `mvn -q -B package` into a cache directory keyed by its sources' hash. */
export async function buildReference(cacheDir = join(homedir(), '.cache', 'tributary', 'reference')): Promise<string> {
  const sources = [join(SOURCE_DIR, 'pom.xml'), ...(await files(join(SOURCE_DIR, 'src')))];
  const hash = createHash('sha256');
  for (const file of sources) hash.update(file.slice(SOURCE_DIR.length)).update(await readFile(file));
  const dir = join(cacheDir, hash.digest('hex').slice(0, 16));
  if (await stat(join(dir, JAR)).then(() => true, () => false)) return dir;
  await mkdir(dir, { recursive: true });
  await cp(join(SOURCE_DIR, 'pom.xml'), join(dir, 'pom.xml'));
  await cp(join(SOURCE_DIR, 'src'), join(dir, 'src'), { recursive: true });
  const build = await run('mvn', ['-q', '-B', 'package'], dir);
  if (build.code !== 0) throw new Error(`mvn package failed in ${dir}:\n${build.stdout}\n${build.stderr}`);
  return dir;
}

/** Reads the output topic and keeps the last count per window. */
async function readCounts(brokers: string[], topic: string): Promise<{ windows: number; sum: number }> {
  const expected = await countRecords(brokers, [topic]);
  const last = new Map<string, number>();
  if (expected === 0) return { windows: 0, sum: 0 };
  const groupId = uniqueId('ref-read');
  const consumer = new Consumer({ groupId, clientId: uniqueId('ref-read'), bootstrapBrokers: brokers, autocommit: false });
  try {
    const stream = await consumer.consume({ topics: [topic], mode: 'earliest' });
    let seen = 0;
    await new Promise<void>((resolve, reject) => {
      stream.on('error', reject);
      stream.on('data', (m: { key: Buffer; value: Buffer }) => {
        last.set(m.key.toString(), (JSON.parse(m.value.toString()) as { count: number }).count);
        if (++seen === expected) resolve();
      });
    });
    await stream.close();
  } finally {
    await consumer.close(true);
    await deleteGroup(brokers, groupId);
  }
  let sum = 0;
  for (const n of last.values()) sum += n;
  return { windows: last.size, sum };
}

/** Deletes the app's topics (output, repartition, changelogs) and, if still there, its consumer group. */
async function cleanUp(brokers: string[], appId: string): Promise<void> {
  const admin = new Admin({ clientId: uniqueId('ref-clean'), bootstrapBrokers: brokers });
  try {
    const topics = (await admin.listTopics()).filter((t) => t.startsWith(`${appId}-`));
    if (topics.length > 0) await admin.deleteTopics({ topics });
    // The Java side removes its members and deletes its group; this catches a run that failed first.
    await admin.deleteGroups({ groups: [appId] }).catch(() => {});
  } finally {
    await admin.close();
  }
}

/** Runs the Kafka Streams reference over the input topics until every record present at start is processed. */
export async function kafkaStreamsReference(options: ReferenceOptions): Promise<ReferenceResult> {
  const brokers = options.brokers ?? [...localStack().connections.brokers];
  const dir = await buildReference(options.cacheDir);
  const appId = uniqueId('tributary-ref');
  const output = `${appId}-out`;
  const stateDir = await mkdtemp(join(tmpdir(), 'tributary-ref-'));
  await ensureTopics(brokers, [output], 3);
  try {
    const java = await run('java', [
      `-Xmx${options.heapMb ?? 1024}m`,
      '-Dorg.slf4j.simpleLogger.defaultLogLevel=error',
      '-cp', `${join(dir, JAR)}:${join(dir, 'target', 'lib')}/*`,
      'tributary.reference.Reference',
      '--brokers', brokers.join(','),
      '--input', options.inputTopics.join(','),
      '--output', output,
      '--app-id', appId,
      '--state-dir', stateDir,
      '--threads', String(options.threads ?? 1),
      '--stores', options.stores ?? 'rocksdb',
      '--emit', options.emit ?? 'update',
      '--grace-ms', String(options.graceMs ?? 30_000),
      '--dedup-ttl-ms', String(options.dedupTtlMs ?? 600_000),
    ], dir);
    const line = java.stdout.split('\n').find((l) => l.startsWith('RESULT '));
    if (java.code !== 0 || line === undefined) throw new Error(`reference exited with ${java.code}:\n${java.stdout.slice(-2000)}\n${java.stderr.slice(-4000)}`);
    const r = JSON.parse(line.slice('RESULT '.length)) as BaselineResult & Record<string, number>;
    const counts = await readCounts(brokers, output);
    return {
      name: r.name,
      events: r.events,
      seconds: r.seconds,
      eventsPerSec: r.eventsPerSec,
      rssPeakMb: r.rssPeakMb as number,
      startupSeconds: r.startupSeconds as number,
      detail: {
        validGameEvents: r.validGameEvents as number,
        uniqueGameEvents: r.uniqueGameEvents as number,
        closeSeconds: r.closeSeconds as number,
        windows: counts.windows,
        windowCountSum: counts.sum,
      },
    };
  } finally {
    await cleanUp(brokers, appId).catch(() => {});
    await rm(stateDir, { recursive: true, force: true });
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { threads: { type: 'string' }, stores: { type: 'string' }, emit: { type: 'string' } },
  });
  if (positionals[0] === undefined) throw new Error('usage: run.ts <input-topic>[,<topic>...] [--threads N] [--stores rocksdb|memory] [--emit update|final]');
  const result = await kafkaStreamsReference({
    inputTopics: positionals[0].split(','),
    ...(values.threads === undefined ? {} : { threads: Number(values.threads) }),
    ...(values.stores === undefined ? {} : { stores: values.stores as 'rocksdb' | 'memory' }),
    ...(values.emit === undefined ? {} : { emit: values.emit as 'update' | 'final' }),
  });
  console.log(JSON.stringify(result, null, 2));
}
