/**
 * The poison fuzz's input for the default topology: normal game traffic (every record valid, with a
 * known ground truth) with hostile records mixed in, each with the step and error code that must
 * dead-letter it, and records that each bring a new field name (valid, but a schema-growth attack).
 */

import { rng } from './random.ts';

export type SourceTopic = 'game-events' | 'user-activity' | 'transaction-events';

export interface PoisonRecord {
  readonly topic: SourceTopic;
  readonly key: string;
  readonly value: Buffer | null;
  /** Default: by key. */
  readonly partition?: number;
}

/** The game of the tick events, whose windows stay open. */
export const TICK_GAME = 'tick';

/** A valid event, as its value holds it. */
export interface ValidEvent {
  readonly event_id: string;
  readonly user_id: string;
  readonly event_type: string;
  readonly timestamp: string;
  readonly event_data: Record<string, unknown>;
}

/** Where and why a hostile record must be dead-lettered. */
export interface Expected {
  readonly kind: string;
  readonly step: 'parse' | 'validate';
  readonly code: string;
}

export interface PoisonInput {
  /** Normal records to produce first: the running system the hostile traffic then meets. */
  readonly warmup: PoisonRecord[];
  /** After the warm-up, in the order to produce them (a partition's valid events in event-time order). */
  readonly records: PoisonRecord[];
  /**
   * Last, one valid event a few seconds old on each partition of each source topic: it moves every
   * partition's watermark close to the wall clock, so the windows of the events before it close
   * without waiting for the watermark to creep forward in processing time.
   */
  readonly ticks: PoisonRecord[];
  /** Valid events, the new-field ones and the ticks included. */
  readonly valid: ValidEvent[];
  /** By Kafka key (`h-…`): every hostile record. */
  readonly hostile: Map<string, Expected>;
  /** Event ids of the valid records that each bring a new field name. */
  readonly newFields: Set<string>;
}

const MINUTE = 60_000;


/** How many hostile records of each kind (10,000 with the new-field ones). */
export const HOSTILE_COUNTS = {
  deep: 200,
  oversized: 10,
  hugeString: 40,
  invalidUtf8: 1500,
  prototype: 1000,
  timeOutOfBounds: 2250,
  numberAsString: 1500,
  nanInfinity: 1500,
  malformed: 1000,
  newField: 1000,
} as const;

/**
 * Builds the input: `validCount` normal events over the 15 minutes before `nowMs`, spread over 40
 * users and 10 games so that no fraud pattern fires; the first `warmupCount` of them alone, the
 * others with the hostile records between them.
 */
