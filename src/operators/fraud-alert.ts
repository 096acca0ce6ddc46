import { hash } from 'node:crypto';
import type { Envelope } from '../core/envelope.ts';

/** How urgent an alert is; sinks and routes may split on it. */
export type Severity = 'low' | 'medium' | 'high' | 'critical';

export const SEVERITIES: readonly Severity[] = ['low', 'medium', 'high', 'critical'];

/** The family of detection that raised an alert. */
export type FraudPatternKind = 'velocity' | 'amount' | 'distinct' | 'sequence';

/**
 * What a fraud pattern emits: one record per detection, keyed for upserts by `alert_id`.
 *
 * `alert_id` derives from the pattern id, the key and the matched event ids only, so replaying the
 * same events after a crash yields the same id and a sink that upserts by it writes nothing twice.
 */
export interface FraudAlert {
  readonly alert_id: string;
  /** The step id of the pattern that fired. */
  readonly pattern_id: string;
  readonly pattern: FraudPatternKind;
  /** The value the pattern is keyed by (usually a user id). */
  readonly key: string;
  readonly severity: Severity;
  /** The events that make up the detection, oldest first (by event time). */
  readonly event_ids: readonly string[];
  /** Event time of the oldest matched event, epoch ms. */
  readonly first_event_time: number;
  /** Event time of the newest matched event, epoch ms. */
  readonly last_event_time: number;
  /** Pattern-specific facts: counts, thresholds, amounts, step names. */
  readonly details: Readonly<Record<string, unknown>>;
}

/** What a pattern reports; the operator adds the ids, key and severity. */
export interface AlertDraft {
  readonly event_ids: readonly string[];
  readonly first_event_time: number;
  readonly last_event_time: number;
  readonly details: Readonly<Record<string, unknown>>;
}

/**
 * A deterministic alert id: 32 hex digits of SHA-256 over the pattern id, the key and the event ids.
 *
 * ```ts
 * alertId('rapid_purchases', 'u1', ['e1', 'e2']) === alertId('rapid_purchases', 'u1', ['e1', 'e2']); // true
 * ```
 */
export function alertId(patternId: string, key: string, eventIds: readonly string[]): string {
  // JSON framing keeps ('a|b', 'c') and ('a', 'b|c') apart.
  return hash('sha256', JSON.stringify([patternId, key, eventIds]), 'hex').slice(0, 32);
}

/** Builds the alert record for a draft. */
export function makeAlert(
  patternId: string,
  pattern: FraudPatternKind,
  key: string,
  severity: Severity,
  draft: AlertDraft,
): FraudAlert {
  return {
    alert_id: alertId(patternId, key, draft.event_ids),
    pattern_id: patternId,
    pattern,
    key,
    severity,
    event_ids: draft.event_ids,
    first_event_time: draft.first_event_time,
    last_event_time: draft.last_event_time,
    details: draft.details,
  };
}

/**
 * The envelope an alert travels in: the triggering event's metadata and lease (ownership moves to
 * the alert), with `eventTimeMs` = `last_event_time`.
 */
export function alertEnvelope(trigger: Envelope<unknown>, alert: FraudAlert): Envelope<FraudAlert> {
  return { value: alert, meta: trigger.meta, lease: trigger.lease, eventTimeMs: alert.last_event_time };
}
