import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { SchedulerLike } from 'rxjs';
import { ConfigError } from '../../../core/errors.ts';
import { changelogTopic } from '../../../core/state.ts';
import { dedup } from '../../../operators/dedup.ts';
import { ChangelogDedupStore } from '../../../operators/dedup-changelog.ts';
import { DynamoDedupStore, type DedupStore } from '../../../operators/dedup-store.ts';
import { duration, key, oneOf, positiveInt, tableName } from '../../checks.ts';
import { formatDuration, object, properties } from '../common.ts';
import { defineStep, option, type NodeBase, type StepDeps } from '../kind.ts';
import type { Duration, KeySpec } from '../../spec.ts';

export interface DedupSpec {
  readonly id: string;
  readonly kind: 'dedup';
  readonly from: string | readonly string[];
  /** Default `event_id`. */
  readonly key?: KeySpec;
  /** How long a key is remembered. Default `1h`. */
  readonly ttl?: Duration;
  /** Default 250,000 (with the other default bounds, fits a 320 MB heap: README, "Memory model"). */
  readonly maxKeys?: number;
  /** Remember keys in a DynamoDB table too, across restarts. */
  readonly durable?: { readonly table: string };
  /** `drop` (default) or `route` to the `duplicate` output. */
  readonly duplicates?: 'drop' | 'route';
}

export interface DedupStep extends NodeBase {
  readonly kind: 'dedup';
  readonly key: readonly string[];
  readonly ttlMs: number;
  readonly maxKeys: number;
  readonly durable: { readonly table: string } | undefined;
  readonly duplicates: 'drop' | 'route';
}

const durableTable = object((f) => ({ table: f.req('table', tableName) }), properties({ table: tableName }, { table: 'The DynamoDB table (keyed by pk).' }, ['table']));

export const dedupKind = defineStep<DedupSpec, DedupStep>()({
  kind: 'dedup',
  doc: 'Drops (or routes to its duplicate output) records whose key was seen within ttl. On Kafka its claims are kept per source partition in a changelog topic.',
  options: {
    key: option(key, { default: 'event_id', doc: 'The duplicate key: an expression or a list of them.' }),
    ttl: option(duration(), { default: '1h', doc: 'How long a key is remembered.' }),
    maxKeys: option(positiveInt, { default: 250_000, doc: 'Keys held in memory at most (the least recently seen are forgotten first): ~120 B of heap each.' }),
    durable: option(durableTable, { doc: 'Remember keys in a DynamoDB table instead of the changelog topic.' }),
    duplicates: option(oneOf('drop', 'route'), { default: 'drop', doc: 'drop, or route to the duplicate output.' }),
  },
  read: (o, base) => ({
    ...base,
    kind: 'dedup',
    key: o.get('key'),
    ttlMs: o.get('ttl'),
    maxKeys: o.get('maxKeys'),
    durable: o.get('durable'),
    duplicates: o.get('duplicates'),
  }),
  compile: (step, { apply, deps, scheduler }) =>
    apply(
      dedup({
        id: step.id,
        key: step.key,
        ttlMs: step.ttlMs,
        maxKeys: step.maxKeys,
        scheduler,
        deadLetter: deps.deadLetter,
        duplicates: step.duplicates,
        metrics: deps.metrics,
        ...dedupStore(step, deps, scheduler),
      }),
    ),
  describe: (step) => `${step.key.join(', ')} for ${formatDuration(step.ttlMs)}`,
  outputs: (step) => (step.duplicates === 'route' ? ['duplicate'] : []),
  mainTag: 'unique',
  keepsOrder: true,
  durable: (step) => step.durable === undefined,
  // Claims are only needed for their TTL: the changelog deletes them after it (and an hour).
  internalTopics: (step, group) => (step.durable === undefined ? [{ name: changelogTopic(group, step.id), kind: 'changelog', retentionMs: step.ttlMs + 3_600_000 }] : []),
  tables: (step) => (step.durable ? [{ table: step.durable.table, partitionKey: { name: 'pk', type: 'string' }, ttlAttribute: 'expires_at' }] : []),
});

/** Where dedup remembers keys beyond its memory: a DynamoDB table if named, else its changelog when run on Kafka. */
function dedupStore(step: DedupStep, deps: StepDeps, scheduler: SchedulerLike): { store?: DedupStore; storeBatchSize?: number } {
  if (step.durable) return { store: durableStore(step.id, step.durable.table, deps.dynamo) };
  if (deps.state === undefined) return {};
  const store = new ChangelogDedupStore(deps.state, { maxKeys: step.maxKeys });
  // Claims are read back as partitions are assigned, those of the topics this step reads only.
  const upstream = deps.upstreamTopics?.(step.id);
  deps.assigned?.subscribe((partitions) => store.prepare(upstream === undefined ? partitions : partitions.filter((tp) => upstream.has(tp.topic)), scheduler.now()));
  deps.revoked?.subscribe((partitions) => store.revoke(partitions));
  return { store, storeBatchSize: 2000 };
}

function durableStore(id: string, table: string, client: DynamoDBClient | undefined): DynamoDedupStore {
  if (!client) throw new ConfigError(`/steps/${id}/durable: a DynamoDB client is needed for a durable dedup table`);
  return new DynamoDedupStore({ client, tableName: table, keyPrefix: `${id}#` });
}
