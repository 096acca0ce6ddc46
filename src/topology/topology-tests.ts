/**
 * Topology tests (`tributary test`): cases of input records per source and the records each sink,
 * the dead letters and the metrics must get, run in memory through the real compiled operators on a
 * virtual clock (no Kafka, no AWS: a record reaching a sink is captured instead of written).
 *
 * A cases file (YAML or JSON), usually next to its topology (`game-events.test.yaml`):
 *
 * ```yaml
 * cases:
 *   - name: a purchase is stored as a transaction
 *     now: 2026-12-03T10:05:00Z          # the virtual clock at the start (default: the latest event time)
 *     input:
 *       transaction-events:             # a source id
 *         - { event_id: e1, user_id: u1, event_type: purchase, timestamp: 2026-12-03T10:00:00Z, event_data: { amount: 5 } }
 *         - file: purchases.jsonl       # one JSON value per line, relative to the cases file
 *         - raw: '{"not json'           # bytes as they are (a malformed record)
 *     expect:
 *       sinks:
 *         transactions: [{ event_id: e1 }]   # each expected record matches one record the sink got (fields given must be equal)
 *         leaderboard: []                    # nothing reaches it
 *       deadLetters: [{ step: parse, code: TRIB_DECODE }]
 *       metrics: [{ name: late_events_total, labels: { step: game-minute }, value: 1 }]
 * ```
 *
 * Sinks not named are not checked; `deadLetters`, when given, must match them all. Records are read
 * in the order given, each source's records on its first topic, partition 0; windows still open
 * when the input ends are emitted (a bounded run).
 */
import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { lastValueFrom, Subject, VirtualTimeScheduler } from 'rxjs';
import { parse as parseYaml } from 'yaml';
import { ConfigError } from '../core/errors.ts';
import { CountingLease, envelopeOf, type Batch, type Envelope } from '../core/envelope.ts';
import { Metrics, type MetricName } from '../core/metrics.ts';
import { memoryContext } from '../runtime/memory-context.ts';
import { compileTopology } from './compile.ts';
import type { ValidTopology } from './types.ts';

export interface TopologyTestCase {
  readonly name: string;
  /** The virtual clock at the start, epoch ms. */
  readonly nowMs?: number;
  /** Per source id, its records: values (encoded as JSON) or raw strings. */
  readonly input: ReadonlyMap<string, readonly InputRecord[]>;
  readonly expect: Expectations;
}

export type InputRecord = { readonly value: unknown } | { readonly raw: string };

export interface Expectations {
  readonly sinks?: Readonly<Record<string, readonly unknown[]>>;
  readonly deadLetters?: readonly { readonly step?: string; readonly code?: string }[];
  readonly metrics?: readonly { readonly name: string; readonly labels?: Readonly<Record<string, string>>; readonly value: number }[];
}

export interface CaseResult {
  readonly name: string;
  /** Empty when the case passed. */
  readonly failures: readonly string[];
}

/** What a case run captured. */
interface Captured {
  readonly sinks: Map<string, unknown[]>;
  readonly deadLetters: { step: string; code: string; message: string }[];
  readonly metrics: Metrics;
}

/**
 * Reads a cases file; `file:` entries are read relative to it.
 * @throws ConfigError naming the case and what is wrong
 */
export async function loadTestCases(file: string): Promise<TopologyTestCase[]> {
  const text = await readFile(file, 'utf8');
  const doc = (file.endsWith('.json') ? JSON.parse(text) : parseYaml(text)) as { cases?: unknown };
  if (!Array.isArray(doc?.cases)) throw new ConfigError(`${file}: expected a list under "cases"`);
  const cases: TopologyTestCase[] = [];
  for (const [i, raw] of doc.cases.entries()) {
    const c = raw as { name?: unknown; now?: unknown; input?: unknown; expect?: unknown };
    const name = typeof c.name === 'string' ? c.name : `case ${i + 1}`;
    const where = `${file}: ${name}`;
    if (typeof c.input !== 'object' || c.input === null) throw new ConfigError(`${where}: "input" must map source ids to lists of records`);
    const input = new Map<string, InputRecord[]>();
    for (const [source, records] of Object.entries(c.input)) {
      if (!Array.isArray(records)) throw new ConfigError(`${where}: input.${source} must be a list`);
      const list: InputRecord[] = [];
      for (const record of records as unknown[]) {
        const r = record as { file?: unknown; raw?: unknown };
        if (typeof r === 'object' && r !== null && typeof r.file === 'string' && Object.keys(r).length === 1) {
          const lines = (await readFile(resolve(dirname(file), r.file), 'utf8')).split('\n').filter((l) => l.trim() !== '');
          for (const line of lines) list.push({ raw: line });
        } else if (typeof r === 'object' && r !== null && typeof r.raw === 'string' && Object.keys(r).length === 1) list.push({ raw: r.raw });
        else list.push({ value: record });
      }
      input.set(source, list);
    }
    const now = c.now === undefined ? undefined : Date.parse(String(c.now instanceof Date ? c.now.toISOString() : c.now));
    if (now !== undefined && !Number.isFinite(now)) throw new ConfigError(`${where}: "now" must be an ISO date`);
    cases.push({ name, ...(now === undefined ? {} : { nowMs: now }), input, expect: (c.expect ?? {}) as Expectations });
  }
  return cases;
}

