/**
 * What a step kind or a sink kind is: one module declares its options (each with its one default),
 * reads and checks them, compiles the result, and says what the graph, the reference check,
 * provisioning and the JSON Schema need to know. `kinds/index.ts` lists the modules.
 *
 * ```ts
 * export const filterKind = defineStep<FilterSpec, FilterStep>()({
 *   kind: 'filter',
 *   doc: 'Passes the records for which `when` holds.',
 *   options: { when: option(predicate, { required: true, doc: 'The predicate.' }) },
 *   read: (o, base) => ({ ...base, kind: 'filter', when: o.get('when') }),
 *   compile: (step, io) => io.apply(filter({ id: step.id, when: step.when })),
 *   describe: (step) => step.when,
 *   keepsOrder: true,
 * });
 * ```
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { S3Client } from '@aws-sdk/client-s3';
import { map, type Observable, type OperatorFunction, type SchedulerLike } from 'rxjs';
import type { Batch, Envelope, Routed } from '../../core/envelope.ts';

import type { Metrics } from '../../core/metrics.ts';
import type { DeadLetter, Sink } from '../../core/sink.ts';
import type { Changelog } from '../../core/state.ts';
import type { TopicPartition } from '../../core/partition.ts';
import type { PipelineContext } from '../../runtime/context.ts';
import type { PartitionFlow } from '../../operators/window.ts';
import type { KafkaConnectionOptions } from '../../sources/connection.ts';
import type { TableDefinition } from '../../sinks/dynamodb-table.ts';
import { Checker, child, ROOT, type At, type Described, type Fields } from '../schema.ts';

export type { Described, JsonSchema } from '../schema.ts';
import type { InputRef, ValidSource } from '../types.ts';

/** One key of a kind's spec object. */
export interface OptionDecl<T> {
  readonly check: Described<T>;
  /** One or two sentences for the schema (editors show it) and the reference. */
  readonly doc: string;
  /** As written in a spec (`'1h'`, `100_000`); normalized by `check` when the key is absent. */
  readonly default?: unknown;
  readonly required?: boolean;
  /** Follows "is required" in the message. */
  readonly hint?: string;
  /** The values of the kind's `variantKey` that use the key (absent: all); any other variant refuses it. */
  readonly for?: readonly string[];
}

export type Options = { readonly [key: string]: OptionDecl<unknown> };

/** Declares an option; the `extra` keeps its literal type, so that a default makes the value non-optional. */
export function option<T, const E extends Omit<OptionDecl<T>, 'check'>>(check: Described<T>, extra: E): OptionDecl<T> & E {
  return { check, ...extra };
}

type ValueOf<D> = D extends OptionDecl<infer T> ? (D extends { default: unknown } | { required: true } ? T : T | undefined) : never;

const normalizedDefaults = new WeakMap<OptionDecl<unknown>, unknown>();

/**
 * An option's default as the validated topology holds it (`'1h'` -> 3_600_000). A default that is
 * no value a spec could give (`key: []`, no key; `fields: {}`) is taken as it is.
 */
export function defaultOf(decl: OptionDecl<unknown>): unknown {
  if (decl.default === undefined) return undefined;
  if (!normalizedDefaults.has(decl)) {
    const c = new Checker({});
    const value = decl.check(decl.default, ROOT, c);
    normalizedDefaults.set(decl, c.problems.length > 0 ? decl.default : value);
  }
  return normalizedDefaults.get(decl);
}

/**
 * Reads a kind's keys by their declarations: the declared check, the declared default when absent,
 * "is required" when required. With a variant (`variant(pattern)`), keys of other variants are
 * refused by `finish`.
 */
export class OptionReader<O extends Options> {
  readonly #f: Fields;
  readonly #kind: KindBase<O>;
  readonly #c: Checker;
  #variant: string | undefined;

  constructor(f: Fields, kind: KindBase<O>, c: Checker) {
    this.#f = f;
    this.#kind = kind;
    this.#c = c;
  }

  /** Where the spec object sits. */
  get at(): At {
    return this.#f.at;
  }

  /** Whether the spec sets `key`. */
  has(key: keyof O & string): boolean {
    return this.#f.has(key);
  }

