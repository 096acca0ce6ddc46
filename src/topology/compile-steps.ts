import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { asyncScheduler, map, merge, type Observable, type OperatorFunction, type SchedulerLike } from 'rxjs';
import { ConfigError } from '../core/errors.ts';
import { dedup } from '../operators/dedup.ts';
import { ChangelogDedupStore } from '../operators/dedup-changelog.ts';
import { DynamoDedupStore, type DedupStore } from '../operators/dedup-store.ts';
import { withEventTime } from '../operators/event-time.ts';
import { compileField, compileKey, compilePredicate, type Predicate } from '../core/expression.ts';
import { filter } from '../operators/filter.ts';
import { flatten } from '../operators/flatten.ts';
import { fraudAmount } from '../operators/fraud-amount.ts';
import { fraudDistinct } from '../operators/fraud-distinct.ts';
import { fraudSequence } from '../operators/fraud-sequence.ts';
import { fraudVelocity } from '../operators/fraud-velocity.ts';
import { parseJson } from '../operators/parse-json.ts';
import { parseField } from '../operators/parse-field.ts';
import { rename } from '../operators/rename.ts';
import { project } from '../operators/project.ts';
import { route } from '../operators/route.ts';
import { validate, type EventSchema } from '../operators/validate.ts';
import { approxDistinct, avg, count, distinct, eventTimeFromEnvelope, max, min, sum, topK, window, type Aggregator, type PartitionFlow } from '../operators/window.ts';
import { withValue, type Envelope, type Routed } from '../core/envelope.ts';
import type { Metrics } from '../core/metrics.ts';
import type { DeadLetter } from '../core/sink.ts';
import type { Changelog } from '../core/state.ts';
import type { KafkaConnectionOptions } from '../sources/connection.ts';
import type { TopicPartition } from '../core/partition.ts';
import type { Aggregate, DedupStep, FieldSelection, FraudStep, ValidSource, ValidStep, WindowStep } from './types.ts';

/** What steps need from outside. */
export interface StepDeps {
  readonly deadLetter: DeadLetter;
  readonly metrics: Metrics;
  /** Processing time for TTLs and idle watermarks (default `asyncScheduler`). */
  readonly scheduler?: SchedulerLike;
  /** For `dedup` with `durable: { table }`. */
  readonly dynamo?: DynamoDBClient;
  /**
   * A bounded input (a test, a backfill): windows emit what is open when the input ends. An
   * unbounded Kafka source leaves them open instead, so their records are replayed on restart.
   */
  readonly bounded?: boolean;
  /** The partitions assigned to the source, as they are assigned (windows register them). */
  readonly assigned?: Observable<readonly TopicPartition[]>;
  /** The source's pauses (`paused` true) and resumptions of partitions (windows do not count paused partitions idle). */
  readonly flow?: Observable<PartitionFlow>;
  /** Partitions revoked from the source (windows drop them from their watermark and state). */
  readonly revoked?: Observable<readonly TopicPartition[]>;
  /** The source topics upstream of a step. */
  readonly upstreamTopics?: (stepId: string) => ReadonlySet<string>;
  /** The changelog of the step being compiled, when its state is durable (windows read through a repartition topic). */
  readonly state?: Changelog;
  /** For repartition topics. */
  readonly kafka?: KafkaConnectionOptions;
  /** With `state`: the upstream partitions a repartitioned window's watermark waits for. */
  readonly origins?: readonly TopicPartition[];
}

type AnyEnvelope = Envelope<unknown>;
type StepOutput = Observable<AnyEnvelope | Routed<unknown>>;

/**
 * Turns one validated step into its operator applied to its inputs (merged, for fan-in).
 * @param sources for each input, the source it is, if any (a parse step takes their event time)
 */
