/**
 * `tributary redrive <topology>`: sends dead letters back to the topics their records came from,
 * after the cause was fixed (a schema widened, a bound raised). Reads the topology's dead-letter
 * topic from its start to the end offsets at start (its own throwaway consumer group, nothing
 * committed), keeps those matching `--step`, `--code`, `--from`/`--to` (the dead letter's Kafka
 * timestamp: when it was dead-lettered) and re-produces each one's key, value and original headers
 * to its source topic and partition, with `tributary.redriven-from: <topic>:<partition>:<offset>`
 * naming the dead letter. `--dry-run` only counts.
 */
import { LOCAL_OPTION, onePositional, UsageError, withUsage, type Command } from './command.ts';
import { parseArgs } from 'node:util';
import { ConfigError } from '../../core/errors.ts';
import { DEAD_LETTER_HEADERS } from '../../runtime/dead-letters.ts';
import { KafkaProducer, type OutgoingRecord } from '../../sinks/kafka-producer.ts';
import { kafkaConnectionFromEnv } from '../run.ts';
import type { ValidTopology } from '../types.ts';
import { formatInstant, formatTable, parseInstant, topologyToConnect, upstreamOf, type CommandIo } from './common.ts';
import { rangesOf, readerGroup, readRange, type RangeRecord } from './read-range.ts';

export const REDRIVEN_FROM_HEADER = 'tributary.redriven-from';

export interface RedriveOptions {
  /** The topology file. */
  readonly topology: string;
  /** Only dead letters of these steps (or sinks); empty: all. */
  readonly steps?: readonly string[];
  /** Only these error codes (`TRIB_VALIDATION`); empty: all. */
  readonly codes?: readonly string[];
  /** Dead-lettered at or after (epoch ms or ISO-8601, UTC unless zoned). */
  readonly from?: string;
  /** Dead-lettered before. */
  readonly to?: string;
  /** Local mode (`--local`): no TRIBUTARY_BROKERS needed; without it (or TRIBUTARY_LOCAL=1) a missing one is refused. */
  readonly local?: boolean;
  /** Count by step and error code; send nothing. */
  readonly dryRun?: boolean;
}

export interface RedriveFilter {
  readonly steps: ReadonlySet<string>;
  readonly codes: ReadonlySet<string>;
  readonly fromMs: number | undefined;
  readonly toMs: number | undefined;
}

/** What to do with one dead letter. */
export type RedriveDecision =
  | { readonly action: 'filtered' }
  | { readonly action: 'skip'; readonly reason: string }
  | { readonly action: 'send'; readonly record: OutgoingRecord };

/** Steps whose output is not the value they were given: a dead letter after one holds the changed value. */
const RESHAPING = new Set(['flatten', 'project', 'map', 'rename', 'parse-field', 'window', 'fraud']);

/** The filter the options describe; throws a ConfigError for a bad time. */
export function redriveFilter(options: RedriveOptions): RedriveFilter {
  const split = (values: readonly string[] | undefined) => new Set((values ?? []).flatMap((v) => v.split(',')).map((v) => v.trim()).filter(Boolean));
  const fromMs = options.from === undefined ? undefined : parseInstant(options.from, 'from');
  const toMs = options.to === undefined ? undefined : parseInstant(options.to, 'to');
  if (fromMs !== undefined && toMs !== undefined && toMs <= fromMs) throw new ConfigError(`--to must be after --from`);
  return { steps: split(options.steps), codes: split(options.codes), fromMs, toMs };
}

/**
 * Decides one dead letter: filtered out, skipped (with why), or the record to send back. Skipped:
 * a value the broker refused (`tributary.value.dropped`), a source topic the topology does not read
 * (an internal topic: a window's repartition topic), a step the topology no longer has, and a step
 * after one that reshapes records (`flatten`, `project`, ...): its dead letter holds the reshaped
 * value, which the source topic must not receive.
 */
