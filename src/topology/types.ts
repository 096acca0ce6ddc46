import { stepKind, type ValidSink, type ValidStep } from './kinds/index.ts';

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

export type { ValidSink, ValidStep } from './kinds/index.ts';
export type { ParseStep } from './kinds/steps/parse.ts';
export type { ValidateStep, FieldTypeSpec } from './kinds/steps/validate.ts';
export type { FlattenStep } from './kinds/steps/flatten.ts';
export type { ProjectStep, FieldSelection } from './kinds/steps/project.ts';
export type { FilterStep } from './kinds/steps/filter.ts';
export type { DedupStep } from './kinds/steps/dedup.ts';
export type { WindowStep, WindowShape, Aggregate } from './kinds/steps/window.ts';
export type { FraudStep, FraudVelocityStep, FraudAmountStep, FraudDistinctStep, FraudSequenceStep } from './kinds/steps/fraud.ts';
export type { RouteStep } from './kinds/steps/route.ts';
export type { ParseFieldStep } from './kinds/steps/parse-field.ts';
export type { RenameStep } from './kinds/steps/rename.ts';
export type { DynamoDbSink, KeyMapping, LatestMode } from './kinds/sinks/dynamodb.ts';
export type { S3ParquetSink } from './kinds/sinks/s3-parquet.ts';
export type { S3RawSink } from './kinds/sinks/s3-raw.ts';
export type { KafkaSink } from './kinds/sinks/kafka.ts';

export type StepKind = ValidStep['kind'];
export type SinkKind = ValidSink['kind'];

/** The named outputs a step has, besides its main one (route has only named outputs). */
export function namedOutputs(step: ValidStep): readonly string[] {
  return stepKind(step).outputs?.(step) ?? [];
}

/** Whether a step has a main output (every kind but route). */
export function hasMainOutput(step: ValidStep): boolean {
  return stepKind(step).mainOutput !== false;
}
