/**
 * What `reconcile` expects of one Parquet sink for one hour, from the Kafka records alone: each
 * record of the hour is dead-lettered by a step on the sink's path, a duplicate its dedup drops, kept
 * off the path by a filter or route, or a row in the sink's Parquet. Pure: no I/O.
 */
import { compileKey, compilePredicate, fieldPath } from '../../core/expression.ts';
import { parseTimestampMs } from '../../operators/event-time.ts';
import type { InputRef, S3ParquetSink, ValidTopology } from '../types.ts';
import { upstreamOf } from './common.ts';
import type { RangeRecord } from './read-range.ts';

export interface SinkPlan {
  readonly sink: S3ParquetSink;
  readonly topics: readonly string[];
  /** Steps (and the sink) whose dead letters explain a missing row. */
  readonly deadLetterSteps: ReadonlySet<string>;
  /** The dedup step's key, when the path has one. */
  readonly dedupKey: ((value: unknown) => string | undefined) | undefined;
  /** The Parquet column holding the event id (the dedup key flattened, else `event_id`). */
  readonly idColumn: string;
  /** Event time of a source record (its source's `eventTime`), undefined when it has none. */
  eventTimeOf(record: RangeRecord, value: unknown): number | undefined;
  /** Whether a record's parsed value gets through the filters and routes to the sink. */
  reaches(topic: string, value: unknown): boolean;
}

/** Steps whose results are new records, not source records: their rows cannot be counted against Kafka. */
const PRODUCING = new Set(['window', 'fraud']);

/** The plan for a sink, or why it cannot be reconciled. */
export function planSink(topology: ValidTopology, sink: S3ParquetSink): SinkPlan | { readonly reason: string } {
  const upstream = upstreamOf(topology, sink.from);
  const steps = topology.steps.filter((s) => upstream.has(s.id));
  const producing = steps.find((s) => PRODUCING.has(s.kind));
  if (producing !== undefined) return { reason: `fed by "${producing.id}" (${producing.kind} results, not source records)` };
  const sources = topology.sources.filter((s) => upstream.has(s.id));
  const dedup = steps.find((s) => s.kind === 'dedup');
  const key = dedup?.kind === 'dedup' ? dedup.key : undefined;
  const dedupKey = key === undefined ? undefined : compileKey(key);
  const idColumn = key?.length === 1 ? (key[0] as string).replaceAll('.', '_') : 'event_id';
  const topicSource = new Map(sources.flatMap((s) => s.topics.map((t) => [t, s] as const)));
  const predicates = new Map<string, (value: unknown) => boolean>();
  for (const step of steps) {
    if (step.kind === 'filter') predicates.set(step.id, compilePredicate(step.when));
  }
  const routeOf = new Map(
    steps.flatMap((s) => (s.kind === 'route' ? [[s.id, { mode: s.mode, fallback: s.defaultOutput, routes: s.routes.map((r) => ({ output: r.output, when: compilePredicate(r.when) })) }] as const] : [])),
  );
  const reachesRef = (ref: InputRef, topic: string, value: unknown): boolean => {
    const source = topology.sources.find((s) => s.id === ref.id);
    if (source !== undefined) return source.topics.includes(topic);
    const step = topology.steps.find((s) => s.id === ref.id);
    if (step === undefined || !step.from.some((r) => reachesRef(r, topic, value))) return false;
    if (step.kind === 'dedup' && ref.output === 'duplicate') return false;
    const when = predicates.get(step.id);
    if (when !== undefined && !when(value)) return false;
    const route = routeOf.get(step.id);
    if (route !== undefined) {
      const matching = route.routes.filter((r) => r.when(value)).map((r) => r.output);
      const outputs = matching.length === 0 ? (route.fallback === undefined ? [] : [route.fallback]) : route.mode === 'first' ? matching.slice(0, 1) : matching;
      return outputs.includes(ref.output ?? '');
    }
    return true;
  };
  const timeFields = new Map(sources.map((s) => [s.id, s.eventTime === 'kafka' ? undefined : fieldPath(s.eventTime.field)]));
  return {
    sink,
    topics: [...topicSource.keys()],
    deadLetterSteps: new Set([...steps.map((s) => s.id), sink.id]),
    dedupKey,
    idColumn,
    eventTimeOf(record, value) {
      const source = topicSource.get(record.topic);
      const field = source === undefined ? undefined : timeFields.get(source.id);
      return field === undefined ? record.timestamp : parseTimestampMs(field(value));
    },
    reaches: (topic, value) => sink.from.some((ref) => reachesRef(ref, topic, value)),
  };
}

/** One topic's side of the equation for the hour. */
export interface KafkaCounts {
  records: number;
  /** Distinct ids among the records neither dead-lettered nor kept off the path. */
  readonly ids: Set<string>;
  deadLetters: number;
  duplicates: number;
  filtered: number;
  /** Rows expected in Parquet, per Kafka partition. */
  readonly expectedByPartition: Map<number, number>;
}

/** `JSON.parse` of a record's value, or undefined. */
export function decode(value: Buffer | null): unknown {
  if (value === null) return undefined;
  try {
    return JSON.parse(value.toString('utf8')) as unknown;
  } catch {
    return undefined;
  }
}

/**
 * Counts the records of `[hourStartMs, +1h)` by event time (a record without one, such as malformed
 * JSON, by its Kafka timestamp). `deadLettered` holds `topic:partition:offset` of the records a step
 * on the path dead-lettered. Records are taken in the order given (offset order per partition).
 */
export function countKafka(plan: SinkPlan, records: Iterable<RangeRecord>, hourStartMs: number, deadLettered: ReadonlySet<string>): Map<string, KafkaCounts> {
  const counts = new Map(plan.topics.map((t) => [t, { records: 0, ids: new Set<string>(), deadLetters: 0, duplicates: 0, filtered: 0, expectedByPartition: new Map<number, number>() } as KafkaCounts]));
  const seen = new Set<string>();
  for (const record of records) {
    const c = counts.get(record.topic);
    if (c === undefined) continue;
    const value = decode(record.value);
    const time = plan.eventTimeOf(record, value) ?? record.timestamp;
    if (time < hourStartMs || time >= hourStartMs + 3_600_000) continue;
    c.records++;
    if (deadLettered.has(`${record.topic}:${record.partition}:${record.offset}`)) {
      c.deadLetters++;
      continue;
    }
    if (!plan.reaches(record.topic, value)) {
      c.filtered++;
      continue;
    }
    const id = plan.dedupKey?.(value) ?? (value as { event_id?: unknown } | undefined)?.event_id;
    if (typeof id === 'string') {
      c.ids.add(id);
      if (plan.dedupKey !== undefined && seen.has(id)) {
        c.duplicates++;
        continue;
      }
      seen.add(id);
    }
    c.expectedByPartition.set(record.partition, (c.expectedByPartition.get(record.partition) ?? 0) + 1);
  }
  return counts;
}
