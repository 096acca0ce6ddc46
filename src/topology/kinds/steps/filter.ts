import { filter } from '../../../operators/filter.ts';
import { predicate } from '../../checks.ts';
import { defineStep, option, type NodeBase } from '../kind.ts';

export interface FilterSpec {
  readonly id: string;
  readonly kind: 'filter';
  readonly from: string | readonly string[];
  readonly when: string;
}

export interface FilterStep extends NodeBase {
  readonly kind: 'filter';
  readonly when: string;
}

export const filterKind = defineStep<FilterSpec, FilterStep>()({
  kind: 'filter',
  doc: 'Passes the records for which when holds.',
  options: { when: option(predicate, { required: true, doc: "The predicate: \"event_type == 'purchase'\"." }) },
  read: (o, base) => ({ ...base, kind: 'filter', when: o.get('when') }),
  compile: (step, io) => io.apply(filter({ id: step.id, when: step.when })),
  describe: (step) => step.when,
  keepsOrder: true,
  synchronous: true,
});