export function poisonInput(options: { seed: number; validCount: number; warmupCount: number; nowMs: number; partitions: number }): PoisonInput {
  const random = rng(options.seed);
  const int = (n: number) => Math.floor(random() * n);
  const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)] as T;
  const startMs = options.nowMs - 15 * MINUTE;
  const spanMs = 12 * MINUTE;
  const total = options.validCount + HOSTILE_COUNTS.newField;
  const valid: ValidEvent[] = [];
  const newFields = new Set<string>();
  const normal: PoisonRecord[] = [];
  const perUserPurchases = new Map<string, number>();
  const openSessions = new Map<string, string>();

  for (let i = 0; i < total; i++) {
    const timestamp = new Date(startMs + Math.floor((i * spanMs) / total)).toISOString();
    const user = `user-${int(40)}`;
    const game = `game-${int(10)}`;
    const event_id = `ev-${i}`;
    let topic: SourceTopic;
    let event_type: string;
    let event_data: Record<string, unknown>;
    if (i >= options.warmupCount && i % Math.floor((total - options.warmupCount) / HOSTILE_COUNTS.newField) === 0 && newFields.size < HOSTILE_COUNTS.newField) {
      // A valid event bringing a field name no other record has.
      topic = 'game-events';
      event_type = 'achievement_unlocked';
      event_data = { [`custom_${i}`]: i };
      newFields.add(event_id);
    } else {
      const roll = random();
      if (roll < 0.45) {
        topic = 'game-events';
        event_type = pick(['game_start', 'game_end', 'level_complete']);
        event_data = event_type === 'level_complete' ? { game_id: game, score: int(10_000) } : { game_id: game };
      } else if (roll < 0.75) {
        topic = 'user-activity';
        event_type = pick(['user_login', 'user_logout', 'account_created']);
        // A logout closes the user's open session; without one, the user creates an account instead.
        const session = openSessions.get(user);
        if (event_type === 'user_logout' && session === undefined) event_type = 'account_created';
        // One device per user: the many-devices pattern stays quiet.
        if (event_type === 'user_login') {
          event_data = { device_id: `device-${user}`, session_id: `sess-${i}` };
          openSessions.set(user, `sess-${i}`);
        } else if (event_type === 'user_logout') {
          event_data = { session_id: session };
          openSessions.delete(user);
        } else event_data = {};
      } else {
        topic = 'transaction-events';
        // At most one purchase per user every ~4 minutes of event time: no velocity or amount alert.
        const count = perUserPurchases.get(user) ?? 0;
        if (count >= 3) {
          event_type = 'achievement_unlocked';
          event_data = {};
          topic = 'game-events';
        } else {
          perUserPurchases.set(user, count + 1);
          event_type = 'purchase';
          event_data = { amount: 9.99, currency: 'USD', transaction_id: `tx-${i}`, item_id: `item-${int(20)}`, game_id: game };
        }
      }
    }
    const event: ValidEvent = { event_id, user_id: user, event_type, timestamp, event_data };
    valid.push(event);
    normal.push({ topic, key: user, value: Buffer.from(JSON.stringify({ ...event, game_version: '2.1.0', platform: 'android' })) });
  }

  const hostile = new Map<string, Expected>();
  const bad: PoisonRecord[] = [];
  let n = 0;
  const add = (kind: string, step: Expected['step'], code: string, value: Buffer | string | null, topic: SourceTopic = pick(['game-events', 'user-activity', 'transaction-events'])) => {
    const key = `h-${kind}-${n++}`;
    hostile.set(key, { kind, step, code });
    bad.push({ topic, key, value: value === null ? null : typeof value === 'string' ? Buffer.from(value) : value });
  };
  const now = options.nowMs;
  const goodTime = () => new Date(startMs + int(spanMs)).toISOString();
  const base = (i: number, extra: Record<string, unknown> = {}) => ({
    event_id: `bad-${i}`,
    user_id: `user-${int(40)}`,
    event_type: 'game_start',
    timestamp: goodTime(),
    event_data: { game_id: 'game-1' },
    ...extra,
  });
  const json = (x: unknown) => JSON.stringify(x);

  for (let i = 0; i < HOSTILE_COUNTS.deep; i++) {
    const levels = 5000 + int(5001);
    const text = i % 2 === 0 ? `{"event_id":"deep-${i}","x":${'['.repeat(levels)}${']'.repeat(levels)}}` : `${'{"a":'.repeat(levels)}1${'}'.repeat(levels)}`;
    add('deep', 'parse', 'TRIB_DECODE', text);
  }
  for (let i = 0; i < HOSTILE_COUNTS.oversized; i++) add('oversized', 'parse', 'TRIB_DECODE', json(base(i, { pad: 'x'.repeat(1_100_000 + int(100_000)) })));
  for (let i = 0; i < HOSTILE_COUNTS.hugeString; i++) add('huge-string', 'validate', 'TRIB_VALIDATION', json(base(i, { event_type: 'y'.repeat(100_000 + int(200_000)) })));
  const utf8Faults = [[0xff], [0xc0, 0xaf], [0xed, 0xa0, 0x80], [0xe2, 0x82], [0xf8, 0x88, 0x80, 0x80, 0x80], [0x80]];
  for (let i = 0; i < HOSTILE_COUNTS.invalidUtf8; i++) {
    const text = json(base(i));
    const at = text.indexOf(`bad-${i}`) + 4;
    add('invalid-utf8', 'parse', 'TRIB_DECODE', Buffer.concat([Buffer.from(text.slice(0, at)), Buffer.from(pick(utf8Faults)), Buffer.from(text.slice(at))]));
  }
  const poisons = [
    (i: number) => `{"__proto__":{"isAdmin":true},${json(base(i)).slice(1)}`,
    (i: number) => json(base(i)).replace('"event_data":{', '"event_data":{"__proto__":{"polluted":1},'),
    (i: number) => `{"\\u005f\\u005fproto\\u005f\\u005f":{"x":1},${json(base(i)).slice(1)}`,
    (i: number) => `{"constructor":{"prototype":{"isAdmin":true}},${json(base(i)).slice(1)}`,
  ];
  for (let i = 0; i < HOSTILE_COUNTS.prototype; i++) add('prototype', 'parse', 'TRIB_DECODE', (poisons[i % poisons.length] as (i: number) => string)(i));
  const times: [unknown, string][] = [
    ['9999-12-31T23:59:59Z', 'TRIB_EVENT_TIME_FUTURE'],
    [1e20, 'TRIB_EVENT_TIME_FUTURE'],
    [253_402_300_800_000, 'TRIB_EVENT_TIME_FUTURE'], // year 10000
    [new Date(now + 2 * 3_600_000).toISOString(), 'TRIB_EVENT_TIME_FUTURE'],
    [-1, 'TRIB_EVENT_TIME_TOO_OLD'],
    ['0000-01-01T00:00:00Z', 'TRIB_EVENT_TIME_TOO_OLD'],
    [0, 'TRIB_EVENT_TIME_TOO_OLD'],
    ['1999-12-31T23:59:59.999Z', 'TRIB_EVENT_TIME_TOO_OLD'],
  ];
  for (let i = 0; i < HOSTILE_COUNTS.timeOutOfBounds; i++) {
    const [timestamp, code] = times[i % times.length] as [unknown, string];
    add('time-out-of-bounds', 'parse', code, json(base(i, { timestamp })));
  }
  const asStrings: [() => Record<string, unknown>, Expected['step'], string][] = [
    [() => ({ event_type: 'purchase', event_data: { amount: '12.50', currency: 'USD', transaction_id: 'tx', item_id: 'i' } }), 'validate', 'TRIB_VALIDATION'],
    [() => ({ event_type: 'level_complete', event_data: { game_id: 'game-1', score: '100' } }), 'validate', 'TRIB_VALIDATION'],
    [() => ({ timestamp: String(now - MINUTE) }), 'parse', 'TRIB_VALIDATION'],
  ];
  for (let i = 0; i < HOSTILE_COUNTS.numberAsString; i++) {
    const [extra, step, code] = asStrings[i % asStrings.length] as (typeof asStrings)[number];
    add('number-as-string', step, code, json(base(i, extra())), 'transaction-events');
  }
  const purchase = (i: number, amount: string) =>
    json(base(i, { event_type: 'purchase', event_data: { amount: 0, currency: 'USD', transaction_id: `t${i}`, item_id: 'i' } })).replace('"amount":0', `"amount":${amount}`);
  const spelled: [(i: number) => string, Expected['step'], string][] = [
    [(i) => purchase(i, 'NaN'), 'parse', 'TRIB_DECODE'],
    [(i) => purchase(i, 'Infinity'), 'parse', 'TRIB_DECODE'],
    [(i) => purchase(i, '-Infinity'), 'parse', 'TRIB_DECODE'],
    [(i) => purchase(i, '"NaN"'), 'validate', 'TRIB_VALIDATION'],
    [(i) => purchase(i, '"Infinity"'), 'validate', 'TRIB_VALIDATION'],
    [(i) => purchase(i, '1e400'), 'validate', 'TRIB_VALIDATION'], // parses to Infinity
  ];
  for (let i = 0; i < HOSTILE_COUNTS.nanInfinity; i++) {
    const [make, step, code] = spelled[i % spelled.length] as (typeof spelled)[number];
    add('nan-infinity', step, code, make(i), 'transaction-events');
  }
  const malformed: (string | null)[] = ['{"event_id":"cut', '[1,2,3]', '42', '"just a string"', 'null', '', null, '{"event_id":"a",}'];
  for (let i = 0; i < HOSTILE_COUNTS.malformed; i++) add('malformed', 'parse', 'TRIB_DECODE', malformed[i % malformed.length] as string | null);

  // Hostile records go between the normal ones after the warm-up, at random places.
  const warmup = normal.slice(0, options.warmupCount);
  const records: PoisonRecord[] = [];
  let b = 0;
  const ratio = bad.length / (normal.length - warmup.length);
  for (const record of normal.slice(warmup.length)) {
    records.push(record);
    while (b < bad.length && random() < ratio) records.push(bad[b++] as PoisonRecord);
  }
  while (b < bad.length) records.push(bad[b++] as PoisonRecord);
  const ticks: PoisonRecord[] = [];
  for (const topic of ['game-events', 'user-activity', 'transaction-events'] as const) {
    for (let partition = 0; partition < options.partitions; partition++) {
      const event: ValidEvent = {
        event_id: `tick-${topic}-${partition}`,
        user_id: `user-${int(40)}`,
        event_type: 'game_start',
        timestamp: new Date(options.nowMs - 5_000).toISOString(),
        event_data: { game_id: TICK_GAME },
      };
      valid.push(event);
      ticks.push({ topic, key: event.user_id, value: Buffer.from(JSON.stringify(event)), partition });
    }
  }
  return { warmup, records, ticks, valid, hostile, newFields };
}
