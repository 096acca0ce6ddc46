import type { OperatorFunction } from 'rxjs';
import type { Envelope } from '../core/envelope.ts';
import type { FraudAlert } from './fraud-alert.ts';
import { insertByTime } from './fraud-internals.ts';
import { fraudOperator, OptionChecks, type FraudPatternOptions, type GetterOf, type PatternStep, type PredicateOf } from './fraud-pattern.ts';

export interface AmountOptions<T = unknown> extends FraudPatternOptions<T> {
  /** Which events carry an amount to judge (default: all); events whose amount is not a finite number are skipped. */
  readonly when?: PredicateOf<T>;
  readonly amount: GetterOf<T>;
  /** Ratio rule: alert when the amount is above `factor` x the key's average over `windowMs`. */
  readonly factor?: number;
  /** Length of the averaging window in event time; required with `factor`, ignored without. */
  readonly windowMs?: number;
  /** Previous amounts needed in the window before the ratio rule applies (default 3). */
  readonly minSamples?: number;
  /** Absolute rule: alert when the amount is above this, whatever the history. */
  readonly absoluteThreshold?: number;
  /** Amounts kept per key (default 1000); beyond it the oldest is dropped and counted in `state_limit_total`. */
  readonly maxSamplesPerKey?: number;
}

interface Sample {
  readonly timeMs: number;
  readonly amount: number;
}

interface AmountState {
  readonly samples: Sample[];
  sum: number;
}

/**
 * Alerts on an amount far above a key's usual (`factor` x the average of its PREVIOUS amounts within
 * `windowMs`, once it has `minSamples` of them) or above an absolute bound. At least one rule.
 *
 * ```ts
 * events$.pipe(fraudAmount({
 *   id: 'amount_spike', key: compileKey('user_id'), severity: 'medium',
 *   when: compilePredicate("event_type == 'purchase'"), amount: compileField('event_data.amount'),
 *   factor: 5, windowMs: 86_400_000, minSamples: 3, absoluteThreshold: 5_000,
 * }));
 * ```
 *
 * "Previous" is by event time: the average for an event at `t` is over the key's amounts at times in
 * `(t - windowMs, t]` that arrived before it; an event at or before `newest - windowMs` is late for
 * the ratio rule (counted in `late_events_total`; the absolute rule still applies). Every judged amount,
 * alerting or not, joins the history. An average <= 0 disables the ratio rule for that event. Each
 * anomalous event is its own alert (no suppression): `event_ids` is that one event.
 * @returns the alerts, each carrying the lease of its event
 */
export function fraudAmount<T>(options: AmountOptions<T>): OperatorFunction<Envelope<T>, Envelope<FraudAlert>> {
  const checks = new OptionChecks(options, 'fraudAmount');
  checks.fn('amount', options.amount);
  if (options.when !== undefined) checks.fn('when', options.when);
  const { factor, windowMs, absoluteThreshold } = options;
  if (factor === undefined && absoluteThreshold === undefined) checks.problems.push('give "factor" (with "windowMs") or "absoluteThreshold", or both');
  if (factor !== undefined) {
    checks.positive('factor', factor);
    checks.positive('windowMs', windowMs);
  }
  if (absoluteThreshold !== undefined && (typeof absoluteThreshold !== 'number' || !Number.isFinite(absoluteThreshold)))
    checks.problems.push(`option "absoluteThreshold" must be a finite number (got ${String(absoluteThreshold)})`);
  if (options.minSamples !== undefined) checks.integer('minSamples', options.minSamples, 1);
  if (options.maxSamplesPerKey !== undefined) checks.integer('maxSamplesPerKey', options.maxSamplesPerKey, 1);
  checks.done();
  const minSamples = options.minSamples ?? 3;
  const maxSamples = options.maxSamplesPerKey ?? 1000;
  const { amount: amountOf, when } = options;
  return fraudOperator<T, number>(options, {
    pattern: 'amount',
    select(value, meta) {
      if (when !== undefined && !when(value, meta)) return undefined;
      const amount = amountOf(value, meta);
      return typeof amount === 'number' && Number.isFinite(amount) ? amount : undefined;
    },
    open(context): PatternStep<number> {
      const keys =
        factor === undefined || windowMs === undefined
          ? undefined
          : context.keyed<AmountState>({ withinMs: windowMs, maxKeys: context.maxKeys, create: () => ({ samples: [], sum: 0 }), onLimit: context.limited });
      return (key, event, amount) => {
        const absolute = absoluteThreshold !== undefined && amount > absoluteThreshold;
        let ratio = false;
        let average: number | undefined;
        let previous = 0;
        if (keys !== undefined && factor !== undefined && windowMs !== undefined) {
          const slot = keys.acquire(key, event.timeMs, event.partition);
          if (slot === undefined) context.late();
          else {
            const state = slot.state;
            evict(state, slot.newestMs - windowMs);
            const samples = state.samples;
            const last = samples[samples.length - 1];
            // In order (the common case) every sample kept is in the window and before the event.
            let sum = state.sum;
            previous = samples.length;
            if (last !== undefined && last.timeMs > event.timeMs) [sum, previous] = previousOf(samples, event.timeMs, windowMs);
            if (previous >= minSamples) {
              average = sum / previous;
              ratio = average > 0 && amount > factor * average;
            }
            insertByTime(samples, { timeMs: event.timeMs, amount });
            state.sum += amount;
            if (samples.length > maxSamples) {
              state.sum -= (samples.shift() as Sample).amount;
              context.limited();
            }
          }
        }
        if (!absolute && !ratio) return undefined;
        return {
          event_ids: [event.id],
          first_event_time: event.timeMs,
          last_event_time: event.timeMs,
          details: {
            amount,
            rules: absolute && ratio ? ['absolute', 'ratio'] : absolute ? ['absolute'] : ['ratio'],
            ...(absoluteThreshold === undefined ? {} : { absolute_threshold: absoluteThreshold }),
            ...(factor === undefined ? {} : { factor, window_ms: windowMs, samples: previous }),
            ...(average === undefined ? {} : { average, ratio: amount / average }),
          },
        };
      };
    },
  });
}

function evict(state: AmountState, horizonMs: number): void {
  const samples = state.samples;
  let n = 0;
  while (n < samples.length && (samples[n] as Sample).timeMs <= horizonMs) state.sum -= (samples[n++] as Sample).amount;
  if (n === 0) return;
  samples.splice(0, n);
  // A running sum drifts with float rounding; start clean whenever the window empties.
  if (samples.length === 0) state.sum = 0;
}

/** Sum and count of the amounts in `(timeMs - windowMs, timeMs]`, for an event older than the key's newest. */
function previousOf(samples: readonly Sample[], timeMs: number, windowMs: number): [number, number] {
  let sum = 0;
  let count = 0;
  for (const s of samples) {
    if (s.timeMs > timeMs) break;
    if (s.timeMs > timeMs - windowMs) {
      sum += s.amount;
      count++;
    }
  }
  return [sum, count];
}
