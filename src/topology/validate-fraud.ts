import { duration, expression, key, name, num, oneOf, positiveInt, predicate } from './checks.ts';
import type { Check, Checker, Fields } from './schema.ts';
import { child, fields, list } from './schema.ts';
import type { FraudStep } from './types.ts';
import type { StepInput } from './validate-steps.ts';

const PATTERN_KEYS = ['threshold', 'within', 'field', 'factor', 'window', 'minSamples', 'absoluteThreshold', 'steps', 'correlate'];

/** A fraud step: the keys shared by every pattern, then the pattern's own (the others are refused). */
export function fraud(f: Fields, { id, from }: StepInput, c: Checker): FraudStep {
  const pattern = f.req('pattern', oneOf('velocity', 'amount', 'distinct', 'sequence'));
  const base = {
    id,
    kind: 'fraud' as const,
    from,
    key: f.def('key', key, ['user_id']),
    when: f.opt('when', predicate),
    severity: f.def('severity', oneOf('low', 'medium', 'high', 'critical'), 'medium'),
    maxKeys: f.def('maxKeys', positiveInt, 100_000),
  };
  let step: FraudStep | undefined;
  switch (pattern) {
    case 'velocity':
      step = { ...base, pattern, threshold: f.req('threshold', positiveInt), withinMs: f.req('within', duration()) };
      break;
    case 'amount': {
      const factor = f.opt('factor', num({ above: 0 }));
      const absoluteThreshold = f.opt('absoluteThreshold', num({ above: 0 }));
      if (!f.has('factor') && !f.has('absoluteThreshold')) c.report(child(f.at, 'factor'), 'is required unless absoluteThreshold is set');
      step = {
        ...base,
        pattern,
        field: f.req('field', expression),
        factor,
        windowMs: f.def('window', duration(), 86_400_000),
        minSamples: f.def('minSamples', positiveInt, 3),
        absoluteThreshold,
      };
      break;
    }
    case 'distinct':
      step = { ...base, pattern, field: f.req('field', expression), threshold: f.req('threshold', positiveInt), withinMs: f.req('within', duration()) };
      break;
    case 'sequence':
      step = { ...base, pattern, steps: f.req('steps', sequenceSteps), correlate: f.def('correlate', key, []), withinMs: f.req('within', duration()) };
      break;
    default:
      f.skipUnknown();
  }
  if (pattern !== undefined) for (const k of PATTERN_KEYS) f.forbid(k, `is not used by the ${pattern} pattern`);
  return step as FraudStep;
}

const sequenceStep: Check<{ name: string; when: string }> = (value, at, c) => {
  const f = fields(value, at, c);
  if (!f) return undefined as never;
  const out = { name: f.req('name', name), when: f.req('when', predicate) };
  f.done();
  return out;
};

const sequenceSteps: Check<{ name: string; when: string }[]> = (value, at, c) => {
  const out = list(sequenceStep, { min: 2 })(value, at, c);
  const seen = new Set<string>();
  out?.forEach((s, i) => {
    if (typeof s?.name !== 'string') return;
    if (seen.has(s.name)) c.report(child(child(at, i), 'name'), `duplicate step name "${s.name}"`);
    seen.add(s.name);
  });
  return out;
};
