import { route } from '../../../operators/route.ts';
import { name, oneOf, predicate } from '../../checks.ts';
import type { Check, Described } from '../../schema.ts';
import { child, described, fields, list } from '../../schema.ts';
import { properties } from '../common.ts';
import { defineStep, option, type NodeBase } from '../kind.ts';

export interface RouteSpec {
  readonly id: string;
  readonly kind: 'route';
  readonly from: string | readonly string[];
  readonly routes: readonly { readonly output: string; readonly when: string }[];
  /** `first` (default): the first matching route; `all`: every matching route. */
  readonly mode?: 'first' | 'all';
  /** Output for records no route matches; without it they are dropped. */
  readonly default?: string;
}

export interface RouteStep extends NodeBase {
  readonly kind: 'route';
  readonly routes: readonly { readonly output: string; readonly when: string }[];
  readonly mode: 'first' | 'all';
  readonly defaultOutput: string | undefined;
}

const oneRoute: Check<{ output: string; when: string }> = (value, at, c) => {
  const f = fields(value, at, c);
  if (!f) return undefined as never;
  const out = { output: f.req('output', name), when: f.req('when', predicate) };
  f.done();
  return out;
};

const routeList = list(oneRoute);
const routes: Described<{ output: string; when: string }[]> = described(
  (value, at, c) => {
    const out = routeList(value, at, c);
    const seen = new Set<string>();
    out?.forEach((r, i) => {
      if (typeof r?.output !== 'string') return;
      if (seen.has(r.output)) c.report(child(child(at, i), 'output'), `duplicate output "${r.output}"`);
      seen.add(r.output);
    });
    return out;
  },
  {
    type: 'array',
    minItems: 1,
    items: { type: 'object', additionalProperties: false, required: ['output', 'when'], ...properties({ output: name, when: predicate }, { output: 'The output name: read it as <step>.<output>.' }) },
  },
);

export const routeKind = defineStep<RouteSpec, RouteStep>()({
  kind: 'route',
  doc: 'Sends each record to the named outputs whose when holds (read them as <step>.<output>).',
  options: {
    routes: option(routes, { required: true, doc: 'The outputs and their predicates, in order: [{ output, when }, ...].' }),
    mode: option(oneOf('first', 'all'), { default: 'first', doc: 'first: the first matching route; all: every matching route.' }),
    default: option(name, { doc: 'Output for records no route matches; without it they are dropped.' }),
  },
  read: (o, base) => ({ ...base, kind: 'route', routes: o.get('routes'), mode: o.get('mode'), defaultOutput: o.get('default') }),
  compile: (step, io) =>
    io.apply(route({ id: step.id, routes: step.routes, mode: step.mode, ...(step.defaultOutput ? { defaultOutput: step.defaultOutput } : {}), metrics: io.deps.metrics })),
  describe: (step) => `${step.routes.length} routes, ${step.mode}`,
  outputs: (step) => {
    const outputs = step.routes.map((r) => r.output);
    return [...new Set(step.defaultOutput === undefined ? outputs : [...outputs, step.defaultOutput])];
  },
  mainOutput: false,
  keepsOrder: true,
  synchronous: true,
});
