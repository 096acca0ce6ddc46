/**
 * `tributary reconcile <topology> --hour <YYYY-MM-DDTHH>`: the completeness check of one event-time
 * hour (UTC) before it is published. For each `s3-parquet` sink and each source topic feeding it,
 * the records of the hour in Kafka must equal the rows in the hour's Parquet objects plus the
 * records dead-lettered on the way, the duplicates dedup dropped and the records a filter or route
 * kept off the path. Prints a table; exit 0 when every line balances, 1 when one does not (or
 * Parquet holds an id twice), 2 on bad options.
 */
import { LOCAL_OPTION, onePositional, UsageError, withUsage, type Command } from './command.ts';
import { parseArgs } from 'node:util';
import type { S3Client } from '@aws-sdk/client-s3';
import { connectionsFromEnv, createS3Client } from '../../config.ts';
import { ConfigError } from '../../core/errors.ts';
import { DEFAULT_MAX_FUTURE_SKEW_MS } from '../../operators/event-time.ts';
import { DEAD_LETTER_HEADERS } from '../../runtime/dead-letters.ts';
import type { KafkaConnectionOptions } from '../../sources/connection.ts';
import { kafkaConnectionFromEnv } from '../run.ts';
import type { S3ParquetSink, ValidTopology } from '../types.ts';
import { formatInstant, formatTable, parseInstant, topologyToConnect, type CommandIo } from './common.ts';
import { listHourObjects, readHourObject } from './parquet-hour.ts';
import { countKafka, decode, planSink, type KafkaCounts, type SinkPlan } from './reconcile-counts.ts';
import { offsetsAt, rangesOf, readerGroup, readRange, type RangeRecord } from './read-range.ts';

const HOUR_MS = 3_600_000;

export interface ReconcileOptions {
  readonly topology: string;
  /** Local mode (`--local`): no TRIBUTARY_BROKERS needed; without it (or TRIBUTARY_LOCAL=1) a missing one is refused. */
  readonly local?: boolean;
  /** `YYYY-MM-DDTHH`, UTC. */
  readonly hour: string;
  /**
   * Where the Kafka read starts: `earliest`, or a time (records produced before it are not read).
   * Default: the hour's start minus the largest `parse` `maxFutureSkew` (1 h by default), the
   * earliest a record of the hour can have been produced.
   */
  readonly scanFrom?: string;
}

/** The hour `--hour` names; throws a ConfigError. */
export function parseHour(text: string): number {
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}$/.test(text)) throw new ConfigError(`--hour must be YYYY-MM-DDTHH (UTC), got "${text}"`);
  return parseInstant(text, 'hour');
}

export interface ReconcileLine {
  readonly sink: string;
  readonly topic: string;
  readonly kafka: KafkaCounts;
  readonly parquetRows: number;
  readonly parquetIds: number | undefined;
  readonly objects: number;
  /** Expected rows minus the rows found, per Kafka partition (only those that differ). */
  readonly gaps: ReadonlyMap<number, number>;
}

export function expectedRows(c: KafkaCounts): number {
  return c.records - c.deadLetters - c.duplicates - c.filtered;
}

/** Whether a line balances: every record accounted for, no id twice in Parquet. */
export function balances(line: ReconcileLine): boolean {
  return line.gaps.size === 0 && expectedRows(line.kafka) === line.parquetRows && (line.parquetIds === undefined || line.parquetIds === line.parquetRows);
}

async function collect(connection: KafkaConnectionOptions, topics: readonly string[], startAt: number | 'earliest', group: string): Promise<RangeRecord[]> {
  if (topics.length === 0) return [];
  const starts = await offsetsAt(connection, topics, startAt);
  const out: RangeRecord[] = [];
  for await (const r of readRange({ connection, ranges: await rangesOf(connection, topics, starts), groupId: readerGroup(group) })) out.push(r);
  return out;
}

async function parquetSide(s3: S3Client, plan: SinkPlan, topic: string, hourStartMs: number) {
  const objects = await listHourObjects(s3, plan.sink, topic, hourStartMs);
  const byPartition = new Map<number, number>();
  const ids = new Set<string>();
  let rows = 0;
  let idsKnown = true;
  for (const object of objects) {
    const { rows: n, values } = await readHourObject(s3, plan.sink.bucket, object.key, plan.idColumn);
    rows += n;
    byPartition.set(object.partition, (byPartition.get(object.partition) ?? 0) + n);
    if (values === undefined) idsKnown = false;
    else for (const v of values) ids.add(String(v));
  }
  return { objects: objects.length, rows, byPartition, ids: idsKnown ? ids.size : undefined };
}

