import { merge, type Observable } from 'rxjs';
import type { Batch, Envelope } from '../../../core/envelope.ts';
import { DEFAULT_MAX_FUTURE_SKEW_MS, DEFAULT_MIN_TIMESTAMP_MS, withEventTime } from '../../../operators/event-time.ts';
import { DEFAULT_MAX_DEPTH, parseJson } from '../../../operators/parse-json.ts';
import { batched } from '../../../operators/batched.ts';
import { duration, instant, oneOf, positiveInt, size } from '../../checks.ts';
import { object, properties } from '../common.ts';
import { defineStep, option, type NodeBase } from '../kind.ts';
import type { Duration, Size } from '../../spec.ts';

export interface ParseSpec {
  readonly id: string;
  readonly kind: 'parse';
  readonly from: string | readonly string[];
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

export interface ParseStep extends NodeBase {
  readonly kind: 'parse';
  readonly format: 'json';
  readonly maxBytes: number;
  readonly maxDepth: number;
  /** Bounds on the event time set from the sources: `withEventTime`'s options. */
  readonly eventTime: { readonly maxFutureSkewMs: number; readonly minTimestampMs: number };
}

const eventTimeBounds = object(
  (f) => ({
    maxFutureSkewMs: f.def('maxFutureSkew', duration({ positive: false }), DEFAULT_MAX_FUTURE_SKEW_MS),
    minTimestampMs: f.def('minTimestamp', instant, DEFAULT_MIN_TIMESTAMP_MS),
  }),
  properties(
    { maxFutureSkew: duration({ positive: false }), minTimestamp: instant },
    {
      maxFutureSkew: 'How far ahead of the wall clock an event may be dated (TRIB_EVENT_TIME_FUTURE past it). Default 1h.',
      minTimestamp: 'The earliest event time taken (TRIB_EVENT_TIME_TOO_OLD before it). Default 2000-01-01T00:00:00Z.',
    },
  ),
);

export const parseKind = defineStep<ParseSpec, ParseStep>()({
  kind: 'parse',
  doc: "Parses each source record's value as JSON and sets its event time from the source's eventTime; what cannot be parsed goes to dead letters. Reads sources only.",
  options: {
    format: option(oneOf('json'), { default: 'json', doc: 'The value format.' }),
    maxBytes: option(size, { default: 1024 * 1024, doc: 'Larger values go to dead letters. Default 1MiB.' }),
    maxDepth: option(positiveInt, { default: DEFAULT_MAX_DEPTH, doc: 'Values nesting objects and arrays deeper go to dead letters, before parsing.' }),
    eventTime: option(eventTimeBounds, { default: {}, doc: 'Bounds on the event time; records outside go to dead letters.' }),
  },
  read: (o, base) => ({
    ...base,
    kind: 'parse',
    format: o.get('format'),
    maxBytes: o.get('maxBytes'),
    maxDepth: o.get('maxDepth'),
    eventTime: o.get('eventTime'),
  }),
  // Each source keeps its own event-time setting, so each input is parsed on its own.
  compile: (step, { inputs, sources, deps, scheduler }) =>
    merge(
      ...inputs.map((input, i) => {
        const source = sources[i];
        const parse = parseJson({ id: step.id, maxBytes: step.maxBytes, maxDepth: step.maxDepth, deadLetter: deps.deadLetter });
        const operators = source === undefined ? [parse] : [parse, withEventTime({ id: step.id, from: source.eventTime, deadLetter: deps.deadLetter, ...step.eventTime, scheduler })];
        return (input as Observable<Batch<Envelope<Buffer | null>>>).pipe(batched<Envelope<Buffer | null>, Envelope<unknown>>(...operators));
      }),
    ),
  describe: (step) => step.format,
  deadLetters: true,
  keepsOrder: true,
  readsSourcesOnly: true,
});