export function decideRedrive(record: RangeRecord, topology: ValidTopology, filter: RedriveFilter): RedriveDecision {
  const h = record.headers;
  const step = h[DEAD_LETTER_HEADERS.step] ?? '';
  const code = h[DEAD_LETTER_HEADERS.code] ?? '';
  if (filter.steps.size > 0 && !filter.steps.has(step)) return { action: 'filtered' };
  if (filter.codes.size > 0 && !filter.codes.has(code)) return { action: 'filtered' };
  if (filter.fromMs !== undefined && record.timestamp < filter.fromMs) return { action: 'filtered' };
  if (filter.toMs !== undefined && record.timestamp >= filter.toMs) return { action: 'filtered' };
  const topic = h[DEAD_LETTER_HEADERS.topic];
  const partition = Number(h[DEAD_LETTER_HEADERS.partition]);
  if (topic === undefined || !Number.isInteger(partition)) return { action: 'skip', reason: 'not a Tributary dead letter (no tributary.source.* headers)' };
  const origin = `${topic}:${partition}:${h[DEAD_LETTER_HEADERS.offset]}`;
  const dropped = h[DEAD_LETTER_HEADERS.dropped];
  if (dropped !== undefined) return { action: 'skip', reason: `value dropped (${dropped}); the original is at ${origin}` };
  if (!topology.sources.some((s) => s.topics.includes(topic))) return { action: 'skip', reason: `${topic} is not a source topic of the topology` };
  const node = topology.steps.find((s) => s.id === step) ?? topology.sinks.find((s) => s.id === step);
  if (node === undefined) return { action: 'skip', reason: `step "${step}" is not in the topology` };
  const reshaped = [...upstreamOf(topology, node.from)].find((id) => RESHAPING.has(topology.steps.find((s) => s.id === id)?.kind ?? ''));
  if (reshaped !== undefined) return { action: 'skip', reason: `its value was reshaped by "${reshaped}" before "${step}"; the original is at ${origin}` };
  return {
    action: 'send',
    record: {
      topic,
      partition,
      key: record.key,
      value: record.value,
      headers: {
        ...Object.fromEntries(Object.entries(h).filter(([name]) => !name.startsWith('tributary.'))),
        [REDRIVEN_FROM_HEADER]: `${record.topic}:${record.partition}:${record.offset}`,
      },
    },
  };
}

interface Tally {
  matching: number;
  sent: number;
  skipped: number;
}

/**
 * Runs `redrive`; resolves with the exit code: 0 done, 1 a failure (topology, Kafka), 2 bad options.
 * Writes the counts by step and error code to stdout, one line per skipped dead letter to stderr.
 */
