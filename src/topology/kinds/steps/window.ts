import { map, type OperatorFunction, type SchedulerLike } from 'rxjs';
import type { Envelope, Routed } from '../../../core/envelope.ts';
import { compileField, compileKey, compilePredicate, type Predicate } from '../../../core/expression.ts';
import { changelogTopic, repartitionTopic } from '../../../core/state.ts';
import { approxDistinct, avg, count, distinct, eventTimeFromEnvelope, max, min, sum, topK, window, type Aggregator } from '../../../operators/window.ts';
import { bool, duration, expression, key, oneOf, path, pathProblem, positiveInt, predicate } from '../../checks.ts';
import type { Check, Described } from '../../schema.ts';
import { child, described, entries, fields, list } from '../../schema.ts';
import { formatDuration, lastSegment, properties } from '../common.ts';
import { defineStep, ofTopics, option, type NodeBase, type StepDeps } from '../kind.ts';
import type { Duration, KeySpec } from '../../spec.ts';

export type AggregateFn = 'count' | 'sum' | 'min' | 'max' | 'avg' | 'distinct' | 'approx_distinct' | 'top_k';

export interface AggregateSpec {
  readonly fn: AggregateFn;
  /** Required except for `count`. */
  readonly field?: string;
  /** `top_k` only. Default 10. */
  readonly k?: number;
  /** Only events matching this predicate count. */
  readonly when?: string;
}

