import type { OperatorFunction } from 'rxjs';
import type { Envelope } from '../core/envelope.ts';
import type { AlertDraft, FraudAlert } from './fraud-alert.ts';
import { dropUntil, insertByTime, valueKey } from './fraud-internals.ts';
import { fraudOperator, OptionChecks, type FraudPatternOptions, type GetterOf, type PredicateOf } from './fraud-pattern.ts';

export interface SequenceStep<T = unknown> {
  readonly name: string;
  /** Over the event alone; relations between steps go through `correlate`. */
  readonly when: PredicateOf<T>;
}

export interface SequenceOptions<T = unknown> extends FraudPatternOptions<T> {
  /** Events the pattern looks at at all (default: all), before the step predicates. */
  readonly when?: PredicateOf<T>;
  /** Two or three steps: A followed by B (followed by C). */
  readonly steps: readonly SequenceStep<T>[];
  /** The last step must come less than `withinMs` after the first, in event time. */
  readonly withinMs: number;
  /** A value that must be equal in every step of a match, e.g. `event_data.transaction_id`. */
  readonly correlate?: GetterOf<T>;
  /** Step events buffered per key (default 32); beyond it the oldest is dropped and counted in `state_limit_total`. */
  readonly maxPartialsPerKey?: number;
}

interface Pending {
  readonly timeMs: number;
  readonly id: string;
  /** Bit i set: the event satisfies step i. */
  readonly mask: number;
  readonly correlation: string;
}

interface Selected {
  readonly mask: number;
  readonly correlation: string;
}

/**
 * Alerts when, for one key, events matching steps A, B (and C) occur in that order within
 * `withinMs`, with other events allowed in between (Flink CEP's `begin(A).followedBy(B).within(T)`).
 *
 * ```ts
 * events$.pipe(fraudSequence({
 *   id: 'refund_after_purchase', key: compileKey('user_id'), severity: 'high', withinMs: 300_000,
 *   steps: [
 *     { name: 'purchase', when: compilePredicate("event_type == 'purchase'") },
 *     { name: 'refund', when: compilePredicate("event_type == 'refund_request'") },
 *   ],
 *   correlate: compileField('event_data.transaction_id'),
 * }));
 * ```
 *
 * Every event that satisfies some step is buffered by event time (equal times in arrival order); it is
 * a partial match while it is in the key's window `(newest - withinMs, newest]`. A match is a chain of
 * buffered events, one per step, in that order, with the same `correlate` value (events without one
 * take no part), the last less than `withinMs` after the first. Among the chains, the one with the
 * earliest first event wins, each later step taking the first fitting event after the previous one.
 * After a match, buffered events of that correlation value up to its last event are discarded (Flink's
 * `skipPastLastEvent`): two A's then one B make one alert. An out-of-order event (B arriving before
 * its A) still matches once the A arrives, if both are in the window. Unlike Flink, nothing waits
 * for a watermark: matches are decided on arrival, and an event at or before `newest - withinMs` is
 * late (counted in `late_events_total`) and takes no part.
 * @returns the alerts, each carrying the lease of the event that completed the match
 */