export function compileStep(step: ValidStep, inputs: Observable<AnyEnvelope>[], deps: StepDeps, sources: (ValidSource | undefined)[]): StepOutput {
  const { id } = step;
  const { deadLetter, metrics } = deps;
  const scheduler = deps.scheduler ?? asyncScheduler;
  const merged = () => (inputs.length === 1 ? (inputs[0] as Observable<AnyEnvelope>) : merge(...inputs));
  const apply = (operator: OperatorFunction<AnyEnvelope, AnyEnvelope | Routed<unknown>>): StepOutput => merged().pipe(operator);

  switch (step.kind) {
    case 'parse':
      // Each source keeps its own event-time setting, so parse each input on its own.
      return merge(
        ...inputs.map((input, i) => {
          const source = sources[i];
          const parsed = (input as Observable<Envelope<Buffer | null>>).pipe(parseJson({ id, maxBytes: step.maxBytes, maxDepth: step.maxDepth, deadLetter }));
          return source === undefined ? parsed : parsed.pipe(withEventTime({ id, from: source.eventTime, deadLetter, ...step.eventTime, scheduler }));
        }),
      );
    case 'validate':
      return apply(
        validate({
          id,
          // The topology's validation checked every type name, so the strings are `FieldTypeSpec`s.
          schema: {
            discriminator: step.discriminator,
            common: step.common,
            ...(step.events ? { events: step.events } : {}),
            unknownEventTypes: step.unknownEventTypes,
          } as EventSchema,
          deadLetter,
        }),
      );
    case 'flatten':
      return apply(flatten({ id, delimiter: step.delimiter, arrays: step.arrays, deadLetter }) as OperatorFunction<AnyEnvelope, AnyEnvelope>);
    case 'project':
      return apply(project({ id, fields: step.fields }));
    case 'map':
      return apply(mapFields(step.fields));
    case 'filter':
      return apply(filter({ id, when: step.when }));
    case 'route':
      return apply(route({ id, routes: step.routes, mode: step.mode, ...(step.defaultOutput ? { defaultOutput: step.defaultOutput } : {}), metrics }));
    case 'dedup':
      return apply(
        dedup({
          id,
          key: step.key,
          ttlMs: step.ttlMs,
          maxKeys: step.maxKeys,
          scheduler,
          deadLetter,
          duplicates: step.duplicates,
          metrics,
          ...dedupStore(step, deps),
        }),
      );
    case 'window':
      return apply(compileWindow(step, deps, scheduler));
    case 'fraud':
      return apply(compileFraud(step, metrics, deps, scheduler));
    case 'parse-field':
      return apply(parseField({ id, field: step.field, into: step.into, maxDepth: step.maxDepth, maxBytes: step.maxBytes, deadLetter }));
    case 'rename':
      return apply(rename({ id, fields: step.fields, ...(step.normalize ? { normalize: step.normalize } : {}), deadLetter }));
  }
}

/** `map`: the whole record, with the listed fields set from their expressions. */
function mapFields(fields: FieldSelection): OperatorFunction<AnyEnvelope, AnyEnvelope> {
  const setters = Array.isArray(fields) ? [] : Object.entries(fields as Record<string, string>).map(([name, expr]) => [name, compileField(expr)] as const);
  return map((envelope) => {
    if (setters.length === 0) return envelope;
    const value = { ...(envelope.value as Record<string, unknown>) };
    for (const [name, get] of setters) value[name] = get(envelope.value, envelope.meta);
    return withValue(envelope, value);
  });
}

/** Where dedup remembers keys beyond its memory: a DynamoDB table if named, else its changelog when run on Kafka. */
function dedupStore(step: DedupStep, deps: StepDeps): { store?: DedupStore; storeBatchSize?: number } {
  if (step.durable) return { store: durableStore(step.id, step.durable.table, deps.dynamo) };
  if (deps.state === undefined) return {};
  const store = new ChangelogDedupStore(deps.state, { maxKeys: step.maxKeys });
  deps.revoked?.subscribe((partitions) => store.revoke(partitions));
  return { store, storeBatchSize: 2000 };
}

function durableStore(id: string, table: string, client: DynamoDBClient | undefined): DynamoDedupStore {
  if (!client) throw new ConfigError(`/steps/${id}/durable: a DynamoDB client is needed for a durable dedup table`);
  return new DynamoDedupStore({ client, tableName: table, keyPrefix: `${id}#` });
}