/** Runs each case through a fresh compiled topology and compares; never touches the network. */
export async function runTestCases(topology: ValidTopology, cases: readonly TopologyTestCase[]): Promise<CaseResult[]> {
  const results: CaseResult[] = [];
  for (const c of cases) {
    const problems = inputProblems(topology, c);
    results.push({ name: c.name, failures: problems.length > 0 ? problems : compare(c.expect, await runCase(topology, c)) });
  }
  return results;
}

function inputProblems(topology: ValidTopology, c: TopologyTestCase): string[] {
  const sources = new Set(topology.sources.map((s) => s.id));
  const sinks = new Set(topology.sinks.map((s) => s.id));
  return [
    ...[...c.input.keys()].filter((id) => !sources.has(id)).map((id) => `input: no source "${id}" (sources: ${[...sources].join(', ')})`),
    ...Object.keys(c.expect.sinks ?? {})
      .filter((id) => !sinks.has(id))
      .map((id) => `expect.sinks: no sink "${id}" (sinks: ${[...sinks].join(', ')})`),
  ];
}

async function runCase(topology: ValidTopology, c: TopologyTestCase): Promise<Captured> {
  const records = [...c.input.entries()].flatMap(([source, list]) => list.map((record) => ({ source, record })));
  const start = c.nowMs ?? Math.max(0, ...records.map(({ record }) => eventTimeOf(record) ?? 0)) + 1000;
  // Virtual time from `start`; timers run when the input has ended, up to a day of virtual time.
  const scheduler = new VirtualTimeScheduler(undefined, start + 86_400_000);
  scheduler.frame = start;
  const metrics = new Metrics();
  const captured: Captured = { sinks: new Map(), deadLetters: [], metrics };
  const ctx = memoryContext(
    {
      onDeadLetter: (_envelope, error, step) => void captured.deadLetters.push({ step, code: error.code, message: error.message }),
      onSink: (id, envelope) => {
        const list = captured.sinks.get(id) ?? [];
        list.push(envelope.value);
        captured.sinks.set(id, list);
      },
    },
    metrics,
  );
  // The sinks' clients are built but never called: in memory, a record reaching a sink is captured.
  const aws = { region: 'us-east-1', endpoint: 'http://127.0.0.1:9', credentials: { accessKeyId: 'x', secretAccessKey: 'x' }, maxAttempts: 1 };
  const dynamo = new DynamoDBClient(aws);
  const s3 = new S3Client({ ...aws, forcePathStyle: true });
  try {
    const input = new Subject<Batch<Envelope<Buffer | null>>>();
    const done = lastValueFrom(compileTopology(topology, { dynamo, s3, kafka: { brokers: ['127.0.0.1:9'] }, bounded: true, scheduler })(input, ctx), { defaultValue: undefined });
    const topicOf = new Map(topology.sources.map((s) => [s.id, s.topics[0] as string]));
    const offsets = new Map<string, number>();
    for (const { source, record } of records) {
      const topic = topicOf.get(source) as string;
      const offset = offsets.get(topic) ?? 0;
      offsets.set(topic, offset + 1);
      const bytes = Buffer.from('raw' in record ? record.raw : JSON.stringify(record.value));
      // One record per batch: each is read at its own processing time.
      input.next([envelopeOf<Buffer | null>(bytes, { topic, partition: 0, offset, timestamp: scheduler.now() }, new CountingLease())]);
    }
    input.complete();
    let settled = false;
    void done.finally(() => (settled = true));
    for (let i = 0; i < 1000 && !settled; i++) {
      scheduler.flush();
      await new Promise((r) => setImmediate(r));
    }
    await done;
    return captured;
  } finally {
    dynamo.destroy();
    s3.destroy();
  }
}

/** A record's `timestamp` (raw records: when they parse), for the clock's default start. */
function eventTimeOf(record: InputRecord): number | undefined {
  let value: unknown;
  try {
    value = 'value' in record ? record.value : JSON.parse(record.raw);
  } catch {
    return undefined;
  }
  const t = (value as { timestamp?: unknown } | null)?.timestamp;
  const ms = typeof t === 'number' ? t : typeof t === 'string' ? Date.parse(t) : t instanceof Date ? t.getTime() : NaN;
  return Number.isFinite(ms) ? ms : undefined;
}

