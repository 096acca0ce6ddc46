import type { OperatorFunction } from 'rxjs';
import type { Envelope } from '../core/envelope.ts';
import type { FraudAlert } from './fraud-alert.ts';
import { dropUntil, insertByTime, valueKey } from './fraud-internals.ts';
import { fraudOperator, OptionChecks, type FraudPatternOptions, type GetterOf, type PredicateOf } from './fraud-pattern.ts';

export interface DistinctOptions<T = unknown> extends FraudPatternOptions<T> {
  /** Which events count (default: all); events whose field is missing are skipped. */
  readonly when?: PredicateOf<T>;
  /** The value counted, e.g. `device_id`; compared as strings (objects as JSON). */
  readonly field: GetterOf<T>;
  /** Alert when MORE than this many distinct values fall in one window. */
  readonly threshold: number;
  /** Window length in event time; values seen exactly `withinMs` apart are not in one window. */
  readonly withinMs: number;
}

interface Seen {
  readonly value: string;
  /** The value's latest event. */
  readonly timeMs: number;
  readonly id: string;
}

/**
 * Alerts when a key shows more than `threshold` distinct values of `field` within `withinMs` of
 * event time, e.g. logins from more than 3 device ids in 10 minutes.
 *
 * ```ts
 * events$.pipe(fraudDistinct({
 *   id: 'many_devices', key: compileKey('user_id'), severity: 'medium',
 *   when: compilePredicate("event_type == 'login'"), field: compileField('event_data.device_id'),
 *   threshold: 3, withinMs: 600_000,
 * }));
 * ```
 *
 * A value is in the key's window `(newest - withinMs, newest]` while its latest event is. Once per
 * excursion: an alert fires when an event raises the count from `threshold` to `threshold + 1`
 * (counted after the values that left the window are dropped); while the count stays above
 * `threshold` nothing more fires, and a new alert needs the count to fall back to `threshold` or
 * below first. The alert lists the latest event of each of the `threshold + 1` values, oldest first.
 * State per key: the `threshold + 1` most recently seen values (enough to decide the count).
 * @returns the alerts, each carrying the lease of the event that triggered it
 */
export function fraudDistinct<T>(options: DistinctOptions<T>): OperatorFunction<Envelope<T>, Envelope<FraudAlert>> {
  const checks = new OptionChecks(options, 'fraudDistinct');
  checks.fn('field', options.field);
  checks.integer('threshold', options.threshold, 1);
  checks.positive('withinMs', options.withinMs);
  if (options.when !== undefined) checks.fn('when', options.when);
  checks.done();
  const { threshold, withinMs, when, field } = options;
  return fraudOperator<T, string>(options, {
    pattern: 'distinct',
    select(value, meta) {
      if (when !== undefined && !when(value, meta)) return undefined;
      return valueKey(field(value, meta));
    },
    open(context) {
      const keys = context.keyed<Seen[]>({ withinMs, maxKeys: context.maxKeys, create: () => [], onLimit: context.limited });
      return (key, event, value) => {
        const slot = keys.acquire(key, event.timeMs, event.partition);
        if (slot === undefined) return context.late();
        const seen = slot.state;
        dropUntil(seen, slot.newestMs - withinMs);
        const at = seen.findIndex((s) => s.value === value);
        if (at >= 0) {
          // A value seen again: only its latest time matters, the count does not change.
          if ((seen[at] as Seen).timeMs < event.timeMs) {
            seen.splice(at, 1);
            insertByTime(seen, { value, timeMs: event.timeMs, id: event.id });
          }
          return undefined;
        }
        const before = seen.length;
        insertByTime(seen, { value, timeMs: event.timeMs, id: event.id });
        if (seen.length > threshold + 1) seen.shift();
        if (before !== threshold) return undefined;
        return {
          event_ids: seen.map((s) => s.id),
          first_event_time: (seen[0] as Seen).timeMs,
          last_event_time: (seen[seen.length - 1] as Seen).timeMs,
          details: { count: seen.length, threshold, within_ms: withinMs, values: seen.map((s) => s.value) },
        };
      };
    },
  });
}
