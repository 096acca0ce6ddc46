import type { OperatorFunction, SchedulerLike } from 'rxjs';
import type { Envelope } from '../../../core/envelope.ts';
import { compileField, compileKey, compilePredicate } from '../../../core/expression.ts';
import type { Metrics } from '../../../core/metrics.ts';
import { changelogTopic } from '../../../core/state.ts';
import { fraudAmount } from '../../../operators/fraud-amount.ts';
import { fraudDistinct } from '../../../operators/fraud-distinct.ts';
import { fraudSequence } from '../../../operators/fraud-sequence.ts';
import { fraudVelocity } from '../../../operators/fraud-velocity.ts';
import { duration, expression, key, name, num, oneOf, positiveInt, predicate } from '../../checks.ts';
import type { Check, Described } from '../../schema.ts';
import { child, described, fields, list } from '../../schema.ts';
import { formatDuration, lastSegment, properties } from '../common.ts';
import { defineStep, ofTopics, option, type NodeBase, type StepDeps } from '../kind.ts';
import type { Duration, KeySpec } from '../../spec.ts';

interface FraudSpecBase {
  readonly id: string;
  readonly kind: 'fraud';
  readonly from: string | readonly string[];
  /** Default `user_id`. */
  readonly key?: KeySpec;
  /** Only events matching this predicate are watched. */
  readonly when?: string;
  /** Default `medium`. */
  readonly severity?: 'low' | 'medium' | 'high' | 'critical';
  /** Keys holding state at most. Default 25,000 (with the other default bounds, fits a 320 MB heap: README, "Memory model"). */
  readonly maxKeys?: number;
}

/** More than `threshold` events per key within `within`. */
export interface FraudVelocitySpec extends FraudSpecBase {
  readonly pattern: 'velocity';
  readonly threshold: number;
  readonly within: Duration;
}

/** `field` above `factor` times the key's rolling average over `window`, or above `absoluteThreshold`. */
export interface FraudAmountSpec extends FraudSpecBase {
  readonly pattern: 'amount';
  readonly field: string;
  readonly factor?: number;
  /** Default `24h`. */
  readonly window?: Duration;
  /** Previous amounts needed before the ratio rule applies. Default 3. */
  readonly minSamples?: number;
  readonly absoluteThreshold?: number;
}

/** More than `threshold` distinct values of `field` per key within `within`. */
export interface FraudDistinctSpec extends FraudSpecBase {
  readonly pattern: 'distinct';
  readonly field: string;
  readonly threshold: number;
  readonly within: Duration;
}

/** Events matching `steps` in order, per key (and equal `correlate`), within `within`. */
export interface FraudSequenceSpec extends FraudSpecBase {
  readonly pattern: 'sequence';
  readonly steps: readonly { readonly name: string; readonly when: string }[];
  readonly correlate?: KeySpec;
  readonly within: Duration;
}

export type FraudSpec = FraudVelocitySpec | FraudAmountSpec | FraudDistinctSpec | FraudSequenceSpec;