/** The differences between what a case expected and what its run captured. */
export function compare(expect: Expectations, got: Captured): string[] {
  const failures: string[] = [];
  for (const [sink, expected] of Object.entries(expect.sinks ?? {})) {
    failures.push(...matchAll(`sink ${sink}`, expected, got.sinks.get(sink) ?? []));
  }
  if (expect.deadLetters !== undefined) failures.push(...matchAll('dead letters', expect.deadLetters, got.deadLetters));
  for (const m of expect.metrics ?? []) {
    const actual = got.metrics.value(m.name as MetricName, m.labels ?? {});
    if (actual !== m.value) failures.push(`metric ${m.name}${JSON.stringify(m.labels ?? {})}: expected ${m.value}, got ${actual}`);
  }
  return failures;
}

/** Each expected value matches a distinct actual one (fields given must be equal), and the counts agree. */
function matchAll(what: string, expected: readonly unknown[], actual: readonly unknown[]): string[] {
  const left = [...actual];
  const failures: string[] = [];
  for (const [i, e] of expected.entries()) {
    const at = left.findIndex((a) => mismatch(normalise(e), a) === undefined);
    if (at >= 0) {
      left.splice(at, 1);
      continue;
    }
    const closest = left.length === 0 ? 'nothing left to match' : `closest: ${mismatch(normalise(e), left[0])}; got ${show(left[0])}`;
    failures.push(`${what}: expected #${i + 1} ${show(e)} not found (${closest})`);
  }
  if (actual.length !== expected.length) {
    failures.push(`${what}: expected ${expected.length} record${expected.length === 1 ? '' : 's'}, got ${actual.length}${left.length > 0 ? `; unmatched: ${left.slice(0, 3).map(show).join(', ')}${left.length > 3 ? ', …' : ''}` : ''}`);
  }
  return failures;
}

/** YAML dates become ISO strings, as the records carry them. */
function normalise(value: unknown): unknown {
  if (value instanceof Date) return value.toISOString();
  if (Array.isArray(value)) return value.map(normalise);
  if (typeof value === 'object' && value !== null) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, normalise(v)]));
  return value;
}

/** Where `actual` differs from the fields `expected` gives (`undefined`: it matches). */
function mismatch(expected: unknown, actual: unknown, path = ''): string | undefined {
  if (typeof expected === 'object' && expected !== null && !Array.isArray(expected)) {
    if (typeof actual !== 'object' || actual === null) return `${path || 'the record'}: expected an object, got ${show(actual)}`;
    for (const [key, value] of Object.entries(expected)) {
      const found = mismatch(value, (actual as Record<string, unknown>)[key], path ? `${path}.${key}` : key);
      if (found !== undefined) return found;
    }
    return undefined;
  }
  if (Array.isArray(expected)) {
    if (!Array.isArray(actual) || actual.length !== expected.length) return `${path}: expected ${show(expected)}, got ${show(actual)}`;
    for (const [i, value] of expected.entries()) {
      const found = mismatch(value, actual[i], `${path}[${i}]`);
      if (found !== undefined) return found;
    }
    return undefined;
  }
  return Object.is(expected, actual) ? undefined : `${path}: expected ${show(expected)}, got ${show(actual)}`;
}

function show(value: unknown): string {
  const text = JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? String(v) : v)) ?? String(value);
  return text.length > 200 ? `${text.slice(0, 197)}...` : text;
}

/** Where a topology's cases are by default: `game-events.yaml` -> `game-events.test.yaml` beside it. */
export function defaultCasesFile(topologyFile: string): string {
  return topologyFile.replace(/\.(ya?ml|json|ts|js|mjs)$/i, '.test.yaml');
}

/**
 * `tributary test <topology> [cases files...]`: runs every case, prints `ok`/`FAIL` per case with
 * its differences, then a summary; resolves with the exit code (1 when a case failed).
 */
export async function testTopologyFile(
  topology: ValidTopology,
  casesFiles: readonly string[],
  io: { readonly stdout: (text: string) => void; readonly stderr: (text: string) => void },
): Promise<number> {
  let failed = 0;
  let total = 0;
  for (const file of casesFiles) {
    let cases: TopologyTestCase[];
    try {
      cases = await loadTestCases(file);
    } catch (error) {
      io.stderr(`${error instanceof ConfigError ? error.problems.join('\n') : `cannot read ${file}: ${(error as Error).message}`}\n`);
      return 1;
    }
    for (const result of await runTestCases(topology, cases)) {
      total += 1;
      if (result.failures.length > 0) failed += 1;
      io.stdout(`${result.failures.length === 0 ? 'ok  ' : 'FAIL'} ${file}: ${result.name}\n${result.failures.map((f) => `       ${f}\n`).join('')}`);
    }
  }
  io.stdout(`${total} case${total === 1 ? '' : 's'}: ${total - failed} passed, ${failed} failed\n`);
  return failed === 0 ? 0 : 1;
}
