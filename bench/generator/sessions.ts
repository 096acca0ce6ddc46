/**
 * The normal traffic: concurrent player sessions (login, games with levels, achievements and
 * purchases, logout), each user in at most one session at a time, users drawn from a Zipf law.
 */
import { centsToAmount, makeEvent, purchaseAmountCents, type EventType, type GameEvent } from './events.ts';
import type { Population } from './population.ts';
import type { Rng } from './random.ts';

const PAYMENT_METHODS = ['card', 'card', 'wallet', 'paypal', 'gift_card'];
const GAME_RESULTS = ['win', 'loss', 'quit'];

/** Per-user gates the traffic consults, so normal traffic never looks like fraud. */
export interface TrafficGates {
  /** May this user make a normal purchase at this time? (The caller records it if so.) */
  mayPurchase(userRank: number, timeMs: number): boolean;
  /** A purchase of this user old enough to be refunded normally, or undefined. */
  refundable(userRank: number, timeMs: number): { transactionId: string; gameId: string; cents: number } | undefined;
  recordPurchase(userRank: number, timeMs: number, purchase: { transactionId: string; gameId: string; cents: number }): void;
}

interface Session {
  userRank: number;
  sessionId: string;
  state: 'login' | 'lobby' | 'game';
  gameRank: number;
  /** The game chosen at login: the session's first game, carried by its login and logout. */
  firstGameRank: number;
  level: number;
  score: number;
  startedMs: number;
  gameStartedMs: number;
  gamesPlayed: number;
  device: number;
}

/** The normal traffic: `concurrentSessions` live sessions, one of which speaks at each step. */
export class Traffic {
  readonly #population: Population;
  readonly #rng: Rng;
  readonly #gates: TrafficGates;
  readonly #maxPurchaseCents: number;
  readonly #sessions: Session[] = [];
  readonly #active: Uint8Array;
  readonly #seen: Uint8Array;

  constructor(population: Population, rng: Rng, gates: TrafficGates, options: { concurrentSessions: number; maxPurchaseCents: number }) {
    this.#population = population;
    this.#rng = rng;
    this.#gates = gates;
    this.#maxPurchaseCents = options.maxPurchaseCents;
    this.#active = new Uint8Array(population.users);
    this.#seen = new Uint8Array(population.users);
    for (let i = 0; i < options.concurrentSessions; i++) this.#sessions.push(this.#newSession(0));
  }

  /** The next normal event at `timeMs`. */
  next(timeMs: number): GameEvent {
    const slot = this.#rng.int(this.#sessions.length);
    const session = this.#sessions[slot] as Session;
    const event = this.#step(session, timeMs);
    if (event.event_type === 'user_logout') {
      this.#active[session.userRank] = 0;
      this.#sessions[slot] = this.#newSession(timeMs);
    }
    return event;
  }

