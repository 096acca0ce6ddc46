/**
 * The topology spec as its author writes it, in YAML, JSON or TypeScript: sources, steps and sinks
 * wired by name. Durations are strings like `"60s"`, `"5m"`, `"30d"`, `"250ms"` (or a number of
 * milliseconds); sizes are strings like `"64MiB"` (or a number of bytes). Any string may contain
 * `${NAME}` or `${NAME:-default}`, replaced by an environment variable when the spec is validated
 * (`$${` writes a literal `${`).
 *
 * Every spec, whatever its format, goes through the one validation (`validateTopology`), which
 * yields the normalized `ValidTopology` (see `types.ts`).
 */

/** `"60s"`, `"5m"`, `"1h30m"`, `"250ms"`, `"30d"`, or a whole number of milliseconds. */
export type Duration = string | number;
/** `"64MiB"`, `"1MB"`, `"512KiB"`, or a whole number of bytes. */
export type Size = string | number;
/** An expression of `src/core/expression.ts`: a field path like `event_data.amount` or more. */
export type Expression = string;
/** A key: one expression, or several joined with `|`. */
export type KeySpec = Expression | readonly Expression[];
/** A dotted field path: `event_data.game_id`. */
export type FieldPath = string;
/** A name to read from: `<id>` (a source or a step's main output) or `<step>.<output>`. */
export type FromSpec = string | readonly string[];

export interface TopologySpec {
  /** Kebab-case name: labels metrics and default consumer groups. */
  readonly name: string;
  readonly description?: string;
  readonly sources: readonly SourceSpec[];
  readonly steps?: readonly StepSpec[];
  readonly sinks: readonly SinkSpec[];
  /** Where records that fail parse, validation or a sink go. Default topic `tributary-dead-letters`. */
  readonly deadLetters?: { readonly topic: string };
}

export interface SourceSpec {
  readonly id: string;
  readonly topics: readonly string[];
  /** Default `platformatic`. */
  readonly client?: 'platformatic' | 'kafkajs';
  /** Default `tributary-<name>-<id>`. */
  readonly group?: string;
  /** Default `json`. */
  readonly format?: 'json';
  /** Event time from a field of the parsed value (ISO-8601 or epoch ms), or the Kafka timestamp. Default `kafka`. */
  readonly eventTime?: { readonly field: FieldPath } | 'kafka';
  /** Where a group without committed offsets starts. Default `committed` (then `latest`). */
  readonly startFrom?: 'earliest' | 'latest' | 'committed';
}

interface StepBase {
  readonly id: string;
  readonly from: FromSpec;
}

/** `string`, `number`, `integer`, `boolean`, `timestamp`, `object`, `array`; a trailing `?` makes the field optional. */
export type FieldTypeSpec = string;

export type StepSpec =
  | ParseSpec
  | ValidateSpec
  | FlattenSpec
  | ProjectSpec
  | FilterSpec
  | DedupSpec
  | WindowSpec
  | FraudSpec
  | RouteSpec
  | ParseFieldSpec
  | RenameSpec;

export interface ParseSpec extends StepBase {
  readonly kind: 'parse';
  readonly format?: 'json';
  /** Larger values go to dead letters. Default `1MiB`. */
  readonly maxBytes?: Size;
  /** Values nesting objects and arrays deeper go to dead letters, before parsing. Default 64. */
  readonly maxDepth?: number;
  /** Bounds on the event time the step sets (from each source's `eventTime`); records outside go to dead letters. */
  readonly eventTime?: EventTimeBoundsSpec;
}

export interface EventTimeBoundsSpec {
  /** How far ahead of the wall clock an event may be dated (`TRIB_EVENT_TIME_FUTURE` past it). Default `1h`. */
  readonly maxFutureSkew?: Duration;
  /** The earliest event time taken, ISO-8601 or epoch ms, not before 1970 (`TRIB_EVENT_TIME_TOO_OLD` before it). Default `2000-01-01T00:00:00Z`. */
  readonly minTimestamp?: string | number;
}

/** The validate operator's `EventSchema`: records that fail go to dead letters. */
export interface ValidateSpec extends StepBase {
  readonly kind: 'validate';
  /** Default `event_type`. */
  readonly discriminator?: FieldPath;
  /** Fields every event has, by path: `{ event_id: string, platform: "string?" }`. */
  readonly common?: Readonly<Record<FieldPath, FieldTypeSpec>>;
  /** Fields per event type (the discriminator's value); `null` or `{}` for none. Without it, only `common` is checked. */
  readonly events?: Readonly<Record<string, Readonly<Record<FieldPath, FieldTypeSpec>> | null>>;
  /** An event type `events` does not list: `reject` (default, to dead letters) or `pass`. */
  readonly unknownEventTypes?: 'reject' | 'pass';
}

