import { sample } from '../../../operators/sample.ts';
import { key, num } from '../../checks.ts';
import { child } from '../../schema.ts';
import { defineStep, option, type NodeBase } from '../kind.ts';
import type { KeySpec } from '../../spec.ts';

export interface SampleSpec {
  readonly id: string;
  readonly kind: 'sample';
  readonly from: string | readonly string[];
  /** The share of keys kept, in (0, 1]: `0.01` keeps one key in a hundred. */
  readonly rate: number;
  /** Default `event_id`; `user_id` keeps whole users. */
  readonly key?: KeySpec;
}

export interface SampleStep extends NodeBase {
  readonly kind: 'sample';
  readonly rate: number;
  readonly key: readonly string[];
}

export const sampleKind = defineStep<SampleSpec, SampleStep>()({
  kind: 'sample',
  doc: 'Keeps a deterministic share of the records, by a hash of their key: the same records on every run, replay and instance.',
  options: {
    rate: option(num({ above: 0 }), { required: true, doc: 'The share of keys kept, in (0, 1]: 0.01 keeps one key in a hundred.' }),
    key: option(key, { default: 'event_id', doc: 'What is sampled: event_id keeps single events, user_id whole users.' }),
  },
  read: (o, base, c) => {
    const rate = o.get('rate');
    if (typeof rate === 'number' && rate > 1) c.report(child(o.at, 'rate'), `must be at most 1 (got ${rate})`);
    return { ...base, kind: 'sample', rate, key: o.get('key') };
  },
  compile: (step, io) => io.apply(sample({ id: step.id, rate: step.rate, key: step.key })),
  describe: (step) => `${step.rate * 100}% by ${step.key.join(', ')}`,
  keepsOrder: true,
  synchronous: true,
});
