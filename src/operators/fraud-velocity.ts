import type { OperatorFunction } from 'rxjs';
import type { Envelope } from '../core/envelope.ts';
import type { FraudAlert } from './fraud-alert.ts';
import { dropUntil, insertByTime } from './fraud-internals.ts';
import { fraudOperator, OptionChecks, type FraudEvent, type FraudPatternOptions, type PredicateOf } from './fraud-pattern.ts';

export interface VelocityOptions<T = unknown> extends FraudPatternOptions<T> {
  /** Which events count (default: all). */
  readonly when?: PredicateOf<T>;
  /** Alert when MORE than this many events fall in one window. */
  readonly threshold: number;
  /** Window length in event time; events exactly `withinMs` apart are not in one window. */
  readonly withinMs: number;
}

interface VelocityState {
  /** The newest `threshold + 1` counted events in the window, oldest first. */
  readonly events: FraudEvent[];
  /** No alert before the key's newest event reaches this time (once per burst). */
  rearmAtMs: number;
}

/**
 * Alerts when a key has more than `threshold` events matching `when` within `withinMs` of event
 * time, e.g. more than 5 purchases in 60 s.
 *
 * ```ts
 * events$.pipe(fraudVelocity({
 *   id: 'rapid_purchases', key: compileKey('user_id'), severity: 'high',
 *   when: compilePredicate("event_type == 'purchase'"), threshold: 5, withinMs: 60_000,
 * }));
 * ```
 *
 * The window of a key is `(newest - withinMs, newest]`, `newest` being its newest event time (so an
 * out-of-order event is counted where its time puts it; one at or before `newest - withinMs` is late:
 * released and counted in `late_events_total`). The alert lists the `threshold + 1` newest events of
 * the window. Once per burst: after an alert whose newest event is at time `t`, the key stays quiet
 * until one of its events reaches `t + withinMs`, when every event of that alert has left the window;
 * an alert then needs `threshold + 1` events that are all newer, so no event is in two alerts of a key.
 * A sustained burst therefore alerts about once per `withinMs`. State per key: `threshold + 1` events.
 * @returns the alerts, each carrying the lease of the event that triggered it
 */
export function fraudVelocity<T>(options: VelocityOptions<T>): OperatorFunction<Envelope<T>, Envelope<FraudAlert>> {
  const checks = new OptionChecks(options, 'fraudVelocity');
  checks.integer('threshold', options.threshold, 1);
  checks.positive('withinMs', options.withinMs);
  if (options.when !== undefined) checks.fn('when', options.when);
  checks.done();
  const { threshold, withinMs, when } = options;
  return fraudOperator<T, true>(options, {
    pattern: 'velocity',
    select: when === undefined ? () => true : (value, meta) => (when(value, meta) ? true : undefined),
    open(context) {
      const keys = context.keyed<VelocityState>({
        withinMs,
        maxKeys: context.maxKeys,
        create: () => ({ events: [], rearmAtMs: -Infinity }),
        onLimit: context.limited,
      });
      return (key, event) => {
        const slot = keys.acquire(key, event.timeMs, event.partition);
        if (slot === undefined) return context.late();
        const state = slot.state;
        const events = state.events;
        insertByTime(events, event);
        if (events.length > threshold + 1) events.shift();
        dropUntil(events, slot.newestMs - withinMs);
        if (events.length <= threshold || slot.newestMs < state.rearmAtMs) return undefined;
        state.rearmAtMs = slot.newestMs + withinMs;
        const first = events[0] as FraudEvent;
        const last = events[events.length - 1] as FraudEvent;
        return {
          event_ids: events.map((e) => e.id),
          first_event_time: first.timeMs,
          last_event_time: last.timeMs,
          details: { count: events.length, threshold, within_ms: withinMs },
        };
      };
    },
  });
}
