import type { AggregateFn, ColumnType, ParquetWriterName } from './spec.ts';

/**
 * A topology after validation: environment variables substituted, defaults filled, durations in
 * milliseconds (`...Ms`), sizes in bytes, keys as lists, `from` resolved to references. Deeply
 * frozen. This is what the compiler reads; it never sees an unvalidated spec.
 */
export interface ValidTopology {
  readonly name: string;
  readonly description: string | undefined;
  readonly sources: readonly ValidSource[];
  readonly steps: readonly ValidStep[];
  readonly sinks: readonly ValidSink[];
  readonly deadLetters: { readonly topic: string };
}

/** One input of a step or sink: a source, a step's main output, or a step's named output. */
export interface InputRef {
  /** As written: `dedup` or `dedup.duplicate`. */
  readonly ref: string;
  readonly id: string;
  /** The named output; absent for the main output (or a source). */
  readonly output?: string;
}

export interface ValidSource {
  readonly id: string;
  readonly topics: readonly string[];
  readonly client: 'platformatic' | 'kafkajs';
  readonly group: string;
  readonly format: 'json';
  /** As `withEventTime`'s `from`: a field of the parsed value, or the Kafka timestamp. */
  readonly eventTime: { readonly field: string } | 'kafka';
  readonly startFrom: 'earliest' | 'latest' | 'committed';
}

interface Base {
  readonly id: string;
  readonly from: readonly InputRef[];
}

/** `string`, `number`, `integer`, `boolean`, `timestamp`, `object`, `array`, optionally with a trailing `?`. */
export type FieldTypeSpec = string;

/** Paths to keep (nesting kept), or output names mapped to expressions. */
export type FieldSelection = readonly string[] | Readonly<Record<string, string>>;

export interface ParseStep extends Base {
  readonly kind: 'parse';
  readonly format: 'json';
  readonly maxBytes: number;
  readonly maxDepth: number;
  /** Bounds on the event time set from the sources: `withEventTime`'s options. */
  readonly eventTime: { readonly maxFutureSkewMs: number; readonly minTimestampMs: number };
}

/** Its `discriminator`, `common`, `events` and `unknownEventTypes` form the validate operator's `EventSchema`. */
export interface ValidateStep extends Base {
  readonly kind: 'validate';
  readonly discriminator: string;
  readonly common: Readonly<Record<string, FieldTypeSpec>>;
  /** Absent: only `common` is checked. */
  readonly events: Readonly<Record<string, Readonly<Record<string, FieldTypeSpec>>>> | undefined;
  readonly unknownEventTypes: 'reject' | 'pass';
}

export interface FlattenStep extends Base {
  readonly kind: 'flatten';
  readonly delimiter: string;
  readonly arrays: 'keep' | 'json';
}

/** `project` keeps only the selected fields; `map` keeps the whole record and sets them on it. */
export interface ProjectStep extends Base {
  readonly kind: 'project' | 'map';
  readonly fields: FieldSelection;
}

export interface FilterStep extends Base {
  readonly kind: 'filter';
  readonly when: string;
}

export interface DedupStep extends Base {
  readonly kind: 'dedup';
  readonly key: readonly string[];
  readonly ttlMs: number;
  readonly maxKeys: number;
  readonly durable: { readonly table: string } | undefined;
  readonly duplicates: 'drop' | 'route';
}

export type WindowShape =
  | { readonly kind: 'tumbling'; readonly sizeMs: number }
  | { readonly kind: 'hopping'; readonly sizeMs: number; readonly advanceMs: number }
  | { readonly kind: 'session'; readonly gapMs: number };

export interface Aggregate {
  readonly name: string;
  readonly fn: AggregateFn;
  readonly field: string | undefined;
  readonly k: number | undefined;
  readonly when: string | undefined;
}

export interface WindowStep extends Base {
  readonly kind: 'window';
  readonly window: WindowShape;
  /** Empty: one window for all events. */
  readonly key: readonly string[];
  readonly aggregate: readonly Aggregate[];
  readonly graceMs: number;
  readonly maxOutOfOrdernessMs: number;
  readonly idleTimeoutMs: number | undefined;
  readonly emit: 'final' | 'update';
  readonly maxOpenWindows: number;
  readonly carry: readonly string[];
  /** Read through a repartition topic keyed by `key` (durable state with Kafka); false: the input is already partitioned by it. */
  readonly repartition: boolean;
}

interface FraudBase extends Base {
  readonly kind: 'fraud';
  readonly key: readonly string[];
  readonly when: string | undefined;
  readonly severity: 'low' | 'medium' | 'high' | 'critical';
  readonly maxKeys: number;
}

export interface FraudVelocityStep extends FraudBase {
  readonly pattern: 'velocity';
  readonly threshold: number;
  readonly withinMs: number;
}

export interface FraudAmountStep extends FraudBase {
  readonly pattern: 'amount';
  readonly field: string;
  readonly factor: number | undefined;
  readonly windowMs: number;
  readonly minSamples: number;
  readonly absoluteThreshold: number | undefined;
}

