/**
 * `tributary backfill <topology> --from <time> --to <time>`: runs the topology again over a past
 * interval, in a consumer group of its own, and stops once every source partition has been read to
 * the end offset of the interval; the idempotent sinks overwrite what was there, and the Parquet
 * sink writes only what its hour is missing (its replay recovery skips records already in S3).
 *
 * Stateful steps start empty in a new group, so the read starts a lead-in before `from` (default:
 * the largest dedup ttl or window span of the topology) and goes on a lead-out past `to` (so windows
 * close), and only records and window results whose event time is in `[from, to)` reach the sinks.
 */
import { connectingEnv, LOCAL_OPTION, onePositional, readTopology, UsageError, withUsage, type Command } from './command.ts';
import { parseArgs } from 'node:util';
import { randomBytes } from 'node:crypto';
import { Admin } from '@platformatic/kafka';
import { connectionsFromEnv, createDynamoClient, createS3Client } from '../../config.ts';
import { partitionKey } from '../../core/partition.ts';
import { createRuntime } from '../../runtime/runtime.ts';
import { platformaticConnection, type KafkaConnectionOptions } from '../../sources/connection.ts';
import { compileTopology } from '../compile.ts';
import { internalTopicsOf } from '../repartition.ts';
import { ensureTopologyTopics, kafkaConnectionFromEnv, runtimeOptionsOf } from '../run.ts';
import type { ValidTopology } from '../types.ts';
import { parseDuration } from '../units.ts';
import { backfillTopology, defaultLeadInMs, defaultLeadOutMs, excludedSinks, intervalPipeline, type IntervalCounts } from './backfill-plan.ts';
import { formatInstant, parseInstant, type CommandIo } from './common.ts';
import { sinkKind } from '../kinds/index.ts';
import { offsetsAt, rangesOf, type PartitionRange } from './read-range.ts';

const HOUR_MS = 3_600_000;

export interface BackfillOptions {
  readonly topology: string;
  /** Event time, inclusive (epoch ms or ISO-8601, UTC unless zoned). */
  readonly from: string;
  /** Event time, exclusive. */
  readonly to: string;
  /** Read from this long before `from` (a duration: `2h`); default `defaultLeadInMs`. */
  readonly leadIn?: string;
  /** Read until this long after `to`; default `defaultLeadOutMs`. */
  readonly leadOut?: string;
  /** Gives up when no record comes for this long before the ends are reached (default 2m). */
  readonly idleTimeout?: string;
  /** Local mode (`--local`): no TRIBUTARY_BROKERS needed; without it (or TRIBUTARY_LOCAL=1) a missing one is refused. */
  readonly local?: boolean;
}

/** A terminal to draw progress on (`isTTY`), besides the command io. */
export interface BackfillIo extends CommandIo {
  readonly isTTY?: boolean;
}

function duration(text: string | undefined, option: string, fallback: number): number {
  if (text === undefined) return fallback;
  const ms = parseDuration(text);
  if (ms === undefined || ms < 0) throw new Error(`--${option}: not a duration: "${text}" (like 90m, 2h)`);
  return ms;
}

/** Sets `group`'s committed offsets to where each partition's read starts (the group has no members yet). */
async function startGroupAt(connection: KafkaConnectionOptions, group: string, ranges: readonly PartitionRange[]): Promise<void> {
  const admin = new Admin({ clientId: `${group}-admin`, ...platformaticConnection(connection) });
  try {
    const topics = [...new Set(ranges.map((r) => r.topic))].map((name) => ({
      name,
      partitionOffsets: ranges.filter((r) => r.topic === name).map((r) => ({ partition: r.partition, offset: BigInt(r.start) })),
    }));
    await admin.alterConsumerGroupOffsets({ groupId: group, topics });
  } finally {
    await admin.close();
  }
}

/** Removes the backfill group and its internal topics (changelogs, repartition topics). */
async function cleanUp(connection: KafkaConnectionOptions, topology: ValidTopology, group: string): Promise<void> {
  const admin = new Admin({ clientId: `${group}-admin`, ...platformaticConnection(connection) });
  try {
    const topics = internalTopicsOf(topology).map((t) => t.name);
    if (topics.length > 0) await admin.deleteTopics({ topics }).catch(() => {});
    await admin.deleteGroups({ groups: [group] }).catch(() => {});
  } finally {
    await admin.close();
  }
}

/**
 * Runs `backfill`; resolves with the exit code: 0 done, 1 failed (or stopped before the ends were
 * read), 2 bad options. Draws `read n / total` on a TTY; prints a summary either way.
 */