export interface FlattenSpec extends StepBase {
  readonly kind: 'flatten';
  /** Default `_`: `{ event_data: { amount } }` becomes `{ event_data_amount }`. */
  readonly delimiter?: string;
  /** Arrays kept as they are (`keep`, default) or written as JSON strings (`json`). */
  readonly arrays?: 'keep' | 'json';
}

/** `project` keeps only the selected fields; `map` keeps the whole record and sets them on it. */
export interface ProjectSpec extends StepBase {
  readonly kind: 'project' | 'map';
  /** Paths to keep, or `{ outPath: expression }`. */
  readonly fields: readonly FieldPath[] | Readonly<Record<FieldPath, Expression>>;
}

export interface FilterSpec extends StepBase {
  readonly kind: 'filter';
  readonly when: Expression;
}

export interface DedupSpec extends StepBase {
  readonly kind: 'dedup';
  /** Default `event_id`. */
  readonly key?: KeySpec;
  /** How long a key is remembered. Default `1h`. */
  readonly ttl?: Duration;
  /** Default 1,000,000. */
  readonly maxKeys?: number;
  /** Remember keys in a DynamoDB table too, across restarts. */
  readonly durable?: { readonly table: string };
  /** `drop` (default) or `route` to the `duplicate` output. */
  readonly duplicates?: 'drop' | 'route';
}

export type AggregateFn = 'count' | 'sum' | 'min' | 'max' | 'avg' | 'distinct' | 'approx_distinct' | 'top_k';

export interface AggregateSpec {
  readonly fn: AggregateFn;
  /** Required except for `count`. */
  readonly field?: Expression;
  /** `top_k` only. Default 10. */
  readonly k?: number;
  /** Only events matching this predicate count. */
  readonly when?: Expression;
}

export interface WindowSpec extends StepBase {
  readonly kind: 'window';
  readonly window:
    | { readonly type: 'tumbling'; readonly size: Duration }
    | { readonly type: 'hopping'; readonly size: Duration; readonly advance: Duration }
    | { readonly type: 'session'; readonly gap: Duration };
  /** Default: one window for all events. */
  readonly key?: KeySpec;
  readonly aggregate: Readonly<Record<string, AggregateSpec>>;
  /** How long after a window's end its late events still count. Default `0s`. */
  readonly grace?: Duration;
  /** How far behind the newest event time the watermark trails. Default `0s`. */
  readonly maxOutOfOrderness?: Duration;
  /** Advance the watermark by processing time when no event arrives for this long. */
  readonly idleTimeout?: Duration;
  /** Default `final`. */
  readonly emit?: 'final' | 'update';
  /** Default 100,000. */
  readonly maxOpenWindows?: number;
  /** Fields copied from the window's first event into its result. */
  readonly carry?: readonly FieldPath[];
  /**
   * Default true: the step reads its input through an internal repartition topic keyed by `key`, so
   * each key has one owner across instances. `false` when the input is one topic already keyed by it.
   */
  readonly repartition?: boolean;
}

interface FraudBase extends StepBase {
  readonly kind: 'fraud';
  /** Default `user_id`. */
  readonly key?: KeySpec;
  /** Only events matching this predicate are watched. */
  readonly when?: Expression;
  /** Default `medium`. */
  readonly severity?: 'low' | 'medium' | 'high' | 'critical';
  /** Keys holding state at most. Default 100,000. */
  readonly maxKeys?: number;
}

/** More than `threshold` events per key within `within`. */
export interface FraudVelocitySpec extends FraudBase {
  readonly pattern: 'velocity';
  readonly threshold: number;
  readonly within: Duration;
}

/** `field` above `factor` times the key's rolling average over `window`, or above `absoluteThreshold`. */
export interface FraudAmountSpec extends FraudBase {
  readonly pattern: 'amount';
  readonly field: Expression;
  readonly factor?: number;
  /** Default `24h`. */
  readonly window?: Duration;
  /** Previous amounts needed before the ratio rule applies. Default 3. */
  readonly minSamples?: number;
  readonly absoluteThreshold?: number;
}