export interface FraudDistinctStep extends FraudBase {
  readonly pattern: 'distinct';
  readonly field: string;
  readonly threshold: number;
  readonly withinMs: number;
}

export interface FraudSequenceStep extends FraudBase {
  readonly pattern: 'sequence';
  readonly steps: readonly { readonly name: string; readonly when: string }[];
  /** Empty: match on `key` alone. */
  readonly correlate: readonly string[];
  readonly withinMs: number;
}

export type FraudStep = FraudVelocityStep | FraudAmountStep | FraudDistinctStep | FraudSequenceStep;

export interface RouteStep extends Base {
  readonly kind: 'route';
  readonly routes: readonly { readonly output: string; readonly when: string }[];
  readonly mode: 'first' | 'all';
  readonly defaultOutput: string | undefined;
}

export interface ParseFieldStep extends Base {
  readonly kind: 'parse-field';
  readonly field: string;
  readonly into: string;
  readonly maxDepth: number;
  readonly maxBytes: number;
}

export interface RenameStep extends Base {
  readonly kind: 'rename';
  /** Top-level names, `{ from: to }`; empty for none. */
  readonly fields: Readonly<Record<string, string>>;
  readonly normalize: 'snake_case' | undefined;
}

export type ValidStep =
  | ParseStep
  | ValidateStep
  | FlattenStep
  | ProjectStep
  | FilterStep
  | DedupStep
  | WindowStep
  | FraudStep
  | RouteStep
  | ParseFieldStep
  | RenameStep;

export type StepKind = ValidStep['kind'];

export interface KeyMapping {
  readonly name: string;
  /** A `{path}` template. */
  readonly value: string;
  readonly type: 'string' | 'number';
}

export interface DynamoDbSink extends Base {
  readonly kind: 'dynamodb';
  readonly table: string;
  readonly partitionKey: KeyMapping;
  readonly sortKey: KeyMapping | undefined;
  readonly attributes: 'all' | FieldSelection;
  readonly ttl: { readonly attribute: string; readonly afterMs: number } | undefined;
  readonly mode: 'put' | 'max' | 'add' | 'update' | 'latest';
  /** For `max`/`add`: the attribute updated and the expression giving the new value. */
  readonly update: { readonly attribute: string; readonly value: string } | undefined;
  /** For `latest`: as the sink's `DynamoLatestOptions`. */
  readonly latest: LatestMode | undefined;
  /** For `update`: attributes set only while the item has none. */
  readonly ifAbsent: readonly string[] | undefined;
  /** For `add`: each source offset applied once (a guard attribute per source partition). */
  readonly applyOnce: boolean;
  readonly shards: number;
  readonly concurrency: number;
}

export interface LatestMode {
  readonly version: readonly string[];
  readonly delete: string | undefined;
  readonly onEqualVersion: 'skip' | 'overwrite';
  readonly tombstoneAttribute: string;
}

export interface S3ParquetSink extends Base {
  readonly kind: 's3-parquet';
  readonly bucket: string;
  readonly prefix: string;
  readonly partitionBy: readonly string[];
  /** As the Parquet sink's `ColumnSpec`s. */
  readonly columns: readonly { readonly name: string; readonly type: ColumnType; readonly nullable: boolean }[] | undefined;
  readonly extraFields: 'widen' | 'drop';
  readonly maxColumns: number;
  readonly rotation: { readonly rows: number; readonly bytes: number; readonly intervalMs: number };
  readonly compression: 'snappy' | 'zstd' | 'gzip' | 'uncompressed';
  readonly timeZone: string;
  readonly writer: ParquetWriterName;
}

export interface KafkaSink extends Base {
  readonly kind: 'kafka';
  readonly topic: string;
  /** Absent: the source record's key. */
  readonly key: string | undefined;
  readonly compression: 'none' | 'gzip' | 'snappy' | 'lz4' | 'zstd';
}

export interface S3RawSink extends Base {
  readonly kind: 's3-raw';
  readonly bucket: string;
  readonly prefix: string;
  readonly format: 'record' | 'value';
  readonly compression: 'gzip' | 'zstd' | 'none';
  readonly layout: 'source' | 'dead-letters';
  readonly rotation: { readonly rows: number; readonly bytes: number; readonly intervalMs: number };
  readonly timeZone: string;
}

export type ValidSink = DynamoDbSink | S3ParquetSink | S3RawSink | KafkaSink;

export type SinkKind = ValidSink['kind'];

/** The named outputs a step has, besides its main one (route has only named outputs). */
export function namedOutputs(step: ValidStep): readonly string[] {
  switch (step.kind) {
    case 'window':
      return ['late'];
    case 'dedup':
      return step.duplicates === 'route' ? ['duplicate'] : [];
    case 'route': {
      const outputs = step.routes.map((r) => r.output);
      const all = step.defaultOutput === undefined ? outputs : [...outputs, step.defaultOutput];
      return [...new Set(all)];
    }
    default:
      return [];
  }
}

/** Whether a step has a main output (every kind but route). */
export function hasMainOutput(step: ValidStep): boolean {
  return step.kind !== 'route';
}