export async function backfill(options: BackfillOptions, io: BackfillIo): Promise<number> {
  const topology = await readTopology(options.topology, io);
  if (topology === undefined) return 1;
  let fromMs: number;
  let toMs: number;
  let leadInMs: number;
  let leadOutMs: number;
  let idleMs: number;
  try {
    fromMs = parseInstant(options.from, 'from');
    toMs = parseInstant(options.to, 'to');
    if (toMs <= fromMs) throw new Error('--to must be after --from');
    // A Parquet object names the offsets it spans; a backfill that wrote part of an hour would name ranges holding
    // records it left out, and a later replay would skip those as already stored.
    if (topology.sinks.some((s) => sinkKind(s).rotates === true) && (fromMs % HOUR_MS !== 0 || toMs % HOUR_MS !== 0))
      throw new Error('--from and --to must be whole hours (UTC) for a topology with S3 sinks');
    leadInMs = duration(options.leadIn, 'lead-in', defaultLeadInMs(topology));
    leadOutMs = duration(options.leadOut, 'lead-out', defaultLeadOutMs(topology));
    idleMs = duration(options.idleTimeout, 'idle-timeout', 120_000);
  } catch (error) {
    io.stderr(`${(error as Error).message}\n`);
    return 2;
  }
  const connecting = connectingEnv(io, options.local === true);
  if (connecting === undefined) return 1;
  const base = topology.sources[0]?.group ?? 'tributary';
  const group = `${base}-backfill-${formatInstant(fromMs).replace(/[-:]/g, '')}-${randomBytes(3).toString('hex')}`;
  const run = backfillTopology(topology, group);
  const env = { ...connecting, LOG_LEVEL: connecting.LOG_LEVEL ?? 'warn' };
  const kafka = kafkaConnectionFromEnv(env);
  const topics = [...new Set(topology.sources.flatMap((s) => s.topics))];
  let ranges: PartitionRange[];
  let ends: Map<string, number>;
  try {
    ranges = await rangesOf(kafka, topics, await offsetsAt(kafka, topics, fromMs - leadInMs));
    ends = await offsetsAt(kafka, topics, toMs + leadOutMs);
  } catch (error) {
    io.stderr(`backfill failed: ${(error as Error).message}\n`);
    return 1;
  }
  const todo = ranges.map((r) => ({ ...r, end: Math.max(r.start, Math.min(r.end, ends.get(partitionKey(r.topic, r.partition)) ?? r.end)) })).filter((r) => r.end > r.start);
  const total = todo.reduce((n, r) => n + r.end - r.start, 0);
  io.stdout(
    `backfill ${topology.name}: event time ${formatInstant(fromMs)} to ${formatInstant(toMs)}; reading ${total} records from ${formatInstant(fromMs - leadInMs)} (lead-in ${leadInMs / 60_000} min) to ${formatInstant(toMs + leadOutMs)} (lead-out ${leadOutMs / 60_000} min) in group ${group}\n`,
  );
  for (const s of excludedSinks(topology)) io.stdout(`sink ${s.id} left out: ${s.reason}\n`);
  if (total === 0) {
    io.stdout('nothing to read\n');
    return 0;
  }
  try {
    // Every partition, those with nothing to read too: one without a committed offset would be read from its beginning.
    await startGroupAt(kafka, group, ranges);
  } catch (error) {
    io.stderr(`backfill failed: cannot set the offsets of group ${group}: ${(error as Error).message}\n`);
    return 1;
  }

  const connections = connectionsFromEnv(env);
  const dynamo = createDynamoClient(connections);
  const sinkDynamo = createDynamoClient(connections, { maxAttempts: 1 });
  const s3 = createS3Client(connections, { maxAttempts: 1 });
  const runtime = createRuntime(runtimeOptionsOf(run, kafka, env));
  const pending = new Map(todo.map((r) => [partitionKey(r.topic, r.partition), r]));
  const seen = new Map<string, number>();
  const counts: IntervalCounts = { written: 0, outside: 0, deadLettersSuppressed: 0 };
  let read = 0;
  let lastRecordAt = Date.now();
  let stopping: string | undefined;
  const stop = (reason: string) => {
    if (stopping !== undefined) return;
    stopping = reason;
    void runtime.shutdown(reason);
  };
  // Windows read their input back through repartition topics: once the sources are read, the
  // backfill also waits until those are read to the end offsets they have by then.
  const repartitionTopics = internalTopicsOf(run).filter((t) => t.kind === 'repartition').map((t) => t.name);
  const consumed = new Map<string, number>();
  let settled = 0;
  let checking = false;
  let lastEnds = '';
  // Read to their ends, and the ends unchanged since the last look: the watermark markers the
  // repartition writers send every 500 ms have come through, so due windows have closed.
  const repartitionRead = async () => {
    if (repartitionTopics.length === 0) return true;
    const ends = await offsetsAt(kafka, repartitionTopics, 'latest');
    const text = JSON.stringify([...ends]);
    const unchanged = text === lastEnds;
    lastEnds = text;
    return unchanged && [...ends].every(([key, end]) => (consumed.get(key) ?? 0) >= end);
  };
  const onRecord = (meta: { topic: string; partition: number; offset: number }) => {
    const key = partitionKey(meta.topic, meta.partition);
    consumed.set(key, Math.max(consumed.get(key) ?? 0, meta.offset + 1));
    const range = pending.get(key);
    if (range === undefined) return;
    lastRecordAt = Date.now();
    const before = Math.min(seen.get(key) ?? range.start, range.end);
    const next = Math.max(before, Math.min(meta.offset + 1, range.end));
    seen.set(key, next);
    read += next - before;
    if (next >= range.end) {
      pending.delete(key);
    }
  };
  const progress = setInterval(() => {
    if (io.isTTY) io.stderr(`\rbackfill: read ${read} / ${total} records (${Math.floor((100 * read) / total)}%), written ${counts.written}`);
    if (pending.size > 0 && Date.now() - lastRecordAt > idleMs) stop(`no record for ${idleMs / 1000} s`);
    if (pending.size === 0 && stopping === undefined && !checking) {
      checking = true;
      void repartitionRead()
        .then((done) => {
          settled = done ? settled + 1 : 0;
          // For 3 s: what was read last may still be on its way to a repartition topic.
          if (settled >= 6) stop('backfill read every partition to its end offset');
        })
        .catch(() => {})
        .finally(() => (checking = false));
    }
  }, 500);
  const started = Date.now();
  try {
    const partitionCounts = await ensureTopologyTopics(run, kafka);
    await runtime.run(intervalPipeline(compileTopology(run, { dynamo, sinkDynamo, s3, kafka, partitionCounts }), { fromMs, toMs, sinkIds: new Set(run.sinks.map((s) => s.id)) }, onRecord, counts));
  } catch (error) {
    io.stderr(`${io.isTTY ? '\n' : ''}backfill failed: ${(error as Error).message}\n`);
    return 1;
  } finally {
    clearInterval(progress);
    dynamo.destroy();
    sinkDynamo.destroy();
    s3.destroy();
    await cleanUp(kafka, run, group);
  }
  if (io.isTTY) io.stderr(`\rbackfill: read ${read} / ${total} records (100%), written ${counts.written}\n`);
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  io.stdout(
    `read ${read} of ${total} records in ${seconds} s; ${counts.written} records and results written to the sinks, ${counts.outside} outside the interval not written, ${counts.deadLettersSuppressed} dead letters outside it not written again\n`,
  );
  if (pending.size > 0) {
    io.stderr(`stopped before the end (${stopping}): ${[...pending.values()].map((r) => `${r.topic}:${r.partition} at ${seen.get(partitionKey(r.topic, r.partition)) ?? r.start} of ${r.end}`).join(', ')}\n`);
    return 1;
  }
  return 0;
}

