/**
 * Injections with ground truth: malformed and oversized records, and the per-user ledger that keeps
 * normal traffic below every fraud threshold (fraud cases themselves are planned in fraud.ts).
 */
import { EVENT_TOPIC, type GameEvent } from './events.ts';
import type { GeneratorOptions } from './options.ts';
import type { Rng } from './random.ts';
import type { TrafficGates } from './sessions.ts';

export const MALFORMED_KINDS = ['truncated', 'wrong_type', 'unknown_event_type', 'missing_user_id', 'oversized'] as const;
export type MalformedKind = (typeof MALFORMED_KINDS)[number];

/**
 * Per-user purchase history: caps normal purchases per window, freezes the normal purchases of
 * fraud users around their cases, offers refunds only for old purchases, and keeps averages.
 */
export class Ledger implements TrafficGates {
  readonly #options: GeneratorOptions;
  readonly #recent = new Map<number, number[]>();
  readonly #last = new Map<number, { transactionId: string; gameId: string; cents: number; timeMs: number }>();
  readonly #totals = new Map<number, { cents: number; count: number }>();
  readonly #frozen = new Map<number, [number, number]>();

  constructor(options: GeneratorOptions) {
    this.#options = options;
  }

  /** Normal purchases and refunds of this user are suppressed in [fromMs, toMs]. */
  freeze(userRank: number, fromMs: number, toMs: number): void {
    this.#frozen.set(userRank, [fromMs, toMs]);
  }

  isFraudUser(userRank: number): boolean {
    return this.#frozen.has(userRank);
  }

  #isFrozen(userRank: number, timeMs: number): boolean {
    const span = this.#frozen.get(userRank);
    return span !== undefined && timeMs >= span[0] && timeMs <= span[1];
  }

  mayPurchase(userRank: number, timeMs: number): boolean {
    if (this.#isFrozen(userRank, timeMs)) return false;
    const windowMs = this.#options.fraud.burstWindowMs;
    const times = (this.#recent.get(userRank) ?? []).filter((t) => t > timeMs - windowMs);
    this.#recent.set(userRank, times);
    return times.length < this.#options.normalPurchasesPerWindow;
  }

  recordPurchase(userRank: number, timeMs: number, purchase: { transactionId: string; gameId: string; cents: number }): void {
    const times = this.#recent.get(userRank);
    if (times === undefined) this.#recent.set(userRank, [timeMs]);
    else times.push(timeMs);
    this.#last.set(userRank, { ...purchase, timeMs });
    this.addToAverage(userRank, purchase.cents);
  }

  addToAverage(userRank: number, cents: number): void {
    const total = this.#totals.get(userRank) ?? { cents: 0, count: 0 };
    total.cents += cents;
    total.count++;
    this.#totals.set(userRank, total);
  }

  /** The user's average purchase so far, in cents (0 with no purchase). */
  averageCents(userRank: number): number {
    const total = this.#totals.get(userRank);
    return total === undefined ? 0 : total.cents / total.count;
  }

  refundable(userRank: number, timeMs: number): { transactionId: string; gameId: string; cents: number } | undefined {
    if (this.#isFrozen(userRank, timeMs)) return undefined;
    const last = this.#last.get(userRank);
    // Twice the fraud window: a normal refund is never mistaken for refund-after-purchase fraud.
    if (last === undefined || timeMs - last.timeMs < 2 * this.#options.fraud.refundWindowMs) return undefined;
    this.#last.delete(userRank);
    return last;
  }
}


/** A malformed record made from a normal event: its bytes, key and what is wrong with it. */
export interface Malformed {
  kind: MalformedKind;
  detail: string;
  value: string;
  key: string | null;
}

/** Corrupts an event in one of the four everyday ways (oversized is separate). */
export function corrupt(event: GameEvent, rng: Rng): Malformed {
  const kind = rng.pick(['truncated', 'wrong_type', 'unknown_event_type', 'missing_user_id'] as const);
  const key = event.user_id;
  switch (kind) {
    case 'truncated': {
      const json = JSON.stringify(event);
      const cut = 1 + rng.int(json.length - 2);
      return { kind, detail: `cut at ${cut} of ${json.length} bytes`, value: json.slice(0, cut), key };
    }
    case 'wrong_type': {
      const data = event.event_data;
      if ('amount' in data) return { kind, detail: 'event_data.amount is a string', value: JSON.stringify({ ...event, event_data: { ...data, amount: 'abc' } }), key };
      if ('score' in data) return { kind, detail: 'event_data.score is a string', value: JSON.stringify({ ...event, event_data: { ...data, score: 'abc' } }), key };
      return { kind, detail: 'timestamp is not a time', value: JSON.stringify({ ...event, timestamp: 'yesterday' }), key };
    }
    case 'unknown_event_type': {
      const type = rng.pick(['game_paused', 'power_up_used', 'chat_message']);
      return { kind, detail: `event_type ${type}`, value: JSON.stringify({ ...event, event_type: type }), key };
    }
    case 'missing_user_id': {
      const { user_id: _dropped, ...rest } = event;
      return { kind, detail: 'no user_id', value: JSON.stringify(rest), key: null };
    }
  }
}

/** A valid-looking event whose value is larger than `bytes` (a debug blob in event_data). */
export function oversize(event: GameEvent, bytes: number): Malformed {
  const blob = 'x'.repeat(bytes);
  return { kind: 'oversized', detail: `value over ${bytes} bytes`, value: JSON.stringify({ ...event, event_data: { ...event.event_data, debug_blob: blob } }), key: event.user_id };
}

export const topicOf = (event: GameEvent) => EVENT_TOPIC[event.event_type];
