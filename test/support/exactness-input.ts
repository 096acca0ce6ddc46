/**
 * Seeded game traffic for the exactness tests, and the ground truth the default topology
 * (topologies/game-events.yaml) must produce from it, whatever crashes or rebalances happen.
 *
 * Every event is stamped within 1.5 s of its position's stream time (far inside the game-minute
 * window's 5 s out-of-orderness), except a few clearly late ones (dated before the stream began, > 12 min behind). Duplicates re-send
 * an earlier record byte for byte, some a few records later, some thousands later. The stream ends
 * with a tick per partition two minutes ahead, so every real minute closes on event time. Planted
 * fraud cases (exactness-fraud.ts) are sent as the stream reaches their times, on users of their own.
 */

import type { FraudAlert } from '../../src/operators/fraud-alert.ts';
import { checkPlanted, expectedAlerts, planFraud } from './exactness-fraud.ts';
import { rng } from './random.ts';
export { rng } from './random.ts';

export const TOPICS = ['game-events', 'user-activity', 'transaction-events'] as const;
export type Topic = (typeof TOPICS)[number];

export interface InputRecord {
  readonly topic: Topic;
  readonly key: string;
  readonly value: string;
  /** Only ticks name their partition; the rest go by key. */
  readonly partition?: number;
}

export type MetricRow = { events: number; active_users: number; revenue: number };
export type Transaction = { user_id: string; amount: number; currency: string; item_id: string; timestamp: string; event_id: string };
/** A session as its login opened it and, when it has one, its logout closed it. */
export type Session = {
  event_id: string; platform: string; game_version: string; device_id: string; game_id: string;
  session_start_time: string; session_status: 'active' | 'closed'; session_end_time?: string; duration_s?: number;
  /** 30 days after the logout, or the login while the session is open (epoch seconds). */
  expires_at: number;
};

const SESSION_TTL_MS = 30 * 86_400_000;
const expiresAt = (timestamp: string) => Math.floor((Date.parse(timestamp) + SESSION_TTL_MS) / 1000);

export interface Truth {
  /** `game|minute` (window start, ISO-8601) -> the window's result. */
  readonly metrics: Map<string, MetricRow>;
  readonly transactions: Map<string, Transaction>;
  /** `game|user` -> best score. */
  readonly leaderboard: Map<string, number>;
  /** `user|session_id` -> the session. */
  readonly sessions: Map<string, Session>;
  /** game -> users in it now: unique valid logins minus logouts. */
  readonly concurrency: Map<string, number>;
  /** One Parquet row per unique valid event. */
  readonly eventIds: Set<string>;
  readonly deadLetters: number;
  /** Events the window must route to `late` (clearly late, never duplicated). */
  readonly lateIds: Set<string>;
  /** `alert_id` -> the alert the fraud steps raise (exactness-fraud.ts): on the fraud-alerts topic and table. */
  readonly alerts: Map<string, FraudAlert>;
  readonly stats: Record<'records' | 'unique' | 'duplicates' | 'longDuplicates' | 'malformed' | 'late' | 'ticks' | 'fraudCases' | 'alerts', number>;
}

export interface ExactnessInput {
  readonly records: InputRecord[];
  readonly truth: Truth;
}

export interface InputOptions {
  readonly seed: number;
  /** Records before the ticks (duplicates and malformed ones included). */
  readonly records: number;
  /** Event time the stream spans. */
  readonly spanMs: number;
  readonly epochMs: number;
  readonly partitions: number;
}

const MINUTE = 60_000;
const TYPES = [
  ['game_start', 15], ['game_end', 10], ['level_complete', 30], ['achievement_unlocked', 5], ['user_login', 12],
  ['user_logout', 8], ['device_change', 3], ['purchase', 15], ['refund_request', 2],
] as const;
const TOPIC_OF: Record<string, Topic> = {
  user_login: 'user-activity', user_logout: 'user-activity', device_change: 'user-activity',
  purchase: 'transaction-events', refund_request: 'transaction-events',
};
const PLATFORMS = ['ios', 'android', 'pc', 'web'];

export type Event = { event_id: string; user_id: string; event_type: string; timestamp: string; event_data: Record<string, unknown>; game_version: string; platform: string };

