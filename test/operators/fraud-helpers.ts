import { map, type Observable } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { expect } from 'vitest';
import { CountingLease, envelopeOf, type Envelope } from '../../src/core/envelope.ts';
import type { FraudAlert } from '../../src/operators/fraud-alert.ts';

/** Test support for the fraud pattern tests (not a test file itself). */

export interface GameEvent {
  readonly event_id?: string;
  readonly user_id?: string;
  readonly event_type: string;
  readonly event_data?: Readonly<Record<string, unknown>>;
}

export const SECOND = 1000;
export const MINUTE = 60 * SECOND;

export function testScheduler(): TestScheduler {
  return new TestScheduler((actual, expected) => expect(actual).toEqual(expected));
}

/** An envelope with its own CountingLease, event time `timeMs`, offset from the event id's digits. */
export function ev(eventId: string, timeMs: number, value: Omit<GameEvent, 'event_id'>): Envelope<GameEvent> {
  const offset = Number(eventId.replace(/\D/g, '') || 0);
  return envelopeOf<GameEvent>({ event_id: eventId, ...value }, { topic: 'game-events', offset, timestamp: timeMs }, new CountingLease(), timeMs);
}

/** Shorthands for the usual events of user `user`. */
export const purchase = (id: string, user: string, timeMs: number, data: Record<string, unknown> = {}) =>
  ev(id, timeMs, { user_id: user, event_type: 'purchase', event_data: data });
export const login = (id: string, user: string, timeMs: number, device?: string) =>
  ev(id, timeMs, { user_id: user, event_type: 'login', event_data: device === undefined ? {} : { device_id: device } });

/** An alert as `key:id1,id2,…`, to keep marble expectations short. */
export function brief(alert: Envelope<FraudAlert>): string {
  return `${alert.value.key}:${alert.value.event_ids.join(',')}`;
}

/** The alerts as briefs, each alert envelope also pushed to `sink` for later checks. */
export function briefs(alerts$: Observable<Envelope<FraudAlert>>, sink: Envelope<FraudAlert>[]): Observable<string> {
  return alerts$.pipe(
    map((alert) => {
      sink.push(alert);
      return brief(alert);
    }),
  );
}

/**
 * The lease contract after a run: each alert holds its trigger's lease (one reference), every other
 * input's lease is released exactly once. Then releases the alerts, as a sink would.
 */
export function expectLeasesSettled(inputs: readonly Envelope<unknown>[], alerts: readonly Envelope<FraudAlert>[]): void {
  const held = new Set(alerts.map((a) => a.lease));
  expect(held.size).toBe(alerts.length);
  for (const input of inputs) {
    const lease = input.lease as CountingLease;
    expect(lease.refs, `lease of ${(input.value as GameEvent).event_id}`).toBe(held.has(lease) ? 1 : 0);
  }
  for (const alert of alerts) alert.lease.release();
  for (const input of inputs) expect((input.lease as CountingLease).done).toBe(true);
}
