import { parseArgs } from 'node:util';
import { connectionsFromEnv } from '../../config.ts';
import { bucketsOf, planProvision, provisionTopology, tablesOf, topicsOf, type PlannedItem } from '../provision.ts';
import { kafkaConnectionFromEnv } from '../run.ts';
import { connectingEnv, ENV_FILE_OPTION, environment, LOCAL_OPTION, onePositional, readTopology, UsageError, withUsage, type Command } from './command.ts';

const HELP = `Usage: tributary provision <topology> [--dry-run] [--local] [--partitions <n>] [--env-file <file>]

Creates what the topology needs and does not find: its Kafka topics (dead letters included),
DynamoDB tables (on demand, TTL enabled where a sink sets one) and S3 buckets. Idempotent.
Internal topics (repartition, changelogs) are created by run itself.
Against the endpoints the environment names, as run connects (TRIBUTARY_BROKERS, TRIBUTARY_KAFKA_TLS,
TRIBUTARY_KAFKA_SASL_*, TRIBUTARY_DYNAMODB_ENDPOINT, TRIBUTARY_S3_ENDPOINT, AWS_*), or the local
stack with --local or TRIBUTARY_LOCAL=1. An unreachable Kafka fails after 30 s
(TRIBUTARY_KAFKA_UNAVAILABLE_TIMEOUT_MS).

Options:
  --dry-run          print what exists and what would be created; change nothing
  --local            use the local stack
  --partitions <n>   partitions of the topics it creates (default 3)`;

export const provision: Command = {
  name: 'provision',
  summary: 'create the topics, tables and buckets a topology needs (--dry-run: print the plan)',
  help: HELP,
  run: (args, io) =>
    withUsage(provision, io, async () => {
      const { values, positionals } = parseArgs({
        args: [...args],
        allowPositionals: true,
        options: { 'dry-run': { type: 'boolean' }, ...LOCAL_OPTION, partitions: { type: 'string' }, ...ENV_FILE_OPTION },
      });
      const file = onePositional(positionals, 'topology file');
      const partitions = values.partitions === undefined ? 3 : Number(values.partitions);
      if (!Number.isInteger(partitions) || partitions < 1) throw new UsageError(`--partitions must be a positive integer (got "${values.partitions}")`);
      const topology = await readTopology(file, io, await environment(io.env, values['env-file']));
      if (topology === undefined) return 1;
      const env = connectingEnv(io, values.local === true);
      if (env === undefined) return 1;
      const connections = connectionsFromEnv(env);
      // Kafka as run connects (TLS, SASL), but an unreachable cluster fails in 30 s rather than run's 5 min.
      const options = { partitions, kafka: { unavailableTimeoutMs: 30_000, ...kafkaConnectionFromEnv(env) } };
      try {
        if (values['dry-run']) {
          const plan = await planProvision(topology, connections, options);
          io.stdout(formatPlan(plan));
          const missing = plan.filter((i) => !i.exists).length;
          io.stdout(`dry run: ${missing} to create, ${plan.length - missing} existing; nothing changed\n`);
          return 0;
        }
        const created = await provisionTopology(topology, connections, options);
        for (const topic of created.topics) io.stdout(`created topic ${topic}\n`);
        for (const table of created.tables) io.stdout(`created table ${table}\n`);
        for (const bucket of created.buckets) io.stdout(`created bucket ${bucket}\n`);
        const total = topicsOf(topology).length + tablesOf(topology).length + bucketsOf(topology).length;
        const count = created.topics.length + created.tables.length + created.buckets.length;
        io.stdout(`provisioned "${topology.name}": ${count} created, ${total - count} existing\n`);
        return 0;
      } catch (error) {
        io.stderr(`provision failed: ${reason(error)}\n`);
        return 1;
      }
    }),
};

/** One aligned line per item: kind, name, state. */
export function formatPlan(plan: readonly PlannedItem[]): string {
  const width = Math.max(0, ...plan.map((i) => i.name.length));
  return plan
    .map((i) => {
      const state = i.exists ? (i.detail === undefined ? 'exists' : `exists, ${i.detail}`) : `would be created${i.detail === undefined ? '' : ` (${i.detail})`}`;
      return `${i.kind.padEnd(6)} ${i.name.padEnd(width)}  ${state}\n`;
    })
    .join('');
}

/** The message and the innermost one a nested error carries: `Listing topics failed. (Cannot connect to any broker.)`. */
function reason(error: unknown): string {
  const message = (error as Error).message;
  let inner = error as { errors?: unknown[]; cause?: unknown; message?: string };
  for (let next = inner.errors?.at(-1) ?? inner.cause; typeof next === 'object' && next !== null; next = inner.errors?.at(-1) ?? inner.cause) inner = next;
  return inner === error || inner.message === message ? message : `${message} (${inner.message})`;
}