function compileWindow(step: WindowStep, deps: StepDeps, scheduler: SchedulerLike): OperatorFunction<AnyEnvelope, Routed<unknown>> {
  const key = step.key.length === 0 ? () => '' : compileKey(step.key);
  const carried = step.carry.map((path) => [path.replaceAll('.', '_'), compileField(path)] as const);
  const aggregators = Object.fromEntries(step.aggregate.map((a) => [a.name, aggregatorOf(a)]));
  const topics = deps.upstreamTopics?.(step.id);
  const partitions = topics && deps.assigned?.pipe(map((assigned) => assigned.filter((p) => topics.has(p.topic))));
  const flow = topics && deps.flow?.pipe(map(({ paused, partitions: all }) => ({ paused, partitions: all.filter((p) => topics.has(p.topic)) })));
  const revoked = topics && deps.revoked?.pipe(map((all) => all.filter((p) => topics.has(p.topic))));
  return window<unknown, Record<string, Aggregator<unknown>>>({
    id: step.id,
    window: step.window,
    // Records without the key are windowed under the empty key; filter them out upstream if needed.
    key: (value) => key(value) ?? '',
    eventTime: eventTimeFromEnvelope(),
    aggregators,
    graceMs: step.graceMs,
    maxOutOfOrdernessMs: step.maxOutOfOrdernessMs,
    ...(step.idleTimeoutMs === undefined ? {} : { idleTimeoutMs: step.idleTimeoutMs }),
    emit: step.emit,
    maxOpenWindows: step.maxOpenWindows,
    ...(carried.length === 0 ? {} : { carry: (value: unknown) => Object.fromEntries(carried.map(([name, get]) => [name, get(value)])) }),
    deadLetter: deps.deadLetter,
    metrics: deps.metrics,
    scheduler,
    flushOnComplete: deps.bounded ?? false,
    ...(partitions ? { partitions } : {}),
    ...(flow ? { flow } : {}),
    ...(revoked ? { revoked } : {}),
    ...(deps.state ? { state: deps.state } : {}),
    ...(deps.origins ? { origins: deps.origins } : {}),
  }) as OperatorFunction<AnyEnvelope, Routed<unknown>>;
}

/** An aggregate spec as an aggregator; `when` makes it skip the events that do not match. */
function aggregatorOf(spec: Aggregate): Aggregator<unknown> {
  const get = spec.field === undefined ? () => undefined : compileField(spec.field);
  const inner: Aggregator<unknown> = (() => {
    switch (spec.fn) {
      case 'count':
        return count();
      case 'sum':
        return sum(get);
      case 'min':
        return min(get);
      case 'max':
        return max(get);
      case 'avg':
        return avg(get);
      case 'distinct':
        return distinct(get);
      case 'approx_distinct':
        return approxDistinct(get);
      case 'top_k':
        return topK(get, spec.k ?? 10);
    }
  })();
  if (spec.when === undefined) return inner;
  const when: Predicate = compilePredicate(spec.when);
  return { ...inner, add: (acc, value) => (when(value) ? inner.add(acc, value) : acc) };
}

function compileFraud(step: FraudStep, metrics: Metrics, deps: StepDeps, scheduler: SchedulerLike): OperatorFunction<AnyEnvelope, AnyEnvelope> {
  const keyOf = compileKey(step.key);
  const base = {
    id: step.id,
    key: (value: unknown, meta: Envelope<unknown>['meta']) => keyOf(value, meta),
    severity: step.severity,
    maxKeys: step.maxKeys,
    metrics,
    ...(deps.state === undefined ? {} : { state: deps.state, scheduler, ...(deps.revoked ? { revoked: deps.revoked } : {}) }),
    ...(step.when === undefined ? {} : { when: compilePredicate(step.when) }),
  };
  switch (step.pattern) {
    case 'velocity':
      return fraudVelocity({ ...base, threshold: step.threshold, withinMs: step.withinMs });
    case 'amount':
      return fraudAmount({
        ...base,
        amount: compileField(step.field),
        windowMs: step.windowMs,
        minSamples: step.minSamples,
        ...(step.factor === undefined ? {} : { factor: step.factor }),
        ...(step.absoluteThreshold === undefined ? {} : { absoluteThreshold: step.absoluteThreshold }),
      });
    case 'distinct':
      return fraudDistinct({ ...base, field: compileField(step.field), threshold: step.threshold, withinMs: step.withinMs });
    case 'sequence':
      return fraudSequence({
        ...base,
        steps: step.steps.map((s) => ({ name: s.name, when: compilePredicate(s.when) })),
        withinMs: step.withinMs,
        ...(step.correlate.length === 0 ? {} : { correlate: compileKey(step.correlate) }),
      });
  }
}
