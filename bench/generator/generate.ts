/**
 * The seeded traffic generator: normal session traffic with duplicates, out-of-order, late,
 * malformed and oversized records and fraud cases woven in, plus the ground truth of it all.
 */
import type { GameEvent } from './events.ts';
import { planFraud } from './fraud.ts';
import { GroundTruthBuilder, type GeneratedRecord, type GroundTruth } from './ground-truth.ts';
import { Ledger, corrupt, oversize, topicOf } from './inject.ts';
import { resolveOptions, type GeneratorInput } from './options.ts';
import { Population } from './population.ts';
import { Rng, deriveSeed } from './random.ts';
import { Traffic } from './sessions.ts';

interface Recent {
  readonly record: GeneratedRecord;
  readonly timeMs: number;
}

/**
 * Generates the stream, one record per step; the generator's return value is the ground truth.
 * The same options give byte-identical records.
 *
 * ```ts
 * const it = generate({ events: 10_000, seed: 7 });
 * let step = it.next();
 * for (; step.done !== true; step = it.next()) send(step.value);
 * const truth = step.value;
 * ```
 */
export function* generate(input: GeneratorInput = {}): Generator<GeneratedRecord, GroundTruth, undefined> {
  const o = resolveOptions(input);
  const epochMs = Date.parse(o.epoch);
  const stepMs = 1000 / o.eventsPerSecond;
  const population = new Population({ users: o.users, games: o.games, zipfExponent: o.zipfExponent, seed: o.seed });
  const injectRng = new Rng(deriveSeed(o.seed, 2));
  const ledger = new Ledger(o);
  const plan = planFraud(o, population, new Rng(deriveSeed(o.seed, 3)), ledger, { startMs: epochMs, endMs: epochMs + o.events * stepMs });
  const traffic = new Traffic(population, new Rng(deriveSeed(o.seed, 1)), ledger, {
    concurrentSessions: o.concurrentSessions,
    maxPurchaseCents: Math.floor((o.fraud.spikeAbsoluteUsd * 100) / 2),
  });
  const truth = new GroundTruthBuilder(o, plan.cases);
  const oversizedAt = new Set(Array.from({ length: o.oversized }, (_, j) => Math.floor(((j + 1) * o.events) / (o.oversized + 1))));
  // Duplicates re-send a recent event, never one further back than out-of-order events go.
  const recentSize = Math.max(1, Math.min(o.duplicateWindow, Math.floor(o.outOfOrderMaxMs / stepMs)));
  const recent: Recent[] = [];
  const minBehindMs = Math.min(o.outOfOrderMaxMs, Math.max(1000, Math.ceil(2 * stepMs)));
  let nextPlanned = 0;
  let cursor = 0;

  for (let index = 0; index < o.events; index++) {
    const timeMs = epochMs + Math.floor(index * stepMs);
    const planned = plan.events[nextPlanned];
    if (oversizedAt.has(index)) {
      const event = traffic.next(timeMs);
      const bad = oversize(event, o.oversizedBytes);
      truth.malformed(index, topicOf(event), { kind: bad.kind, detail: bad.detail, eventId: event.event_id, userId: event.user_id, bytes: Buffer.byteLength(bad.value) });
      yield { index, topic: topicOf(event), key: bad.key, value: bad.value, kind: 'malformed', eventId: event.event_id, eventTimeMs: timeMs };
      continue;
    }
    if (planned !== undefined && planned.dueMs <= timeMs) {
      nextPlanned++;
      const event = planned.make(timeMs);
      truth.valid(index, topicOf(event), event, timeMs, { caseId: planned.caseId });
      yield record(index, event, 'fraud', timeMs);
      continue;
    }
    if (recent.length > 0 && injectRng.chance(o.rates.duplicate)) {
      const original = recent[injectRng.int(recent.length)] as Recent;
      if (timeMs - original.timeMs <= o.outOfOrderMaxMs) {
        const { record: r } = original;
        truth.duplicate(index, r.index, r.topic, r.eventId as string);
        yield { ...r, index, kind: 'duplicate' };
        continue;
      }
    }
    const event = traffic.next(timeMs);
    const topic = topicOf(event);
    if (injectRng.chance(o.rates.malformed)) {
      const bad = corrupt(event, injectRng);
      truth.malformed(index, topic, { kind: bad.kind, detail: bad.detail, eventId: event.event_id, userId: bad.key, bytes: Buffer.byteLength(bad.value) });
      yield { index, topic, key: bad.key, value: bad.value, kind: 'malformed', eventId: bad.kind === 'truncated' ? undefined : event.event_id, eventTimeMs: timeMs };
      continue;
    }
    // Refund requests keep their time (a shift could bring one within the refund-fraud window), and
    // so do the purchases of fraud users (a shift could change what their cases look like).
    const shiftable = event.event_type !== 'refund_request' && !(event.event_type === 'purchase' && ledger.isFraudUser(rankOf(event)));
    if (shiftable && injectRng.chance(o.rates.late)) {
      const behindMs = o.latenessMs + 1 + injectRng.int(o.lateExtraMaxMs);
      const shifted = { ...event, timestamp: new Date(timeMs - behindMs).toISOString() };
      truth.valid(index, topic, shifted, timeMs - behindMs, { late: true, behindMs });
      yield record(index, shifted, 'late', timeMs - behindMs);
      continue;
    }
    if (shiftable && injectRng.chance(o.rates.outOfOrder)) {
      const behindMs = injectRng.between(minBehindMs, o.outOfOrderMaxMs);
      const shifted = { ...event, timestamp: new Date(timeMs - behindMs).toISOString() };
      truth.valid(index, topic, shifted, timeMs - behindMs, { behindMs });
      yield record(index, shifted, 'out_of_order', timeMs - behindMs);
      continue;
    }
    truth.valid(index, topic, event, timeMs);
    const r = record(index, event, 'normal', timeMs);
    recent[cursor] = { record: r, timeMs };
    cursor = (cursor + 1) % recentSize;
    yield r;
  }
  if (nextPlanned < plan.events.length) throw new Error(`internal: ${plan.events.length - nextPlanned} planned fraud events were not emitted`);
  return truth.build();
}

function record(index: number, event: GameEvent, kind: GeneratedRecord['kind'], eventTimeMs: number): GeneratedRecord {
  return { index, topic: topicOf(event), key: event.user_id, value: JSON.stringify(event), kind, eventId: event.event_id, eventTimeMs };
}

const rankOf = (event: GameEvent) => Number(event.user_id.slice(5)) - 1;

/** Generates everything into memory: the records and the ground truth (for tests and small runs). */
export function generateAll(input: GeneratorInput = {}): { records: GeneratedRecord[]; truth: GroundTruth } {
  const records: GeneratedRecord[] = [];
  const it = generate(input);
  for (;;) {
    const step = it.next();
    if (step.done === true) return { records, truth: step.value };
    records.push(step.value);
  }
}