const BACKFILL_HELP = `Usage: tributary backfill <topology> --from <time> --to <time> [--lead-in <duration>] [--lead-out <duration>] [--idle-timeout <duration>] [--local]

Runs the topology again over event times [from, to), in its own consumer group, from the offsets of
those times (with a lead-in before --from that warms up dedup and windows, and a lead-out past --to
that closes the last windows), writing to the sinks only what falls in [from, to); the idempotent
sinks overwrite what was there. Stops when the sources are read to their ends. Times: epoch ms or
ISO-8601, UTC unless zoned; with S3 sinks, whole hours. A progress line on a terminal.
TRIBUTARY_BROKERS is required unless --local or TRIBUTARY_LOCAL=1 (the local stack).`;

export const backfillCommand: Command = {
  name: 'backfill',
  summary: 'run the topology again over [from, to) in its own group; idempotent sinks overwrite',
  help: BACKFILL_HELP,
  run: (args, io) =>
    withUsage(backfillCommand, io, async () => {
      const { values, positionals } = parseArgs({
        args: [...args],
        allowPositionals: true,
        options: { from: { type: 'string' }, to: { type: 'string' }, 'lead-in': { type: 'string' }, 'lead-out': { type: 'string' }, 'idle-timeout': { type: 'string' }, ...LOCAL_OPTION },
      });
      const topology = onePositional(positionals, 'topology file');
      if (values.from === undefined || values.to === undefined) throw new UsageError('--from and --to are required');
      return backfill(
        {
          topology,
          from: values.from,
          to: values.to,
          ...(values['lead-in'] === undefined ? {} : { leadIn: values['lead-in'] }),
          ...(values['lead-out'] === undefined ? {} : { leadOut: values['lead-out'] }),
          ...(values['idle-timeout'] === undefined ? {} : { idleTimeout: values['idle-timeout'] }),
          local: values.local === true,
        },
        { ...io, isTTY: process.stderr.isTTY === true },
      );
    }),
};