  #newSession(timeMs: number): Session {
    const rng = this.#rng;
    let rank = this.#population.userZipf.sample(rng);
    for (let tries = 0; this.#active[rank] === 1; tries++) {
      rank = tries < 16 ? this.#population.userZipf.sample(rng) : (rank + 1) % this.#population.users;
    }
    this.#active[rank] = 1;
    const devices = this.#population.deviceCount(rank);
    return {
      userRank: rank,
      sessionId: `sess-${rng.hex(8)}`,
      state: 'login',
      gameRank: 0,
      firstGameRank: -1,
      level: 1,
      score: 0,
      startedMs: timeMs,
      gameStartedMs: timeMs,
      gamesPlayed: 0,
      device: rng.int(devices),
    };
  }

  #emit(s: Session, type: EventType, data: Record<string, unknown>, timeMs: number, inGame: boolean): GameEvent {
    const p = this.#population;
    return makeEvent(this.#rng, {
      userId: p.userId(s.userRank),
      type,
      data,
      timeMs,
      gameVersion: inGame ? p.gameVersion(s.gameRank) : p.gameVersion(0),
      platform: p.platform(s.userRank),
    });
  }

  #step(s: Session, t: number): GameEvent {
    const rng = this.#rng;
    const p = this.#population;
    const deviceId = p.deviceId(s.userRank, s.device);
    if (s.state === 'login') {
      s.state = 'lobby';
      s.startedMs = t;
      if (this.#seen[s.userRank] === 0 && rng.chance(0.03)) {
        // A first visit in this stream sometimes opens with the account's creation; the login follows.
        this.#seen[s.userRank] = 1;
        s.state = 'login';
        return this.#emit(s, 'account_created', { device_id: deviceId, country: p.country(s.userRank), referrer: rng.pick(['organic', 'ad', 'friend']) }, t, false);
      }
      this.#seen[s.userRank] = 1;
      s.firstGameRank = p.gameZipf.sample(rng);
      return this.#emit(s, 'user_login', { device_id: deviceId, country: p.country(s.userRank), session_id: s.sessionId, game_id: p.gameId(s.firstGameRank) }, t, false);
    }
    if (s.state === 'lobby') {
      const r = rng.next();
      if (r < 0.04 && p.deviceCount(s.userRank) > 1) {
        const from = deviceId;
        s.device = 1 - s.device;
        return this.#emit(s, 'device_change', { session_id: s.sessionId, from_device_id: from, device_id: p.deviceId(s.userRank, s.device) }, t, false);
      }
      if (s.gamesPlayed > 0 && r < 0.5) {
        return this.#emit(s, 'user_logout', {
          session_id: s.sessionId,
          game_id: p.gameId(s.firstGameRank),
          device_id: deviceId,
          session_duration_s: Math.round((t - s.startedMs) / 1000),
        }, t, false);
      }
      s.state = 'game';
      s.gameRank = s.gamesPlayed === 0 ? s.firstGameRank : p.gameZipf.sample(rng);
      s.gameStartedMs = t;
      s.score = 0;
      s.level = 1 + rng.int(20);
      s.gamesPlayed++;
      return this.#emit(s, 'game_start', { game_id: p.gameId(s.gameRank), session_id: s.sessionId, level: s.level, device_id: deviceId }, t, true);
    }
    return this.#inGame(s, t);
  }

  #inGame(s: Session, t: number): GameEvent {
    const rng = this.#rng;
    const p = this.#population;
    const gameId = p.gameId(s.gameRank);
    const r = rng.next();
    if (r < 0.18) {
      s.state = 'lobby';
      return this.#emit(s, 'game_end', {
        game_id: gameId,
        session_id: s.sessionId,
        final_score: s.score,
        level: s.level,
        duration_s: Math.round((t - s.gameStartedMs) / 1000),
        result: rng.pick(GAME_RESULTS),
      }, t, true);
    }
    if (r < 0.28) {
      return this.#emit(s, 'achievement_unlocked', { game_id: gameId, session_id: s.sessionId, achievement_id: `ach-${String(1 + rng.int(60)).padStart(3, '0')}`, level: s.level }, t, true);
    }
    if (r < 0.35 && this.#gates.mayPurchase(s.userRank, t)) {
      const cents = purchaseAmountCents(rng, this.#maxPurchaseCents);
      const transactionId = `txn-${rng.hex(12)}`;
      this.#gates.recordPurchase(s.userRank, t, { transactionId, gameId, cents });
      return this.#emit(s, 'purchase', {
        transaction_id: transactionId,
        game_id: gameId,
        item_id: `item-${String(1 + rng.int(400)).padStart(4, '0')}`,
        amount: centsToAmount(cents),
        currency: 'USD',
        payment_method: rng.pick(PAYMENT_METHODS),
        country: p.country(s.userRank),
      }, t, true);
    }
    if (r < 0.354) {
      const refund = this.#gates.refundable(s.userRank, t);
      if (refund !== undefined) {
        return this.#emit(s, 'refund_request', {
          transaction_id: refund.transactionId,
          game_id: refund.gameId,
          amount: centsToAmount(refund.cents),
          currency: 'USD',
          reason: rng.pick(['accidental', 'not_received', 'changed_mind']),
        }, t, true);
      }
    }
    s.level++;
    const score = Math.round(rng.logNormal(6.5, 0.8));
    s.score += score;
    return this.#emit(s, 'level_complete', { game_id: gameId, session_id: s.sessionId, level: s.level, score, duration_ms: 5000 + rng.int(300_000) }, t, true);
  }
}