export async function redrive(options: RedriveOptions, io: CommandIo): Promise<number> {
  let filter: RedriveFilter;
  try {
    filter = redriveFilter(options);
  } catch (error) {
    io.stderr(`${(error as Error).message}\n`);
    return 2;
  }
  const opened = await topologyToConnect(options.topology, io, options.local === true);
  if (opened === undefined) return 1;
  const { topology, env } = opened;
  const connection = kafkaConnectionFromEnv(env);
  const dlTopic = topology.deadLetters.topic;
  const group = topology.sources[0]?.group ?? 'tributary';
  const producer = options.dryRun ? undefined : new KafkaProducer({ ...connection, clientId: `${group}-redrive` });
  const tallies = new Map<string, Tally>();
  let read = 0;
  let batch: OutgoingRecord[] = [];
  const flush = async () => {
    if (producer === undefined || batch.length === 0) return;
    const outcomes = await producer.send(batch);
    const refused = outcomes.find((o) => o !== undefined);
    if (refused !== undefined) throw new Error(`the broker refused a redriven record: ${refused.message}`, { cause: refused });
    batch = [];
  };
  try {
    const ranges = await rangesOf(connection, [dlTopic]);
    for await (const record of readRange({ connection, ranges, groupId: readerGroup(`${group}-redrive`) })) {
      read++;
      const decision = decideRedrive(record, topology, filter);
      if (decision.action === 'filtered') continue;
      const label = `${record.headers[DEAD_LETTER_HEADERS.step] ?? '?'}\t${record.headers[DEAD_LETTER_HEADERS.code] ?? '?'}`;
      const tally = tallies.get(label) ?? { matching: 0, sent: 0, skipped: 0 };
      tallies.set(label, tally);
      tally.matching++;
      if (decision.action === 'skip') {
        tally.skipped++;
        io.stderr(`skipped dead letter ${record.topic}:${record.partition}:${record.offset}: ${decision.reason}\n`);
        continue;
      }
      tally.sent++;
      if (producer !== undefined) {
        batch.push(decision.record);
        if (batch.length >= 500) await flush();
      }
    }
    await flush();
  } catch (error) {
    io.stderr(`redrive failed: ${(error as Error).message}\n`);
    return 1;
  } finally {
    await producer?.close().catch(() => {});
  }
  const window = [filter.fromMs === undefined ? '' : `from ${formatInstant(filter.fromMs)}`, filter.toMs === undefined ? '' : `to ${formatInstant(filter.toMs)}`].filter(Boolean).join(' ');
  io.stdout(`${dlTopic}: ${read} dead letters read${window ? `, dead-lettered ${window}` : ''}${options.dryRun ? ' (dry run: nothing sent)' : ''}\n`);
  const rows = [...tallies].sort(([a], [b]) => a.localeCompare(b)).map(([label, t]) => [...label.split('\t'), t.matching, t.sent, t.skipped] as (string | number)[]);
  const total = [...tallies.values()].reduce((sum, t) => ({ matching: sum.matching + t.matching, sent: sum.sent + t.sent, skipped: sum.skipped + t.skipped }), { matching: 0, sent: 0, skipped: 0 });
  rows.push(['total', '', total.matching, total.sent, total.skipped]);
  io.stdout(formatTable(['step', 'code', 'matching', options.dryRun ? 'would send' : 'sent', 'skipped'], rows));
  return 0;
}

const REDRIVE_HELP = `Usage: tributary redrive <topology> [--step <id>]... [--code <code>]... [--from <time>] [--to <time>] [--dry-run] [--local]

Reads the topology's dead-letter topic from its start to its end at the moment, and sends the
original records (key, bytes, headers other than tributary.*, plus tributary.redriven-from) back to
their source topic and partition: after a fix, so that they go through the topology again.
--step, --code: only dead letters of these steps or error codes (repeat or comma-separate them).
--from, --to: only those dead-lettered in [from, to) (epoch ms or ISO-8601, UTC unless zoned).
--dry-run: counts by step and error code; sends nothing.
TRIBUTARY_BROKERS is required unless --local or TRIBUTARY_LOCAL=1 (the local stack).`;

export const redriveCommand: Command = {
  name: 'redrive',
  summary: 'send dead letters back to their source topics after a fix (filters; --dry-run counts)',
  help: REDRIVE_HELP,
  run: (args, io) =>
    withUsage(redriveCommand, io, async () => {
      const { values, positionals } = parseArgs({
        args: [...args],
        allowPositionals: true,
        options: { step: { type: 'string', multiple: true }, code: { type: 'string', multiple: true }, from: { type: 'string' }, to: { type: 'string' }, 'dry-run': { type: 'boolean' }, ...LOCAL_OPTION },
      });
      const topology = onePositional(positionals, 'topology file');
      return redrive(
        {
          topology,
          ...(values.step === undefined ? {} : { steps: values.step }),
          ...(values.code === undefined ? {} : { codes: values.code }),
          ...(values.from === undefined ? {} : { from: values.from }),
          ...(values.to === undefined ? {} : { to: values.to }),
          dryRun: values['dry-run'] === true,
          local: values.local === true,
        },
        io,
      );
    }),
};