/** More than `threshold` distinct values of `field` per key within `within`. */
export interface FraudDistinctSpec extends FraudBase {
  readonly pattern: 'distinct';
  readonly field: Expression;
  readonly threshold: number;
  readonly within: Duration;
}

/** Events matching `steps` in order, per key (and equal `correlate`), within `within`. */
export interface FraudSequenceSpec extends FraudBase {
  readonly pattern: 'sequence';
  readonly steps: readonly { readonly name: string; readonly when: Expression }[];
  readonly correlate?: KeySpec;
  readonly within: Duration;
}

export type FraudSpec = FraudVelocitySpec | FraudAmountSpec | FraudDistinctSpec | FraudSequenceSpec;

export interface RouteSpec extends StepBase {
  readonly kind: 'route';
  readonly routes: readonly { readonly output: string; readonly when: Expression }[];
  /** `first` (default): the first matching route; `all`: every matching route. */
  readonly mode?: 'first' | 'all';
  /** Output for records no route matches; without it they are dropped. */
  readonly default?: string;
}

/** A string field holding JSON becomes the object it holds; what cannot be parsed goes to dead letters. */
export interface ParseFieldSpec extends StepBase {
  readonly kind: 'parse-field';
  /** The string field: `event_value`, `payload.body`. */
  readonly field: FieldPath;
  /** Where the parsed value goes. Default: `field` itself. */
  readonly into?: FieldPath;
  /** Deeper nesting goes to dead letters. Default 32. */
  readonly maxDepth?: number;
  /** Longer strings go to dead letters. Default `1MiB`. */
  readonly maxBytes?: Size;
}

/** Renames fields: `fields` (top-level names, `{ from: to }`) and/or `normalize` (every name, at every depth). */
export interface RenameSpec extends StepBase {
  readonly kind: 'rename';
  readonly fields?: Readonly<Record<string, string>>;
  readonly normalize?: 'snake_case';
}

export type SinkSpec = DynamoDbSinkSpec | S3ParquetSinkSpec | S3RawSinkSpec | KafkaSinkSpec;

/** A DynamoDB key attribute: its name and a `{path}` template for its value. */
export interface KeyMappingSpec {
  readonly name: string;
  readonly value: string;
  /** Default `string`. */
  readonly type?: 'string' | 'number';
}

export interface DynamoDbSinkSpec extends StepBase {
  readonly kind: 'dynamodb';
  readonly table: string;
  readonly partitionKey: KeyMappingSpec;
  readonly sortKey?: KeyMappingSpec;
  /** `all` (default), a list of paths, or `{ attribute: expression }`; `[]` writes only the keys (and TTL). */
  readonly attributes?: 'all' | readonly FieldPath[] | Readonly<Record<string, Expression>>;
  /** Expire items `after` their event time, in `attribute` (epoch seconds). */
  readonly ttl?: { readonly attribute: string; readonly after: Duration };
  /**
   * `put` (default); `max` keeps the larger `value` in `attribute`; `add` adds `value` to it;
   * `update` SETs the mapped attributes a record has on the item (an attribute the record lacks is
   * left as stored), unconditionally; `latest`: see `version`.
   */
  readonly mode?: 'put' | 'max' | 'add' | 'update' | 'latest';
  readonly attribute?: string;
  readonly value?: Expression;
  /** `latest` only: the version fields, compared in order (`[updatedAt, sequence_number]`); the item is written only when its stored version is lower. */
  readonly version?: Expression | readonly Expression[];
  /** `latest` only: records matching this predicate (`"op == 'REMOVE'"`) delete their item, leaving a tombstone. */
  readonly delete?: Expression;
  /** `latest` only: an equal stored version is left (`skip`, default) or written over (`overwrite`). */
  readonly onEqualVersion?: 'skip' | 'overwrite';
  /** `latest` only: the boolean attribute marking a tombstone. Default `_deleted`. */
  readonly tombstoneAttribute?: string;
  /**
   * `update` only: mapped attributes (or the TTL attribute) set only while the item has none
   * (`if_not_exists`), e.g. `[session_status]`: a login's `'active'` never overwrites a logout's `'closed'`.
   */
  readonly ifAbsent?: readonly string[];
  /**
   * `add` only: apply each source record once, even replayed. Each update sets a guard attribute per
   * source topic-partition to the record's offset, on condition that the stored one is lower. The
   * sink's input must keep source-partition order (stateless steps only; no window or fraud step upstream).
   */
  readonly applyOnce?: boolean;
  /** Writers, each owning a hash range of keys (per-key order kept). Default 1. */
  readonly shards?: number;
  /** In-flight batch requests per shard. Default 8. */
  readonly concurrency?: number;
}

