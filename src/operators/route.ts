import type { OperatorFunction } from 'rxjs';
import type { Envelope, Routed } from '../core/envelope.ts';
import type { Metrics } from '../core/metrics.ts';
import type { Predicate } from '../core/expression.ts';
import { toPredicate } from './filter.ts';
import { checkStepId, perRecord, stepConfigError } from './per-record.ts';

export interface RouteOptions {
  /** The step id (errors, logs, metric labels). */
  readonly id: string;
  /** Outputs and their conditions, in order; an expression string is compiled with `compilePredicate`. */
  readonly routes: readonly { readonly output: string; readonly when: Predicate | string }[];
  /** `first` (default): the first matching route only. `all`: every matching output, once each. */
  readonly mode?: 'first' | 'all';
  /** Where records matching no route go. Without it they are done (lease released) and counted. */
  readonly defaultOutput?: string;
  /** Counts unmatched records as `records_out_total{step, output: "unmatched"}`. */
  readonly metrics?: Metrics;
}

/** The label under which records that match no route (and have no default output) are counted. */
export const UNMATCHED = 'unmatched';

/**
 * Tags each record with the named output(s) it goes to, for the topology to split into branches.
 *
 * ```ts
 * events$.pipe(route({
 *   id: 'by-type',
 *   routes: [
 *     { output: 'purchases', when: "event_type == 'purchase'" },
 *     { output: 'big', when: 'event_data.amount > 1000' },
 *   ],
 *   mode: 'all',
 *   defaultOutput: 'other',
 * }));
 * ```
 *
 * In `all` mode a record matching k outputs is emitted k times (its lease retained k - 1 times
 * first); routes naming the same output count as one (their conditions or-ed). A record matching
 * nothing goes to `defaultOutput`, or, without one, is released and counted in
 * `records_out_total` with the label `output: "unmatched"`.
 * @returns `{ output, envelope }` pairs
 */
export function route<T>(options: RouteOptions): OperatorFunction<Envelope<T>, Routed<T>> {
  const { id, routes, mode = 'first', defaultOutput, metrics } = options;
  checkStepId(id, 'route');
  if (!Array.isArray(routes) || routes.length === 0) throw stepConfigError(id, 'option "routes" must list at least one route');
  if (mode !== 'first' && mode !== 'all') throw stepConfigError(id, `option "mode" must be 'first' or 'all', got ${JSON.stringify(mode)}`);
  if (defaultOutput !== undefined && (typeof defaultOutput !== 'string' || defaultOutput === ''))
    throw stepConfigError(id, 'option "defaultOutput" must be a non-empty string');
  const compiled = routes.map((r, i) => {
    if (typeof r?.output !== 'string' || r.output === '') throw stepConfigError(id, `routes[${i}].output must be a non-empty string`);
    return { output: r.output, when: toPredicate(id, `routes[${i}].when`, r.when) };
  });
  const unmatchedLabels = { step: id, output: UNMATCHED };
  const unmatched = (envelope: Envelope<T>): void => {
    envelope.lease.release();
    metrics?.inc('records_out_total', unmatchedLabels);
  };

  if (mode === 'first') {
    return perRecord<Envelope<T>, Routed<T>>((envelope, subscriber) => {
      for (const r of compiled) {
        if (r.when(envelope.value, envelope.meta)) return subscriber.next({ output: r.output, envelope });
      }
      if (defaultOutput !== undefined) subscriber.next({ output: defaultOutput, envelope });
      else unmatched(envelope);
    });
  }

  const outputs = mergeByOutput(compiled);
  return perRecord<Envelope<T>, Routed<T>>((envelope, subscriber) => {
    const matched: string[] = [];
    for (const o of outputs) if (o.when(envelope.value, envelope.meta)) matched.push(o.output);
    if (matched.length === 0) {
      if (defaultOutput !== undefined) subscriber.next({ output: defaultOutput, envelope });
      else unmatched(envelope);
      return;
    }
    if (matched.length > 1) envelope.lease.retain(matched.length - 1);
    for (const output of matched) subscriber.next({ output, envelope });
  });
}

function mergeByOutput(routes: readonly { output: string; when: Predicate }[]): { output: string; when: Predicate }[] {
  const byOutput = new Map<string, Predicate[]>();
  for (const r of routes) {
    const list = byOutput.get(r.output);
    if (list) list.push(r.when);
    else byOutput.set(r.output, [r.when]);
  }
  return [...byOutput].map(([output, whens]) => ({
    output,
    when: whens.length === 1 ? (whens[0] as Predicate) : (value, meta) => whens.some((w) => w(value, meta)),
  }));
}
