/**
 * The registered step and sink kinds. Adding a kind: its module under `steps/` or `sinks/`, one line
 * in a list below, and its tests (see CONTRIBUTING in the README).
 */
import type { SinkKind, StepKind } from './kind.ts';
import { dedupKind } from './steps/dedup.ts';
import { filterKind } from './steps/filter.ts';
import { flattenKind } from './steps/flatten.ts';
import { fraudKind } from './steps/fraud.ts';
import { parseFieldKind } from './steps/parse-field.ts';
import { parseKind } from './steps/parse.ts';
import { mapKind, projectKind } from './steps/project.ts';
import { renameKind } from './steps/rename.ts';
import { routeKind } from './steps/route.ts';
import { sampleKind } from './steps/sample.ts';
import { validateKind } from './steps/validate.ts';
import { windowKind } from './steps/window.ts';
import { dynamodbKind } from './sinks/dynamodb.ts';
import { kafkaKind } from './sinks/kafka.ts';
import { s3ParquetKind } from './sinks/s3-parquet.ts';
import { s3RawKind } from './sinks/s3-raw.ts';

export const STEP_KINDS = [
  parseKind,
  validateKind,
  flattenKind,
  projectKind,
  mapKind,
  filterKind,
  dedupKind,
  windowKind,
  fraudKind,
  routeKind,
  parseFieldKind,
  renameKind,
  sampleKind,
] as const;

export const SINK_KINDS = [dynamodbKind, s3ParquetKind, s3RawKind, kafkaKind] as const;

type Registered<K> = K extends readonly (infer E)[] ? E : never;
type StepOf<K> = K extends { readonly step?: infer S } ? Exclude<S, undefined> : never;
type SinkOf<K> = K extends { readonly sink?: infer S } ? Exclude<S, undefined> : never;
type SpecOf<K> = K extends { readonly spec?: infer S } ? Exclude<S, undefined> : never;

/** A validated step of any registered kind. */
export type ValidStep = StepOf<Registered<typeof STEP_KINDS>>;
/** A validated sink of any registered kind. */
export type ValidSink = SinkOf<Registered<typeof SINK_KINDS>>;
/** A step as its author writes it, of any registered kind. */
export type StepSpec = SpecOf<Registered<typeof STEP_KINDS>>;
/** A sink as its author writes it, of any registered kind. */
export type SinkSpec = SpecOf<Registered<typeof SINK_KINDS>>;

const steps = new Map<string, StepKind>(STEP_KINDS.map((k) => [k.kind, k as unknown as StepKind]));
const sinks = new Map<string, SinkKind>(SINK_KINDS.map((k) => [k.kind, k as unknown as SinkKind]));

/** The kind module of a step (or of a step kind's name). */
export function stepKind(kind: string | { readonly kind: string }): StepKind {
  const def = steps.get(typeof kind === 'string' ? kind : kind.kind);
  if (def === undefined) throw new Error(`unknown step kind ${JSON.stringify(kind)}`);
  return def;
}

/** The kind module of a sink (or of a sink kind's name). */
export function sinkKind(kind: string | { readonly kind: string }): SinkKind {
  const def = sinks.get(typeof kind === 'string' ? kind : kind.kind);
  if (def === undefined) throw new Error(`unknown sink kind ${JSON.stringify(kind)}`);
  return def;
}

export function isStepKind(kind: string): boolean {
  return steps.has(kind);
}

export function isSinkKind(kind: string): boolean {
  return sinks.has(kind);
}