interface FraudBase extends NodeBase {
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

const sequenceStep: Check<{ name: string; when: string }> = (value, at, c) => {
  const f = fields(value, at, c);
  if (!f) return undefined as never;
  const out = { name: f.req('name', name), when: f.req('when', predicate) };
  f.done();
  return out;
};

const sequenceStepList = list(sequenceStep, { min: 2 });
const sequenceSteps: Described<{ name: string; when: string }[]> = described(
  (value, at, c) => {
    const out = sequenceStepList(value, at, c);
    const seen = new Set<string>();
    out?.forEach((s, i) => {
      if (typeof s?.name !== 'string') return;
      if (seen.has(s.name)) c.report(child(child(at, i), 'name'), `duplicate step name "${s.name}"`);
      seen.add(s.name);
    });
    return out;
  },
  { type: 'array', minItems: 2, items: { type: 'object', additionalProperties: false, required: ['name', 'when'], ...properties({ name, when: predicate }) } },
);

export const fraudKind = defineStep<FraudSpec, FraudStep>()({
  kind: 'fraud',
  doc: 'Detects a fraud pattern per key (velocity, amount, distinct, sequence) and emits an alert. On Kafka its state is kept per source partition in a changelog topic.',
  variantKey: 'pattern',
  notUsed: (_key, pattern) => `is not used by the ${pattern} pattern`,
  options: {
    pattern: option(oneOf('velocity', 'amount', 'distinct', 'sequence'), { required: true, doc: 'velocity: too many events; amount: a spike; distinct: too many distinct values; sequence: events in order.' }),
    key: option(key, { default: 'user_id', doc: 'Whose events are watched together.' }),
    when: option(predicate, { doc: 'Only events matching this predicate are watched.' }),
    severity: option(oneOf('low', 'medium', 'high', 'critical'), { default: 'medium', doc: 'The alerts\' severity.' }),
    maxKeys: option(positiveInt, { default: 25_000, doc: 'Keys holding state at most (the least recently seen are forgotten first): ~440 B of heap each.' }),
    threshold: option(positiveInt, { required: true, for: ['velocity', 'distinct'], doc: 'More than this many events (velocity) or distinct values (distinct) alert.' }),
    within: option(duration(), { required: true, for: ['velocity', 'distinct', 'sequence'], doc: 'The time span the pattern must happen within.' }),
    field: option(expression, { required: true, for: ['amount', 'distinct'], doc: 'The amount (amount) or the value counted (distinct).' }),
    factor: option(num({ above: 0 }), { for: ['amount'], doc: "Alert above this many times the key's rolling average; required unless absoluteThreshold is set." }),
    window: option(duration(), { default: '24h', for: ['amount'], doc: 'The span of the rolling average.' }),
    minSamples: option(positiveInt, { default: 3, for: ['amount'], doc: 'Previous amounts needed before the ratio rule applies.' }),
    absoluteThreshold: option(num({ above: 0 }), { for: ['amount'], doc: 'Alert above this amount, whatever the average.' }),
    steps: option(sequenceSteps, { required: true, for: ['sequence'], doc: 'The events in order: [{ name, when }, ...], two at least.' }),
    correlate: option(key, { default: [], for: ['sequence'], doc: 'Fields the sequence\'s events must share besides key.' }),
  },
  read: (o, base, c) => {
    const pattern = o.get('pattern');
    o.variant(pattern);
    const common = { ...base, kind: 'fraud' as const, key: o.get('key'), when: o.get('when'), severity: o.get('severity'), maxKeys: o.get('maxKeys') };
    let step: FraudStep | undefined;
    switch (pattern) {
      case 'velocity':
        step = { ...common, pattern, threshold: o.get('threshold'), withinMs: o.get('within') };
        break;
      case 'amount': {
        const factor = o.get('factor');
        const absoluteThreshold = o.get('absoluteThreshold');
        if (!o.has('factor') && !o.has('absoluteThreshold')) c.report(child(o.at, 'factor'), 'is required unless absoluteThreshold is set');
        step = { ...common, pattern, field: o.get('field'), factor, windowMs: o.get('window'), minSamples: o.get('minSamples'), absoluteThreshold };
        break;
      }
      case 'distinct':
        step = { ...common, pattern, field: o.get('field'), threshold: o.get('threshold'), withinMs: o.get('within') };
        break;
      case 'sequence':
        step = { ...common, pattern, steps: o.get('steps'), correlate: o.get('correlate'), withinMs: o.get('within') };
        break;
    }
    return step as FraudStep;
  },
  compile: (step, { apply, deps, scheduler }) => apply(compileFraud(step, deps.metrics, deps, scheduler)),
  describe,
  keepsOrder: false,
  durable: () => true,
  internalTopics: (step, group) => [{ name: changelogTopic(group, step.id), kind: 'changelog' }],
});

function describe(step: FraudStep): string {
  switch (step.pattern) {
    case 'velocity':
      return `velocity > ${step.threshold} in ${formatDuration(step.withinMs)}`;
    case 'amount': {
      const rules = [step.factor === undefined ? '' : `> ${step.factor}x avg`, step.absoluteThreshold === undefined ? '' : `> ${step.absoluteThreshold}`];
      return `amount ${rules.filter(Boolean).join(' or ')}`;
    }
    case 'distinct':
      return `distinct ${lastSegment(step.field)} > ${step.threshold} in ${formatDuration(step.withinMs)}`;
    case 'sequence':
      return `sequence ${step.steps.map((s) => s.name).join(' → ')} in ${formatDuration(step.withinMs)}`;
  }
}

type AnyEnvelope = Envelope<unknown>;

function compileFraud(step: FraudStep, metrics: Metrics, deps: StepDeps, scheduler: SchedulerLike): OperatorFunction<AnyEnvelope, AnyEnvelope> {
  const keyOf = compileKey(step.key);
  const assigned = ofTopics(deps.assigned, deps.upstreamTopics?.(step.id));
  const base = {
    id: step.id,
    key: (value: unknown, meta: Envelope<unknown>['meta']) => keyOf(value, meta),
    severity: step.severity,
    maxKeys: step.maxKeys,
    metrics,
    ...(deps.state === undefined ? {} : { state: deps.state, scheduler, ...(deps.revoked ? { revoked: deps.revoked } : {}), ...(assigned ? { assigned } : {}) }),
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
