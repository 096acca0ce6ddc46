/**
 * The shape of the platform's events: topics, event types, the JSON event, and the small helpers that
 * build one (seeded event ids, ISO-8601 times, purchase amounts).
 */
import type { Rng } from './random.ts';

export const TOPICS = ['game-events', 'user-activity', 'transaction-events'] as const;
/** A topic before any `topicPrefix` is applied. */
export type LogicalTopic = (typeof TOPICS)[number];

export const EVENT_TOPIC = {
  game_start: 'game-events',
  game_end: 'game-events',
  achievement_unlocked: 'game-events',
  level_complete: 'game-events',
  user_login: 'user-activity',
  user_logout: 'user-activity',
  account_created: 'user-activity',
  device_change: 'user-activity',
  purchase: 'transaction-events',
  refund_request: 'transaction-events',
} as const satisfies Record<string, LogicalTopic>;

export type EventType = keyof typeof EVENT_TOPIC;
export const EVENT_TYPES = Object.keys(EVENT_TOPIC) as EventType[];
export const PLATFORMS = ['ios', 'android', 'pc', 'console', 'web'] as const;
export type Platform = (typeof PLATFORMS)[number];

/** One event as the platform sends it. */
export interface GameEvent {
  event_id: string;
  user_id: string;
  event_type: EventType;
  event_data: Record<string, unknown>;
  /** ISO-8601 UTC with milliseconds. */
  timestamp: string;
  game_version: string;
  platform: Platform;
}

let isoSecond = NaN;
let isoPrefix = '';

/** `new Date(ms).toISOString()`, with the part up to the second cached (times mostly advance). */
export function isoTime(ms: number): string {
  const second = Math.floor(ms / 1000);
  if (second !== isoSecond) {
    isoSecond = second;
    isoPrefix = new Date(second * 1000).toISOString().slice(0, 20);
  }
  const frac = ms - second * 1000;
  return `${isoPrefix}${frac < 10 ? '00' : frac < 100 ? '0' : ''}${frac}Z`;
}

/** Builds one event; `event_id` comes from the PRNG. */
export function makeEvent(
  rng: Rng,
  fields: { userId: string; type: EventType; data: Record<string, unknown>; timeMs: number; gameVersion: string; platform: Platform },
): GameEvent {
  return {
    event_id: rng.uuid(),
    user_id: fields.userId,
    event_type: fields.type,
    event_data: fields.data,
    timestamp: isoTime(fields.timeMs),
    game_version: fields.gameVersion,
    platform: fields.platform,
  };
}

/** A purchase amount in cents: log-normal (median about $5, long tail) on `.99` price points. */
export function purchaseAmountCents(rng: Rng, maxCents: number): number {
  for (;;) {
    const dollars = Math.floor(rng.logNormal(1.6, 1.1));
    const cents = dollars * 100 + 99;
    if (cents <= maxCents) return cents;
  }
}

export const centsToAmount = (cents: number): number => cents / 100;
