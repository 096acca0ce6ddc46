import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { detectFraud, validUniqueEvents } from '../../bench/generator/detect.ts';
import { EVENT_TOPIC, PLATFORMS, isoTime, type GameEvent } from '../../bench/generator/events.ts';
import { generate, generateAll } from '../../bench/generator/generate.ts';
import type { GeneratedRecord, GroundTruth } from '../../bench/generator/ground-truth.ts';
import { FRAUD_KINDS } from '../../bench/generator/fraud.ts';
import { resolveOptions, type GeneratorInput } from '../../bench/generator/options.ts';
import { Rng, Zipf } from '../../bench/generator/random.ts';

// 40k records at 20 events/s of event time: 33 minutes, room for every fraud kind (2 cases each).
const BASE: GeneratorInput = { events: 40_000, seed: 1234, eventsPerSecond: 20, users: 5_000, games: 100 };
const run = generateAll(BASE);

const digest = (records: readonly GeneratedRecord[]) => {
  const hash = createHash('sha256');
  for (const r of records) hash.update(`${r.topic}\u0000${r.key}\u0000${r.value}\n`);
  return hash.digest('hex');
};

const parse = (value: string): GameEvent | undefined => {
  try {
    return JSON.parse(value) as GameEvent;
  } catch {
    return undefined;
  }
};

describe('generator determinism', () => {
  it('gives byte-identical records and ground truth for the same seed and options', () => {
    const again = generateAll(BASE);
    expect(digest(again.records)).toBe(digest(run.records));
    expect(JSON.stringify(again.truth)).toBe(JSON.stringify(run.truth));
  });

  it('gives a different stream for another seed', () => {
    const other = generateAll({ ...BASE, events: 2_000, seed: 1235, rates: { purchaseBurst: 0, amountSpike: 0, manyDevices: 0, refundAfterPurchase: 0 } });
    expect(other.records.slice(0, 50).map((r) => r.value)).not.toEqual(run.records.slice(0, 50).map((r) => r.value));
  });

  it('formats timestamps exactly like Date#toISOString', () => {
    const rng = new Rng(9);
    for (let i = 0; i < 2_000; i++) {
      const ms = Date.parse('2026-11-23T16:45:00.000Z') + rng.int(10 * 86_400_000);
      expect(isoTime(ms)).toBe(new Date(ms).toISOString());
    }
  });
});