export function fraudSequence<T>(options: SequenceOptions<T>): OperatorFunction<Envelope<T>, Envelope<FraudAlert>> {
  const checks = new OptionChecks(options, 'fraudSequence');
  const steps = options.steps;
  if (!Array.isArray(steps) || steps.length < 2 || steps.length > 3) checks.problems.push('option "steps" must list 2 or 3 steps');
  else {
    steps.forEach((s, i) => {
      if (typeof s?.name !== 'string' || s.name === '') checks.problems.push(`steps[${i}].name must be a non-empty string`);
      checks.fn(`steps[${i}].when`, s?.when);
    });
    if (new Set(steps.map((s) => s?.name)).size !== steps.length) checks.problems.push('step names must be unique');
  }
  checks.positive('withinMs', options.withinMs);
  if (options.correlate !== undefined) checks.fn('correlate', options.correlate);
  if (options.when !== undefined) checks.fn('when', options.when);
  if (options.maxPartialsPerKey !== undefined) checks.integer('maxPartialsPerKey', options.maxPartialsPerKey, 1);
  checks.done();
  const { withinMs, correlate, when } = options;
  const maxPartials = options.maxPartialsPerKey ?? 32;
  const lastBit = 1 << (steps.length - 1);
  const names = steps.map((s) => s.name);
  return fraudOperator<T, Selected>(options, {
    pattern: 'sequence',
    select(value, meta) {
      if (when !== undefined && !when(value, meta)) return undefined;
      let mask = 0;
      for (let i = 0; i < steps.length; i++) if ((steps[i] as SequenceStep<T>).when(value, meta)) mask |= 1 << i;
      if (mask === 0) return undefined;
      if (correlate === undefined) return { mask, correlation: '' };
      const correlation = valueKey(correlate(value, meta));
      return correlation === undefined ? undefined : { mask, correlation };
    },
    open(context) {
      const keys = context.keyed<Pending[]>({ withinMs, maxKeys: context.maxKeys, create: () => [], onLimit: context.limited });
      return (key, event, { mask, correlation }) => {
        const slot = keys.acquire(key, event.timeMs, event.partition);
        if (slot === undefined) return context.late();
        const pending = slot.state;
        dropUntil(pending, slot.newestMs - withinMs);
        const at = insertByTime(pending, { timeMs: event.timeMs, id: event.id, mask, correlation });
        // In order, the new event can only complete a chain as its last step.
        const chain = at === pending.length - 1 && (mask & lastBit) === 0 ? undefined : findChain(pending, correlation, steps.length);
        if (chain === undefined) {
          if (pending.length > maxPartials) {
            pending.shift();
            context.limited();
          }
          return undefined;
        }
        skipPast(pending, chain[chain.length - 1] as Pending, correlation);
        return draftOf(chain, names, withinMs, correlate === undefined ? undefined : correlation);
      };
    },
  });
}

/**
 * The chain with the earliest first event; each later step takes the first fitting event after the
 * previous. No time check is needed: the buffer only holds the key's window, which spans less than
 * `withinMs`, so any chain in it does too.
 */
function findChain(pending: readonly Pending[], correlation: string, steps: number): Pending[] | undefined {
  for (let i = 0; i < pending.length; i++) {
    const first = pending[i] as Pending;
    if ((first.mask & 1) === 0 || first.correlation !== correlation) continue;
    const chain = chainFrom(pending, i, correlation, steps);
    if (chain !== undefined) return chain;
  }
  return undefined;
}

function chainFrom(pending: readonly Pending[], start: number, correlation: string, steps: number): Pending[] | undefined {
  const first = pending[start] as Pending;
  const chain = [first];
  let j = start + 1;
  for (let step = 1; step < steps; step++) {
    const bit = 1 << step;
    let found: Pending | undefined;
    while (found === undefined && j < pending.length) {
      const p = pending[j++] as Pending;
      if ((p.mask & bit) !== 0 && p.correlation === correlation) found = p;
    }
    if (found === undefined) return undefined;
    chain.push(found);
  }
  return chain;
}

/** Discards the buffered events of `correlation` up to and including `last`. */
function skipPast(pending: Pending[], last: Pending, correlation: string): void {
  const end = pending.indexOf(last);
  let kept = 0;
  for (let i = 0; i < pending.length; i++) {
    const p = pending[i] as Pending;
    if (i > end || p.correlation !== correlation) pending[kept++] = p;
  }
  pending.length = kept;
}

function draftOf(chain: readonly Pending[], names: readonly string[], withinMs: number, correlation: string | undefined): AlertDraft {
  const first = chain[0] as Pending;
  const last = chain[chain.length - 1] as Pending;
  return {
    event_ids: chain.map((p) => p.id),
    first_event_time: first.timeMs,
    last_event_time: last.timeMs,
    details: {
      steps: chain.map((p, i) => ({ name: names[i], event_id: p.id, time: p.timeMs })),
      within_ms: withinMs,
      ...(correlation === undefined ? {} : { correlation }),
    },
  };
}