/** Reconciles every Parquet sink of `topology` for the hour; `onSkip` hears of sinks it cannot reconcile. */
export async function reconcileHour(
  topology: ValidTopology,
  hourStartMs: number,
  deps: { readonly connection: KafkaConnectionOptions; readonly s3: S3Client; readonly scanFrom?: number | 'earliest'; readonly onSkip?: (sink: string, reason: string) => void },
): Promise<{ lines: ReconcileLine[]; late: Map<string, number> }> {
  const lead = Math.max(DEFAULT_MAX_FUTURE_SKEW_MS, ...topology.steps.map((s) => (s.kind === 'parse' ? s.eventTime.maxFutureSkewMs : 0)));
  const startAt = deps.scanFrom ?? hourStartMs - lead;
  const group = `${topology.sources[0]?.group ?? 'tributary'}-reconcile`;
  const plans: SinkPlan[] = [];
  for (const sink of topology.sinks) {
    if (sink.kind !== 's3-parquet') continue;
    const plan = planSink(topology, sink as S3ParquetSink);
    if ('reason' in plan) deps.onSkip?.(sink.id, plan.reason);
    else plans.push(plan);
  }
  const topics = [...new Set(plans.flatMap((p) => p.topics))];
  const records = await collect(deps.connection, topics, startAt, group);
  const letters = await collect(deps.connection, [topology.deadLetters.topic], startAt, group);
  const lines: ReconcileLine[] = [];
  for (const plan of plans) {
    const deadLettered = new Set(
      letters
        .filter((l) => plan.deadLetterSteps.has(l.headers[DEAD_LETTER_HEADERS.step] ?? ''))
        .map((l) => `${l.headers[DEAD_LETTER_HEADERS.topic]}:${l.headers[DEAD_LETTER_HEADERS.partition]}:${l.headers[DEAD_LETTER_HEADERS.offset]}`),
    );
    for (const [topic, kafka] of countKafka(plan, records, hourStartMs, deadLettered)) {
      const parquet = await parquetSide(deps.s3, plan, topic, hourStartMs);
      const gaps = new Map<number, number>();
      for (const p of new Set([...kafka.expectedByPartition.keys(), ...parquet.byPartition.keys()])) {
        const gap = (kafka.expectedByPartition.get(p) ?? 0) - (parquet.byPartition.get(p) ?? 0);
        if (gap !== 0) gaps.set(p, gap);
      }
      lines.push({ sink: plan.sink.id, topic, kafka, parquetRows: parquet.rows, parquetIds: parquet.ids, objects: parquet.objects, gaps });
    }
  }
  return { lines, late: await lateEvents(topology, deps.connection, startAt, hourStartMs, group) };
}

/** Records of the hour on the topics the windows' `late` outputs are written to (Kafka sinks), per window. */
async function lateEvents(topology: ValidTopology, connection: KafkaConnectionOptions, startAt: number | 'earliest', hourStartMs: number, group: string): Promise<Map<string, number>> {
  const late = new Map<string, number>();
  const field = topology.sources.find((s) => s.eventTime !== 'kafka')?.eventTime;
  for (const sink of topology.sinks) {
    if (sink.kind !== 'kafka') continue;
    const windows = sink.from.filter((r) => r.output === 'late').map((r) => r.id);
    if (windows.length === 0) continue;
    let n = 0;
    for (const r of await collect(connection, [sink.topic], startAt, group)) {
      const value = decode(r.value) as Record<string, unknown> | undefined;
      const raw = field === undefined || field === 'kafka' ? r.timestamp : value?.[field.field];
      const time = typeof raw === 'number' ? raw : typeof raw === 'string' ? Date.parse(raw) : r.timestamp;
      if (time >= hourStartMs && time < hourStartMs + HOUR_MS) n++;
    }
    late.set(windows.join('+'), (late.get(windows.join('+')) ?? 0) + n);
  }
  return late;
}

