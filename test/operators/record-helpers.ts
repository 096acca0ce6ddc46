/** Helpers for the record-level operator tests: counted envelopes, a recording dead-letter sink, marbles. */
import type { EventSchema } from '../../src/operators/event-schema.ts';
import { expect } from 'vitest';
import { TestScheduler } from 'rxjs/testing';
import type { TributaryError } from '../../src/core/errors.ts';
import { CountingLease, envelopeOf, type Envelope, type RecordMeta } from '../../src/core/envelope.ts';
import type { DeadLetter } from '../../src/core/sink.ts';

export type Counted<T> = Envelope<T> & { readonly lease: CountingLease };

/** An envelope at `offset` of partition 0 of topic `t`, with a CountingLease; `Counted<unknown>` unless typed. */
export function record<T = unknown>(value: NoInfer<T>, offset = 0, meta: Partial<RecordMeta> = {}): Counted<T> {
  return envelopeOf(value, { offset, ...meta }, new CountingLease()) as Counted<T>;
}

export interface Letter {
  readonly envelope: Envelope<unknown>;
  readonly error: TributaryError;
  readonly stepId: string;
}

/** A dead-letter function that records what it gets and releases the lease, as a durable DLQ would. */
export function deadLetters(): { deadLetter: DeadLetter; letters: Letter[] } {
  const letters: Letter[] = [];
  return {
    letters,
    deadLetter(envelope, error, stepId) {
      letters.push({ envelope, error, stepId });
      envelope.lease.release();
    },
  };
}

/** A TestScheduler comparing with vitest's deep equality. */
export function testScheduler(): TestScheduler {
  return new TestScheduler((actual, expected) => expect(actual).toEqual(expected));
}

/** Releases what a sink would release, then checks every lease is done (a double release throws). */
export function expectAllDone(records: readonly Counted<unknown>[]): void {
  expect(records.map((r) => r.lease.refs)).toEqual(records.map(() => 0));
}

/** The schema the event-schema and validate tests share, with a valid purchase built on `baseEvent`. */
export const SCHEMA: EventSchema = {
  common: { event_id: 'string', event_type: 'string', user_id: 'string', timestamp: 'timestamp', platform: 'string?' },
  events: {
    purchase: { 'event_data.amount': 'number', 'event_data.currency': 'string', 'event_data.items': 'array?' },
    level_complete: { 'event_data.level': 'integer', 'event_data.perfect': 'boolean', event_data: 'object' },
  },
};
export const baseEvent = { event_id: 'e1', user_id: 'u1', timestamp: '2024-03-07T12:00:00Z' };
export const purchaseEvent = { ...baseEvent, event_type: 'purchase', event_data: { amount: 9.99, currency: 'USD' } };