/** As the Parquet sink: `timestamp` is epoch ms (ISO strings are converted). */
export type ColumnType = 'string' | 'int64' | 'double' | 'boolean' | 'timestamp';
export type ParquetWriterName = 'hyparquet' | 'parquetjs-lite' | 'dsnp' | 'parquet-wasm';

export interface S3ParquetSinkSpec extends StepBase {
  readonly kind: 's3-parquet';
  readonly bucket: string;
  /** Objects go to `<prefix>/<topic>/year=YYYY/month=MM/day=dd/hour=HH/`. Default `events`. */
  readonly prefix?: string;
  /** Fields whose values partition before the hour, Hive style: `[platform]` gives `<topic>/platform=ios/year=…/`. */
  readonly partitionBy?: FieldPath | readonly FieldPath[];
  /** Declared columns (nullable unless `{ type, nullable: false }`); default: inferred from the records. */
  readonly columns?: Readonly<Record<string, ColumnType | { readonly type: ColumnType; readonly nullable?: boolean }>>;
  /** Fields no declared column names: `widen` (default) adds columns, `drop` leaves them out. */
  readonly extraFields?: 'widen' | 'drop';
  /** Columns at most, declared ones included; a record that would add more goes to dead letters (`TRIB_SCHEMA_LIMIT`). Default 256. */
  readonly maxColumns?: number;
  /** Close a file at whichever comes first. Defaults 100,000 rows, `64MiB`, `5m`. */
  readonly rotation?: { readonly rows?: number; readonly bytes?: Size; readonly interval?: Duration };
  /** Default `snappy`; `none` (or `uncompressed`) for none. zstd needs the hyparquet or parquet-wasm writer. */
  readonly compression?: 'snappy' | 'zstd' | 'gzip' | 'none' | 'uncompressed';
  /** Time zone of the hour partitions. Default `UTC`. */
  readonly timezone?: string;
  /** Default `hyparquet`. */
  readonly writer?: ParquetWriterName;
}

/**
 * The records of sources as they came, before `parse`: newline-delimited, compressed, one object per
 * topic, partition, hour and file cut, replay-proof like `s3-parquet`. Reads sources only.
 */
export interface S3RawSinkSpec extends StepBase {
  readonly kind: 's3-raw';
  readonly bucket: string;
  /** Default `raw` (`errors` with `layout: dead-letters`). */
  readonly prefix?: string;
  /** `record` (default): a JSON line per record with offset, key, headers and value; `value`: the bytes and a newline. */
  readonly format?: 'record' | 'value';
  /** Default `gzip`. */
  readonly compression?: 'gzip' | 'zstd' | 'none';
  /** `source` (default): `<prefix>/<topic>/<hour>/`; `dead-letters`: `<prefix>/<step>/<error code>/<hour>/`, from a dead-letter topic. */
  readonly layout?: 'source' | 'dead-letters';
  /** Close a file at whichever comes first. Defaults 100,000 rows, `64MiB`, `5m`. */
  readonly rotation?: { readonly rows?: number; readonly bytes?: Size; readonly interval?: Duration };
  /** Time zone of the hour partitions (by Kafka timestamp). Default `UTC`. */
  readonly timezone?: string;
}

export interface KafkaSinkSpec extends StepBase {
  readonly kind: 'kafka';
  readonly topic: string;
  /** Record key expression; default: the source record's key. */
  readonly key?: Expression;
  /** Default `lz4`. */
  readonly compression?: 'none' | 'gzip' | 'snappy' | 'lz4' | 'zstd';
}

/**
 * Types a topology written in TypeScript; it is validated like a YAML one, by `validateTopology`.
 *
 * ```ts
 * export default defineTopology({
 *   name: 'purchases',
 *   sources: [{ id: 'tx', topics: ['transaction-events'] }],
 *   steps: [{ id: 'parse', kind: 'parse', from: 'tx' }],
 *   sinks: [{ id: 'alerts', kind: 'kafka', from: 'parse', topic: 'copy' }],
 * });
 * ```
 * @returns the same object, typed
 */
export function defineTopology<const T extends TopologySpec>(spec: T): T {
  return spec;
}