describe('generator output shape and distributions', () => {
  const normal = run.records.filter((r) => r.kind === 'normal').map((r) => parse(r.value) as GameEvent);

  it('emits exactly `events` records, platform-shaped, keyed by user and on the right topic', () => {
    expect(run.records).toHaveLength(40_000);
    expect(run.records.map((r) => r.index)).toEqual(run.records.map((_, i) => i));
    for (const e of normal.slice(0, 2_000)) {
      expect(Object.keys(e)).toEqual(['event_id', 'user_id', 'event_type', 'event_data', 'timestamp', 'game_version', 'platform']);
      expect(e.event_id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      expect(e.timestamp).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
      expect(PLATFORMS).toContain(e.platform);
    }
    for (const r of run.records.filter((x) => x.kind === 'normal')) {
      const e = parse(r.value) as GameEvent;
      expect(r.key).toBe(e.user_id);
      expect(r.topic).toBe(EVENT_TOPIC[e.event_type]);
    }
  });

  it('advances event time at eventsPerSecond from the epoch', () => {
    const first = run.records[0] as GeneratedRecord;
    const last = run.records.filter((r) => r.kind === 'normal').at(-1) as GeneratedRecord;
    expect(first.eventTimeMs).toBe(Date.parse('2026-11-23T16:45:00.000Z'));
    expect(last.eventTimeMs).toBe(Date.parse('2026-11-23T16:45:00.000Z') + Math.floor((last.index * 1000) / 20));
  });

  it('skews users and games like a Zipf law and mixes all three topics', () => {
    const perUser = new Map<string, number>();
    const perGame = new Map<string, number>();
    for (const e of normal) {
      perUser.set(e.user_id, (perUser.get(e.user_id) ?? 0) + 1);
      if (typeof e.event_data.game_id === 'string') perGame.set(e.event_data.game_id, (perGame.get(e.event_data.game_id) ?? 0) + 1);
    }
    // Sessions start for Zipf-drawn users; a user plays one session at a time, which caps the
    // heaviest ones. Uniform over 5 000 users would give 1 % and 10 %.
    const users = [...perUser.values()].sort((a, b) => b - a);
    const share = (k: number) => users.slice(0, k).reduce((n, c) => n + c, 0) / normal.length;
    expect(share(50)).toBeGreaterThan(0.1);
    expect(share(500)).toBeGreaterThan(0.5);
    expect(perUser.size).toBeGreaterThan(500);
    const game1 = (perGame.get('game-0001') ?? 0) / [...perGame.values()].reduce((n, c) => n + c, 0);
    const zipf = new Zipf(100, 1.1);
    expect(game1).toBeGreaterThan(zipf.probability(0) * 0.7);
    expect(game1).toBeLessThan(zipf.probability(0) * 1.3);
    const topics = run.truth.totals.perTopic;
    expect(topics['game-events'].records).toBeGreaterThan(topics['user-activity'].records);
    expect(topics['user-activity'].records).toBeGreaterThan(topics['transaction-events'].records);
    expect(topics['transaction-events'].records).toBeGreaterThan(500);
  });

  it('draws purchase amounts from a long tail, below the spike threshold', () => {
    const cents = normal.filter((e) => e.event_type === 'purchase').map((e) => Math.round((e.event_data.amount as number) * 100)).sort((a, b) => a - b);
    expect(cents.length).toBeGreaterThan(500);
    const median = cents[Math.floor(cents.length / 2)] as number;
    const p99 = cents[Math.floor(cents.length * 0.99)] as number;
    expect(median).toBeGreaterThanOrEqual(199);
    expect(median).toBeLessThanOrEqual(999);
    expect(p99).toBeGreaterThan(8 * median);
    expect(cents.at(-1)).toBeLessThanOrEqual(50_000);
    expect(cents.every((c) => c % 100 === 99)).toBe(true);
  });
});

describe('ground truth', () => {
  const truth: GroundTruth = run.truth;
  const byIndex = run.records;

  it('counts what was emitted', () => {
    const count = (kind: GeneratedRecord['kind']) => run.records.filter((r) => r.kind === kind).length;
    expect(truth.totals.records).toBe(40_000);
    expect(truth.totals.duplicates).toBe(count('duplicate'));
    expect(truth.totals.malformed).toBe(count('malformed'));
    expect(truth.totals.late).toBe(count('late'));
    expect(truth.totals.outOfOrder).toBe(count('out_of_order'));
    expect(truth.totals.fraudEvents).toBe(count('fraud'));
    const unique = new Set(run.records.filter((r) => r.kind !== 'malformed' && r.kind !== 'duplicate').map((r) => r.eventId));
    expect(truth.totals.uniqueValid).toBe(unique.size);
    expect(truth.totals.duplicates).toBeGreaterThan(200);
    expect(truth.totals.malformed).toBeGreaterThan(40);
    for (const [topic, t] of Object.entries(truth.totals.perTopic)) {
      expect(t.records).toBe(run.records.filter((r) => r.topic === topic).length);
    }
  });

  it('lists duplicates that re-send the original bytes to the same key, a little later', () => {
    for (const d of truth.duplicates) {
      const dup = byIndex[d.index] as GeneratedRecord;
      const original = byIndex[d.originalIndex] as GeneratedRecord;
      expect(original.kind).toBe('normal');
      expect(dup.value).toBe(original.value);
      expect(dup.key).toBe(original.key);
      expect(d.index).toBeGreaterThan(d.originalIndex);
      expect(d.eventId).toBe(original.eventId);
    }
  });

  it('lists malformed records that really are malformed', () => {
    const known = new Set(Object.keys(EVENT_TOPIC));
    for (const m of truth.malformed) {
      const r = byIndex[m.index] as GeneratedRecord;
      const e = parse(r.value);
      switch (m.kind) {
        case 'truncated':
          expect(e).toBeUndefined();
          break;
        case 'wrong_type':
          expect(typeof e?.event_data.amount === 'string' || typeof e?.event_data.score === 'string' || e?.timestamp === 'yesterday').toBe(true);
          break;
        case 'unknown_event_type':
          expect(known.has(e?.event_type as string)).toBe(false);
          break;
        case 'missing_user_id':
          expect(e?.user_id).toBeUndefined();
          expect(r.key).toBeNull();
          break;
        case 'oversized':
          expect(Buffer.byteLength(r.value)).toBeGreaterThan(1_048_576);
          break;
      }
    }
    expect(new Set(truth.malformed.map((m) => m.kind)).size).toBe(4);
  });

  it('puts out-of-order events within the bound and late events past the lateness', () => {
    const o = truth.options;
    for (const x of truth.outOfOrder) {
      const r = byIndex[x.index] as GeneratedRecord;
      const streamMs = Date.parse(o.epoch) + Math.floor((x.index * 1000) / o.eventsPerSecond);
      expect(streamMs - Date.parse((parse(r.value) as GameEvent).timestamp)).toBe(x.behindMs);
      expect(x.behindMs).toBeLessThanOrEqual(o.outOfOrderMaxMs);
      expect(x.behindMs).toBeGreaterThan(1000 / o.eventsPerSecond);
    }
    for (const x of truth.late) expect(x.behindMs).toBeGreaterThan(o.latenessMs);
    expect(truth.late.length).toBeGreaterThan(20);
  });

  it('has the users in each game: logins minus logouts with a game, each unique valid one once', () => {
    const seen = new Set<string>();
    const counts: Record<string, number> = {};
    let logins = 0;
    const known = new Set(Object.keys(EVENT_TOPIC));
    for (const r of run.records) {
      const e = parse(r.value);
      if (e === undefined || typeof e.user_id !== 'string' || !known.has(e.event_type) || typeof e.timestamp !== 'string' || Number.isNaN(Date.parse(e.timestamp))) continue;
      if (r.value.length > 1_048_576 || seen.has(e.event_id)) continue;
      seen.add(e.event_id);
      if (e.event_type !== 'user_login' && e.event_type !== 'user_logout') continue;
      if (e.event_type === 'user_login') logins++;
      const game = e.event_data.game_id;
      if (typeof game === 'string') counts[game] = (counts[game] ?? 0) + (e.event_type === 'user_login' ? 1 : -1);
    }
    expect(logins).toBeGreaterThan(0);
    expect(truth.sessions.logins).toBe(logins);
    expect(truth.sessions.concurrentUsers).toEqual(Object.fromEntries(Object.entries(counts).sort()));
  });

  it('has per-game, per-minute windows a plain recomputation agrees with', () => {
    // Independent of the generator's own flags: dedup by id, call late whatever is more than the
    // lateness behind the newest time seen so far.
    const cells = new Map<string, { events: number; users: Set<string>; purchases: number; revenueCents: number }>();
    const seen = new Set<string>();
    let maxMs = 0;
    const known = new Set(Object.keys(EVENT_TOPIC));
    for (const r of run.records) {
      const e = parse(r.value);
      if (e === undefined || typeof e.user_id !== 'string' || !known.has(e.event_type) || typeof e.timestamp !== 'string' || Number.isNaN(Date.parse(e.timestamp))) continue;
      if (typeof e.event_data.amount === 'string' || typeof e.event_data.score === 'string' || r.value.length > 1_048_576) continue;
      if (seen.has(e.event_id)) continue;
      seen.add(e.event_id);
      const t = Date.parse(e.timestamp);
      maxMs = Math.max(maxMs, t);
      if (t < maxMs - truth.options.latenessMs) continue;
      const game = e.event_data.game_id;
      const counted = r.topic === 'game-events' || e.event_type === 'purchase' || e.event_type === 'user_login' || e.event_type === 'user_logout';
      if (typeof game !== 'string' || !counted) continue;
      const key = `${game}|${new Date(Math.floor(t / 60_000) * 60_000).toISOString()}`;
      const cell = cells.get(key) ?? { events: 0, users: new Set(), purchases: 0, revenueCents: 0 };
      cells.set(key, cell);
      if (e.event_type === 'purchase') {
        cell.purchases++;
        cell.revenueCents += Math.round((e.event_data.amount as number) * 100);
      } else {
        cell.events++;
        cell.users.add(e.user_id);
      }
    }
    expect(truth.windows.rows.length).toBe(cells.size);
    // Logins and logouts carry their session's first game.
    expect([...cells.values()].some((c) => c.events > 0)).toBe(true);
    for (const row of truth.windows.rows) {
      const cell = cells.get(`${row.gameId}|${row.minute}`);
      expect({ ...row, users: row.users }).toEqual({ ...row, events: cell?.events, users: cell?.users.size, purchases: cell?.purchases, revenueCents: cell?.revenueCents });
    }
  });

  it('injects exactly the fraud cases it lists, and normal traffic trips no rule', () => {
    const events = validUniqueEvents(run.records.filter((r) => r.kind !== 'malformed').map((r) => r.value));
    const found = detectFraud(events, truth.options.fraud);
    for (const kind of FRAUD_KINDS) {
      const injected = new Set(truth.fraud.filter((c) => c.kind === kind).map((c) => c.userId));
      expect(injected.size).toBe(2);
      expect([...found[kind]].sort()).toEqual([...injected].sort());
    }
    for (const c of truth.fraud) {
      expect(c.eventIds.length).toBeGreaterThan(1);
      for (const [i, index] of c.indexes.entries()) {
        const r = byIndex[index] as GeneratedRecord;
        expect(r.kind).toBe('fraud');
        expect(r.eventId).toBe(c.eventIds[i]);
        expect(r.key).toBe(c.userId);
      }
    }
  });
});

describe('generator options', () => {
  it('rejects bad options, naming them', () => {
    expect(() => resolveOptions({ events: 0 })).toThrow(/events must be a positive integer/);
    expect(() => resolveOptions({ fraud: { burstPurchases: 3 } })).toThrow(/normalPurchasesPerWindow/);
    expect(() => resolveOptions({ outOfOrderMaxMs: 400_000 })).toThrow(/outOfOrderMaxMs/);
  });

  it('says when the stream is too short in event time for its fraud cases', () => {
    expect(() => generate({ events: 1_000 }).next()).toThrow(/raise events, lower eventsPerSecond/);
  });

  it('spreads oversized records evenly when asked', () => {
    const { truth } = generateAll({ events: 3_000, seed: 3, oversized: 2, rates: { purchaseBurst: 0, amountSpike: 0, manyDevices: 0, refundAfterPurchase: 0 } });
    const oversized = truth.malformed.filter((m) => m.kind === 'oversized');
    expect(oversized.map((m) => m.index)).toEqual([1_000, 2_000]);
    expect(oversized.every((m) => m.bytes > 1_048_576)).toBe(true);
  });
});
