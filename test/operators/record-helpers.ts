/** Helpers for the record-level operator tests: counted envelopes, a recording dead-letter sink, marbles. */
import { expect } from 'vitest';
import { TestScheduler } from 'rxjs/testing';
import type { TributaryError } from '../../src/errors.ts';
import { CountingLease, envelopeOf, type Envelope, type RecordMeta } from '../../src/runtime/envelope.ts';
import type { DeadLetter } from '../../src/sinks/sink.ts';

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
