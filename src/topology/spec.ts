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

import type { SinkSpec, StepSpec } from './kinds/index.ts';

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

export type { StepSpec, SinkSpec } from './kinds/index.ts';
export type { ParseSpec, EventTimeBoundsSpec } from './kinds/steps/parse.ts';
export type { ValidateSpec, FieldTypeSpec } from './kinds/steps/validate.ts';
export type { FlattenSpec } from './kinds/steps/flatten.ts';
export type { ProjectSpec } from './kinds/steps/project.ts';
export type { FilterSpec } from './kinds/steps/filter.ts';
export type { DedupSpec } from './kinds/steps/dedup.ts';
export type { WindowSpec, AggregateSpec, AggregateFn } from './kinds/steps/window.ts';
export type { FraudSpec, FraudVelocitySpec, FraudAmountSpec, FraudDistinctSpec, FraudSequenceSpec } from './kinds/steps/fraud.ts';
export type { RouteSpec } from './kinds/steps/route.ts';
export type { ParseFieldSpec } from './kinds/steps/parse-field.ts';
export type { RenameSpec } from './kinds/steps/rename.ts';
export type { DynamoDbSinkSpec, KeyMappingSpec } from './kinds/sinks/dynamodb.ts';
export type { S3ParquetSinkSpec, ColumnType } from './kinds/sinks/s3-parquet.ts';
export type { S3RawSinkSpec } from './kinds/sinks/s3-raw.ts';
export type { KafkaSinkSpec } from './kinds/sinks/kafka.ts';
export type { ParquetWriterName } from '../sinks/parquet/writer.ts';

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