export interface WindowSpec {
  readonly id: string;
  readonly kind: 'window';
  readonly from: string | readonly string[];
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
  /** Default 25,000 (with the other default bounds, fits a 320 MB heap: README, "Memory model"). */
  readonly maxOpenWindows?: number;
  /** Fields copied from the window's first event into its result. */
  readonly carry?: readonly string[];
  /**
   * Default true: the step reads its input through an internal repartition topic keyed by `key`, so
   * each key has one owner across instances. `false` when the input is one topic already keyed by it.
   */
  readonly repartition?: boolean;
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

export interface WindowStep extends NodeBase {
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

const windowShape: Described<WindowShape> = described(
  (value, at, c) => {
    const f = fields(value, at, c);
    if (!f) return undefined as never;
    const type = f.req('type', oneOf('tumbling', 'hopping', 'session'));
    let shape: WindowShape | undefined;
    if (type === 'tumbling') {
      shape = { kind: type, sizeMs: f.req('size', duration()) };
      f.forbid('advance', 'is only for hopping windows');
      f.forbid('gap', 'is only for session windows');
    } else if (type === 'hopping') {
      shape = { kind: type, sizeMs: f.req('size', duration()), advanceMs: f.req('advance', duration()) };
      if (shape.advanceMs > shape.sizeMs) c.report(child(at, 'advance'), 'must not be longer than size');
      f.forbid('gap', 'is only for session windows');
    } else if (type === 'session') {
      shape = { kind: type, gapMs: f.req('gap', duration()) };
      f.forbid('size', 'is not used by session windows (they close after gap)');
      f.forbid('advance', 'is only for hopping windows');
    } else f.skipUnknown();
    f.done();
    return shape as WindowShape;
  },
  {
    oneOf: [
      shapeSchema('tumbling', { size: 'The window length.' }),
      shapeSchema('hopping', { size: 'The window length.', advance: 'How far each window starts after the previous one (at most size).' }),
      shapeSchema('session', { gap: 'A key\'s window closes after this long without its events.' }),
    ],
  },
);

function shapeSchema(type: string, durations: Record<string, string>) {
  return {
    type: 'object',
    additionalProperties: false,
    required: ['type', ...Object.keys(durations)],
    properties: { type: { const: type }, ...Object.fromEntries(Object.entries(durations).map(([k, doc]) => [k, { ...duration().schema, description: doc }])) },
  };
}

const FNS = ['count', 'sum', 'min', 'max', 'avg', 'distinct', 'approx_distinct', 'top_k'] as const;

const aggregate: Check<Omit<Aggregate, 'name'>> = (value, at, c) => {
  const f = fields(value, at, c);
  if (!f) return undefined as never;
  const fn = f.req('fn', oneOf(...FNS));
  const field = fn === 'count' ? f.opt('field', expression) : f.req('field', expression);
  const k = fn === 'top_k' ? f.def('k', positiveInt, 10) : undefined;
  if (fn !== 'top_k') f.forbid('k', 'is only for top_k');
  const when = f.opt('when', predicate);
  f.done();
  return { fn, field, k, when };
};

const aggregateEntries = entries(aggregate, pathProblem, { min: 1 });
const aggregates: Described<Aggregate[]> = described(
  (value, at, c) => aggregateEntries(value, at, c)?.map(([n, a]) => ({ name: n, ...a }) as Aggregate),
  {
    type: 'object',
    minProperties: 1,
    additionalProperties: {
      type: 'object',
      additionalProperties: false,
      required: ['fn'],
      ...properties(
        { fn: oneOf(...FNS), field: expression, k: positiveInt, when: predicate },
        { field: 'The aggregated expression; required except for count.', k: 'top_k only. Default 10.', when: 'Only events matching this predicate count.' },
      ),
    },
  },
);

export const windowKind = defineStep<WindowSpec, WindowStep>()({
  kind: 'window',
  doc: 'Aggregates events per key in event-time windows (tumbling, hopping, session), with watermarks and grace; late events go to its late output. On Kafka its input is repartitioned by key and its state kept in a changelog topic.',
  options: {
    window: option(windowShape, { required: true, doc: 'The window shape: { type: tumbling, size }, { type: hopping, size, advance } or { type: session, gap }.' }),
    key: option(key, { default: [], doc: 'The window key: an expression or a list; default one window for all events.' }),
    aggregate: option(aggregates, { required: true, doc: 'The results by name: { count: { fn: count }, total: { fn: sum, field: amount } }.' }),
    grace: option(duration({ positive: false }), { default: 0, doc: "How long after a window's end its late events still count." }),
    maxOutOfOrderness: option(duration({ positive: false }), { default: 0, doc: 'How far behind the newest event time the watermark trails.' }),
    idleTimeout: option(duration(), { doc: 'Advance the watermark by processing time when no event arrives for this long.' }),
    emit: option(oneOf('final', 'update'), { default: 'final', doc: 'final: one result per window when it closes; update: a result per event.' }),
    maxOpenWindows: option(positiveInt, { default: 25_000, doc: 'Open windows at most; past it an event that needs a new window goes to the dead letters (state_limit_total). ~1.1 KB of heap each.' }),
    carry: option(list(path, { min: 0 }), { default: [], doc: "Fields copied from the window's first event into its result." }),
    repartition: option(bool, { default: true, doc: 'Read the input through an internal topic keyed by key, so each key has one owner across instances; false when the input is one topic already keyed by it.' }),
  },
  read: (o, base) => ({
    ...base,
    kind: 'window',
    window: o.get('window'),
    key: o.get('key'),
    aggregate: o.get('aggregate'),
    graceMs: o.get('grace'),
    maxOutOfOrdernessMs: o.get('maxOutOfOrderness'),
    idleTimeoutMs: o.get('idleTimeout'),
    emit: o.get('emit'),
    maxOpenWindows: o.get('maxOpenWindows'),
    carry: o.get('carry'),
    repartition: o.get('repartition'),
  }),
  compile: (step, { apply, deps, scheduler }) => apply(compileWindow(step, deps, scheduler)),
  describe: (step) => {
    const w = step.window;
    const shape = w.kind === 'session' ? `session gap ${formatDuration(w.gapMs)}` : `${w.kind} ${formatDuration(w.sizeMs)}`;
    return step.key.length > 0 ? `${shape} by ${step.key.map(lastSegment).join(', ')}` : shape;
  },
  outputs: () => ['late'],
  mainTag: 'results',
  keepsOrder: false,
  repartitionKey: (step) => (step.repartition ? step.key : undefined),
  // Without a repartition topic the state is kept per source partition (the input is keyed by the
  // window's key), each partition its own watermark.
  durable: () => true,
  internalTopics: (step, group) => [
    ...(step.repartition ? [{ name: repartitionTopic(group, step.id), kind: 'repartition' as const }] : []),
    { name: changelogTopic(group, step.id), kind: 'changelog' as const },
  ],
});

type AnyEnvelope = Envelope<unknown>;

function compileWindow(step: WindowStep, deps: StepDeps, scheduler: SchedulerLike): OperatorFunction<AnyEnvelope, Routed<unknown>> {
  const keyOf = step.key.length === 0 ? () => '' : compileKey(step.key);
  const carried = step.carry.map((p) => [p.replaceAll('.', '_'), compileField(p)] as const);
  const aggregators = Object.fromEntries(step.aggregate.map((a) => [a.name, aggregatorOf(a)]));
  const topics = deps.upstreamTopics?.(step.id);
  const partitions = ofTopics(deps.assigned, topics);
  const flow = topics && deps.flow?.pipe(map(({ paused, partitions: all }) => ({ paused, partitions: all.filter((p) => topics.has(p.topic)) })));
  const revoked = ofTopics(deps.revoked, topics);
  return window<unknown, Record<string, Aggregator<unknown>>>({
    id: step.id,
    window: step.window,
    // Records without the key are windowed under the empty key; filter them out upstream if needed.
    key: (value) => keyOf(value) ?? '',
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