  /** Sets the variant (the value of the kind's `variantKey`) that decides which keys apply. */
  variant(value: string | undefined): void {
    this.#variant = value;
  }

  get<K extends keyof O & string>(key: K): ValueOf<O[K]> {
    const decl = this.#kind.options[key] as OptionDecl<unknown>;
    if (!this.#applies(decl)) return undefined as ValueOf<O[K]>;
    if (this.#f.has(key)) return decl.check(this.#f.raw(key), child(this.#f.at, key), this.#c) as ValueOf<O[K]>;
    if (decl.required) {
      this.#c.report(child(this.#f.at, key), decl.hint === undefined ? 'is required' : `is required (${decl.hint})`);
      return undefined as ValueOf<O[K]>;
    }
    return defaultOf(decl) as ValueOf<O[K]>;
  }

  /** Refuses keys the variant does not use; without a valid variant, leaves the other keys unchecked. */
  finish(): void {
    const key = this.#kind.variantKey;
    if (key === undefined) return;
    if (this.#variant === undefined) {
      this.#f.skipUnknown();
      return;
    }
    for (const [name, decl] of Object.entries(this.#kind.options))
      if (!this.#applies(decl)) this.#f.forbid(name, (this.#kind.notUsed ?? notUsed)(key, this.#variant, decl.for ?? []));
  }

  #applies(decl: OptionDecl<unknown>): boolean {
    return decl.for === undefined || this.#kind.variantKey === undefined || (this.#variant !== undefined && decl.for.includes(this.#variant));
  }
}

function notUsed(key: string, _variant: string, usedWith: readonly string[]): string {
  return `is only used with ${key} ${usedWith.join(' or ')}`;
}

/** What every kind declares. */
export interface KindBase<O extends Options = Options> {
  readonly kind: string;
  /** One sentence: what the kind does. */
  readonly doc: string;
  readonly options: O;
  /** The option whose value picks a variant (`pattern`, `mode`); options name their variants in `for`. */
  readonly variantKey?: keyof O & string;
  /** The message refusing a key of another variant. Default: `is only used with <key> <values>`. */
  readonly notUsed?: (key: string, variant: string, usedWith: readonly string[]) => string;
}

/** The id and resolved `from` every step and sink has. */
export interface NodeBase {
  readonly id: string;
  readonly from: readonly InputRef[];
}

type AnyEnvelope = Envelope<unknown>;
/** A step's output: batches of records, those of a named output tagged (`Routed`). */
export type StepOutput = Observable<Batch<AnyEnvelope | Routed<unknown>>>;

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
  /** The changelog of the step being compiled, when its state is durable. */
  readonly state?: Changelog;
  /** For repartition topics. */
  readonly kafka?: KafkaConnectionOptions;
  /** With `state`: the upstream partitions a repartitioned window's watermark waits for. */
  readonly origins?: readonly TopicPartition[];
}

/** `partitions$` kept to the partitions of `topics` (a step's upstream topics); undefined when either is. */
export function ofTopics(partitions$: Observable<readonly TopicPartition[]> | undefined, topics: ReadonlySet<string> | undefined): Observable<readonly TopicPartition[]> | undefined {
  return topics && partitions$?.pipe(map((all) => all.filter((p) => topics.has(p.topic))));
}

/** A step's inputs as its `compile` gets them. */
export interface StepIo {
  /** One stream of batches per `from` entry. */
  readonly inputs: readonly Observable<Batch<AnyEnvelope>>[];
  /** For each input, the source it is, if any (a parse step takes their event time). */
  readonly sources: readonly (ValidSource | undefined)[];
  readonly deps: StepDeps;
  readonly scheduler: SchedulerLike;
  /** The inputs merged and piped through `operator`, run over batches (see `batched`). */
  apply(operator: OperatorFunction<AnyEnvelope, AnyEnvelope | Routed<unknown>>): StepOutput;
}

/** An internal topic a step needs on Kafka. */
export interface InternalTopic {
  readonly name: string;
  readonly kind: 'changelog' | 'repartition';
  readonly retentionMs?: number;
}

export interface StepKind<Spec = unknown, Step extends NodeBase & { kind: string } = NodeBase & { kind: string }, O extends Options = Options> extends KindBase<O> {
  /** Type carriers only (`StepSpec` and `ValidStep` are built from the registered kinds). */
  readonly spec?: Spec;
  readonly step?: Step;
  /** The validated step from its keys; cross-key checks report through `c`. */
  read(o: OptionReader<O>, base: NodeBase, c: Checker): Step;
  compile(step: Step, io: StepIo): StepOutput;
  /** One short line for the graph: `tumbling 1m by game_id`. */
  describe(step: Step): string;
  /** Named outputs besides the main one. */
  outputs?(step: Step): readonly string[];
  /** False for a kind with named outputs only (`route`). */
  readonly mainOutput?: boolean;
  /** The tag the operator emits its main output under (`Routed`), when it tags it. */
  readonly mainTag?: string;
  /** Sends records to the dead-letter topic. */
  readonly deadLetters?: boolean;
  /** Passes each source partition's records on in offset order, one by one (no windows, no patterns). */
  readonly keepsOrder: boolean;
  /** Reads sources only (raw records): `parse`. */
  readonly readsSourcesOnly?: boolean;
  /**
   * Emits what it makes of a record (or nothing) in the same call that received it (filter, route,
   * reshaping): a repartition downstream may read its progress upstream of it.
   */
  readonly synchronous?: boolean;
  /** The key its input is repartitioned by on Kafka, when it is (a keyed stateful step). */
  repartitionKey?(step: Step): readonly string[] | undefined;
  /** Its internal topics on Kafka, for a consumer group. */
  internalTopics?(step: Step, group: string): readonly InternalTopic[];
  /** Whether it keeps state in its changelog on Kafka (`internalTopics` names it). */
  durable?(step: Step): boolean;
  /** DynamoDB tables it writes (provisioned with the topology). */
  tables?(step: Step): readonly TableDefinition[];
}

/** Clients the sinks write with; one of each, shared by every sink of its kind. */
export interface SinkDeps {
  readonly dynamo?: DynamoDBClient;
  /**
   * The DynamoDB sinks' client, when `dynamo` (which durable dedup also uses) makes several attempts
   * per call: the sinks retry themselves, so theirs should make one (`maxAttempts: 1`).
   */
  readonly sinkDynamo?: DynamoDBClient;
  readonly s3?: S3Client;
  /** Brokers and security for Kafka sinks (the source's, usually). */
  readonly kafka?: KafkaConnectionOptions;
  readonly scheduler?: SchedulerLike;
}

export interface SinkKind<Spec = unknown, Sk extends NodeBase & { kind: string } = NodeBase & { kind: string }, O extends Options = Options> extends KindBase<O> {
  readonly spec?: Spec;
  readonly sink?: Sk;
  read(o: OptionReader<O>, base: NodeBase, c: Checker): Sk;
  compile(sink: Sk, ctx: PipelineContext, deps: SinkDeps): Sink<unknown>;
  describe(sink: Sk): string;
  /** Reads sources (the records as they came) as well as steps. */
  readonly readsSources?: boolean;
  /** Reads sources only: `s3-raw`. */
  readonly readsSourcesOnly?: boolean;
  /** Its files close by rotation: periodic commits do not cut its batches short. */
  readonly rotates?: boolean;
  /** Records per write of its sink runner, when not the runner's default (500). */
  readonly maxBatchRecords?: number;
  tables?(sink: Sk): readonly TableDefinition[];
  topics?(sink: Sk): readonly string[];
  buckets?(sink: Sk): readonly string[];
}

/** Types a step kind's module: `defineStep<Spec, Step>()({...})` (the options' types are inferred). */
export function defineStep<Spec, Step extends NodeBase & { kind: string }>() {
  return <const O extends Options>(kind: StepKind<Spec, Step, O>): StepKind<Spec, Step, O> => kind;
}

/** Types a sink kind's module, as `defineStep`. */
export function defineSink<Spec, Sk extends NodeBase & { kind: string }>() {
  return <const O extends Options>(kind: SinkKind<Spec, Sk, O>): SinkKind<Spec, Sk, O> => kind;
}