/** Generates the input and its ground truth; the same options give the same bytes. */
export function generateInput(options: InputOptions): ExactnessInput {
  const { seed, records: count, spanMs, epochMs, partitions } = options;
  const random = rng(seed);
  const int = (n: number) => Math.floor(random() * n);
  const pick = <T>(list: readonly T[]): T => list[int(list.length)] as T;
  const totalWeight = TYPES.reduce((n, [, w]) => n + w, 0);
  const typeAt = (): string => {
    let r = random() * totalWeight;
    for (const [type, w] of TYPES) if ((r -= w) < 0) return type;
    return 'game_start';
  };
  const truth = new TruthBuilder();
  const records: InputRecord[] = [];
  const valid: number[] = []; // indexes in `records` of unique, valid, on-time events
  // Each user's open session: a login opens one (leaving an earlier one open for good, a client
  // that never logged out), the logout closes it; a user with none emits a device change instead.
  const open = new Map<string, { session_id: string; game_id: string; atMs: number }>();
  let serial = 0;
  const fraud = planFraud(seed, count, spanMs, epochMs);
  let planted = 0;
  /** Sends the planted records due by `streamMs` (their own rng: the rest of the input is unchanged). */
  const plant = (streamMs: number) => {
    for (let r = fraud.records[planted]; r !== undefined && r.atMs <= streamMs; r = fraud.records[++planted]) {
      records.push({ topic: r.topic, key: r.key, value: r.value });
      if (r.duplicate) truth.stats.duplicates++;
      else truth.add(JSON.parse(r.value) as Event, false);
    }
  };

  for (let i = 0; i < count; i++) {
    const streamMs = epochMs + Math.floor((i * spanMs) / count);
    plant(streamMs);
    const roll = random();
    if (roll < 0.03 && valid.length > 100) {
      const long = random() < 0.5 && valid.length > 3000;
      const from = long ? valid.length - 2000 - int(Math.min(13_000, valid.length - 2000)) : valid.length - 1 - int(50);
      records.push(records[valid[from] as number] as InputRecord);
      truth.stats.duplicates++;
      if (long) truth.stats.longDuplicates++;
      continue;
    }
    const user = `user-${String(1 + int(400)).padStart(4, '0')}`;
    let type = typeAt();
    if (type === 'user_logout' && !open.has(user)) type = 'device_change';
    const game = `game-${1 + int(8)}`;
    const late = roll > 0.99 && streamMs > epochMs + 12 * MINUTE && /^(game_start|level_complete)$/.test(type);
    // Late events fall before the stream began: late whatever partition a stalled watermark waits for.
    const timeMs = late ? epochMs - MINUTE - int(MINUTE) : streamMs - 1500 + int(3001);
    const data = dataOf(type, game, user, ++serial, int);
    const session = open.get(user);
    if (type === 'user_login') Object.assign(data, { session_id: `sess-${seed}-${serial}`, game_id: game });
    if (type === 'user_logout' && session !== undefined) {
      // Within the stream's jitter a logout may be stamped before its login: a duration of 0 then.
      Object.assign(data, { session_id: session.session_id, game_id: session.game_id, session_duration_s: Math.max(0, Math.floor((timeMs - session.atMs) / 1000)) });
    }
    const event: Event = {
      event_id: `ev-${seed}-${serial}`,
      user_id: user,
      event_type: type,
      timestamp: new Date(timeMs).toISOString(),
      event_data: data,
      game_version: pick(['1.4.2', '1.5.0']),
      platform: pick(PLATFORMS),
    };
    const topic = TOPIC_OF[type] ?? 'game-events';
    if (roll > 0.03 && roll < 0.033) {
      records.push({ topic, key: user, value: malformed(event, int(4)) });
      truth.stats.malformed++;
      continue;
    }
    // Only a valid login or logout opens or closes a session, as the sinks see it.
    if (type === 'user_login') open.set(user, { session_id: data.session_id as string, game_id: game, atMs: timeMs });
    if (type === 'user_logout') open.delete(user);
    records.push({ topic, key: user, value: JSON.stringify(event) });
    truth.add(event, late);
    if (!late) valid.push(records.length - 1);
  }
  plant(Infinity);
  // Ticks: one per partition, 3 minutes past the last minute. They carry no game, so they feed no
  // window; they move every partition's event time past the last minute (watermark markers carry
  // that across the repartition topic), which closes every real window without any idle timeout.
  const tickMs = Math.ceil((epochMs + spanMs) / MINUTE) * MINUTE + 3 * MINUTE - 1;
  for (const topic of TOPICS) {
    for (let p = 0; p < partitions; p++) {
      const user = `tick-${topic}-${p}`;
      const event: Event = { event_id: `tick-${seed}-${topic}-${p}`, user_id: user, event_type: 'game_start', timestamp: new Date(tickMs).toISOString(), event_data: {}, game_version: '1.5.0', platform: 'pc' };
      records.push({ topic, key: user, value: JSON.stringify(event), partition: p });
      truth.add(event, false);
      truth.stats.ticks++;
    }
  }
  truth.stats.records = records.length;
  const alerts = expectedAlerts(records, truth.eventIds, partitions);
  checkPlanted(fraud.cases, alerts);
  Object.assign(truth.stats, { fraudCases: fraud.cases.length, alerts: alerts.size });
  return { records, truth: truth.build(alerts) };
}

/**
 * The game_metrics truth recomputed with `late` as the events the window leaves out (for instance
 * the ids it routed to `late`): tells a lateness judgement apart from a lost or doubled event.
 */
export function metricsWithLate(records: readonly InputRecord[], truth: Truth, late: ReadonlySet<string>): Map<string, MetricRow> {
  const builder = new TruthBuilder();
  const seen = new Set<string>();
  for (const r of records) {
    let event: Event;
    try {
      event = JSON.parse(r.value) as Event;
    } catch {
      continue;
    }
    if (!truth.eventIds.has(event.event_id) || seen.has(event.event_id)) continue;
    seen.add(event.event_id);
    builder.add(event, late.has(event.event_id));
  }
  return builder.build().metrics;
}