/** The table `reconcile` prints. */
export function formatReconcile(lines: readonly ReconcileLine[]): string {
  const rows = lines.map((l) => {
    const expected = expectedRows(l.kafka);
    return [
      l.sink,
      l.topic,
      l.kafka.records,
      l.kafka.ids.size,
      l.kafka.deadLetters,
      l.kafka.duplicates,
      l.kafka.filtered,
      expected,
      l.parquetRows,
      l.parquetIds ?? '?',
      l.objects,
      expected - l.parquetRows,
      balances(l) ? 'ok' : 'GAP',
    ] as (string | number)[];
  });
  return formatTable(['sink', 'topic', 'kafka', 'event ids', 'dead letters', 'duplicates', 'filtered', 'expected', 'parquet rows', 'parquet ids', 'objects', 'missing', 'status'], rows);
}

/** Runs `reconcile`; resolves with the exit code (0 balanced, 1 a gap or failure, 2 bad options). */
export async function reconcile(options: ReconcileOptions, io: CommandIo): Promise<number> {
  let hourStartMs: number;
  let scanFrom: number | 'earliest' | undefined;
  try {
    hourStartMs = parseHour(options.hour);
    scanFrom = options.scanFrom === undefined ? undefined : options.scanFrom === 'earliest' ? 'earliest' : parseInstant(options.scanFrom, 'scan-from');
  } catch (error) {
    io.stderr(`${(error as Error).message}\n`);
    return 2;
  }
  const opened = await topologyToConnect(options.topology, io, options.local === true);
  if (opened === undefined) return 1;
  const { topology, env } = opened;
  const s3 = createS3Client(connectionsFromEnv(env));
  try {
    const { lines, late } = await reconcileHour(topology, hourStartMs, {
      connection: kafkaConnectionFromEnv(env),
      s3,
      ...(scanFrom === undefined ? {} : { scanFrom }),
      onSkip: (sink, reason) => io.stderr(`sink ${sink} not reconciled: ${reason}\n`),
    });
    io.stdout(`reconcile ${topology.name}, event time ${formatInstant(hourStartMs)} to ${formatInstant(hourStartMs + HOUR_MS)}\n`);
    io.stdout(formatReconcile(lines));
    for (const [windows, n] of late) io.stdout(`late events (${windows}, not counted in Parquet's equation): ${n}\n`);
    const gaps = lines.filter((l) => !balances(l));
    for (const l of gaps) {
      const parts = [...l.gaps].map(([p, gap]) => `partition ${p}: ${gap > 0 ? `${gap} missing` : `${-gap} extra`}`);
      const twice = l.parquetIds !== undefined && l.parquetIds !== l.parquetRows ? [`${l.parquetRows - l.parquetIds} rows share an id`] : [];
      io.stdout(`GAP ${l.sink} ${l.topic}: ${[...parts, ...twice].join(', ')}\n`);
    }
    if (gaps.length === 0) io.stdout(`complete: every record of the hour is in Parquet, dead-lettered, a duplicate or filtered\n`);
    return gaps.length === 0 ? 0 : 1;
  } catch (error) {
    io.stderr(`reconcile failed: ${(error as Error).message}\n`);
    return 1;
  } finally {
    s3.destroy();
  }
}

const RECONCILE_HELP = `Usage: tributary reconcile <topology> --hour <YYYY-MM-DDTHH> [--scan-from <earliest|time>] [--local]

The completeness check to run before publishing an hour: for each Parquet sink and source topic,
the records in Kafka whose event time falls in the hour against the rows in Parquet on S3 for that
hour, plus dead letters, duplicates removed and records filtered out on the way; late events shown.
A table; exit 1 when a line does not add up (the gap named by partition).
TRIBUTARY_BROKERS is required unless --local or TRIBUTARY_LOCAL=1 (the local stack).`;

export const reconcileCommand: Command = {
  name: 'reconcile',
  summary: "check an hour is complete: Kafka records vs Parquet rows, dead letters, duplicates (exit 1 on a gap)",
  help: RECONCILE_HELP,
  run: (args, io) =>
    withUsage(reconcileCommand, io, async () => {
      const { values, positionals } = parseArgs({ args: [...args], allowPositionals: true, options: { hour: { type: 'string' }, 'scan-from': { type: 'string' }, ...LOCAL_OPTION } });
      const topology = onePositional(positionals, 'topology file');
      if (values.hour === undefined) throw new UsageError('missing --hour');
      return reconcile({ topology, hour: values.hour, ...(values['scan-from'] === undefined ? {} : { scanFrom: values['scan-from'] }), local: values.local === true }, io);
    }),
};
