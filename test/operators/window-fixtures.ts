import type { SchedulerLike } from 'rxjs';
import { map } from 'rxjs';
import type { Aggregator } from '../../src/operators/aggregators.ts';
import { count, eventTimeFromField, tumbling, window } from '../../src/operators/window.ts';
import type { WindowOptions } from '../../src/operators/window.ts';
import type { TributaryError } from '../../src/core/errors.ts';
import { CountingLease, envelopeOf } from '../../src/core/envelope.ts';
import type { Envelope, Routed } from '../../src/core/envelope.ts';

/** A game event as the window tests see it. */
export interface Ev {
  readonly id: string;
  readonly key: string;
  readonly t: unknown;
  readonly amount?: unknown;
  readonly user?: string;
}

/** Builds test events with counting leases and per-partition offsets, and collects dead letters. */
export class Events {
  readonly leases = new Map<string, CountingLease>();
  readonly dead: { envelope: Envelope<unknown>; error: TributaryError; stepId: string }[] = [];
  readonly #offsets = new Map<number, number>();

  readonly deadLetter = (envelope: Envelope<unknown>, error: TributaryError, stepId: string): void => {
    this.dead.push({ envelope, error, stepId });
  };

  ev(id: string, key: string, t: unknown, options: { partition?: number; amount?: unknown; user?: string } = {}): Envelope<Ev> {
    const partition = options.partition ?? 0;
    const offset = this.#offsets.get(partition) ?? 0;
    this.#offsets.set(partition, offset + 1);
    const lease = new CountingLease();
    this.leases.set(id, lease);
    const value: Ev = { id, key, t, ...(options.amount === undefined ? {} : { amount: options.amount }), ...(options.user === undefined ? {} : { user: options.user }) };
    return envelopeOf(value, { topic: 'game-events', partition, offset }, lease);
  }

  lease(id: string): CountingLease {
    const lease = this.leases.get(id);
    if (lease === undefined) throw new Error(`no event ${id}`);
    return lease;
  }
}

/** Results as their plain value, late events as `{ late: id }`: comparable in marble expectations. */
export const view = map((routed: Routed<unknown>) =>
  routed.output === 'late' ? { late: (routed.envelope.value as Ev).id } : (routed.envelope.value as Record<string, unknown>),
);

/** A final result value, for expectations. */
export function result(key: string, windowStart: number, windowEnd: number, aggregates: Record<string, unknown>, final = true): Record<string, unknown> {
  return { key, window_start: windowStart, window_end: windowEnd, final, ...aggregates };
}

/** Wraps a scheduler to count actions scheduled and not yet torn down (pending timers). */
export function countingScheduler(inner: SchedulerLike): { scheduler: SchedulerLike; live: () => number } {
  let live = 0;
  const scheduler: SchedulerLike = {
    now: () => inner.now(),
    schedule(work: never, delay?: number, state?: unknown) {
      live++;
      const subscription = inner.schedule(work, delay, state);
      subscription.add(() => live--);
      return subscription;
    },
  } as SchedulerLike;
  return { scheduler, live: () => live };
}

/** One-minute tumbling windows keyed by `key`, counting events; `overrides` replace any option. */
export function countPerMinute(events: Events, overrides: Partial<WindowOptions<Ev>> = {}) {
  return window<Ev, Record<string, Aggregator<Ev>>>({
    id: 'w',
    window: tumbling({ sizeMs: 60_000 }),
    key: (e) => e.key,
    eventTime: eventTimeFromField((e: Ev) => e.t),
    aggregators: { events: count() },
    deadLetter: events.deadLetter,
    ...overrides,
  });
}