function dataOf(type: string, game: string, user: string, serial: number, int: (n: number) => number): Record<string, unknown> {
  switch (type) {
    case 'level_complete':
      return { game_id: game, level: 1 + int(30), score: int(1_000_000) };
    case 'purchase':
      // Quarters: sums of them are exact in binary floating point, whatever the order.
      return { game_id: game, amount: (1 + int(800)) / 4, currency: 'USD', transaction_id: `tx-${serial}`, item_id: `item-${int(50)}` };
    case 'refund_request':
      return { transaction_id: `tx-${Math.max(1, serial - 1 - int(500))}` };
    case 'user_login':
    case 'device_change':
      return { device_id: `${user}-d${int(2)}` };
    case 'user_logout':
      return {}; // the session's fields, added by the caller
    default:
      return { game_id: game };
  }
}

/** One of four ways a record reaches the dead letters: bad JSON, unknown type, bad score, no user. */
function malformed(event: Event, kind: number): string {
  if (kind === 0) return JSON.stringify(event).slice(0, 40);
  if (kind === 1) return JSON.stringify({ ...event, event_type: 'teleport' });
  if (kind === 2) return JSON.stringify({ ...event, event_type: 'level_complete', event_data: { game_id: 'game-1', score: 'lots' } });
  const { user_id: _dropped, ...rest } = event;
  return JSON.stringify(rest);
}

class TruthBuilder {
  readonly stats = { records: 0, unique: 0, duplicates: 0, longDuplicates: 0, malformed: 0, late: 0, ticks: 0, fraudCases: 0, alerts: 0 };
  readonly #metrics = new Map<string, { events: number; users: Set<string>; revenue: number }>();
  readonly #transactions = new Map<string, Transaction>();
  readonly #leaderboard = new Map<string, number>();
  readonly #sessions = new Map<string, Session>();
  readonly #concurrency = new Map<string, number>();
  readonly #eventIds = new Set<string>();
  readonly #lateIds = new Set<string>();

  /** A unique valid event; `late` ones are in every table but the window's. */
  add(e: Event, late: boolean): void {
    this.stats.unique++;
    if (late) {
      this.stats.late++;
      this.#lateIds.add(e.event_id);
    }
    this.#eventIds.add(e.event_id);
    const d = e.event_data as {
      game_id?: string; amount: number; currency: string; transaction_id: string; item_id: string; score: number; device_id: string;
      session_id: string; session_duration_s: number;
    };
    if (typeof d.game_id === 'string' && !late) {
      const minute = Math.floor(Date.parse(e.timestamp) / MINUTE) * MINUTE;
      const key = `${d.game_id}|${new Date(minute).toISOString()}`;
      const cell = this.#metrics.get(key) ?? { events: 0, users: new Set<string>(), revenue: 0 };
      cell.events++;
      cell.users.add(e.user_id);
      if (e.event_type === 'purchase') cell.revenue += d.amount;
      this.#metrics.set(key, cell);
    }
    if (e.event_type === 'purchase') {
      this.#transactions.set(d.transaction_id, { user_id: e.user_id, amount: d.amount, currency: d.currency, item_id: d.item_id, timestamp: e.timestamp, event_id: e.event_id });
    }
    if (e.event_type === 'level_complete') {
      const key = `${d.game_id}|${e.user_id}`;
      this.#leaderboard.set(key, Math.max(this.#leaderboard.get(key) ?? -Infinity, d.score));
    }
    if (e.event_type === 'user_login') {
      this.#sessions.set(`${e.user_id}|${d.session_id}`, {
        event_id: e.event_id, platform: e.platform, game_version: e.game_version, device_id: d.device_id, game_id: d.game_id as string,
        session_start_time: e.timestamp, session_status: 'active', expires_at: expiresAt(e.timestamp),
      });
    }
    if (e.event_type === 'user_logout') {
      // The generator closes only sessions a valid login opened, so the session is there.
      const session = this.#sessions.get(`${e.user_id}|${d.session_id}`);
      if (session !== undefined) Object.assign(session, { session_status: 'closed', session_end_time: e.timestamp, duration_s: d.session_duration_s, expires_at: expiresAt(e.timestamp) });
    }
    if ((e.event_type === 'user_login' || e.event_type === 'user_logout') && typeof d.game_id === 'string') {
      this.#concurrency.set(d.game_id, (this.#concurrency.get(d.game_id) ?? 0) + (e.event_type === 'user_login' ? 1 : -1));
    }
  }

  get eventIds(): ReadonlySet<string> {
    return this.#eventIds;
  }

  build(alerts = new Map<string, FraudAlert>()): Truth {
    const metrics = new Map([...this.#metrics].map(([k, c]) => [k, { events: c.events, active_users: c.users.size, revenue: c.revenue }]));
    return { metrics, transactions: this.#transactions, leaderboard: this.#leaderboard, sessions: this.#sessions, concurrency: this.#concurrency, eventIds: this.#eventIds, lateIds: this.#lateIds, alerts, deadLetters: this.stats.malformed, stats: this.stats };
  }
}
