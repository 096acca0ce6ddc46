/** Options of the traffic generator, their defaults and their checks. */

/** The thresholds the injected fraud crosses and normal traffic stays below. */
export interface FraudRules {
  /** A burst is more than this many purchases by one user within `burstWindowMs`. */
  burstPurchases: number;
  burstWindowMs: number;
  /** A spike is an amount above this (USD) and `spikeFactor` times the user's average before it. */
  spikeAbsoluteUsd: number;
  spikeFactor: number;
  /** Many devices is logins from more than this many device ids within `devicesWindowMs`. */
  devices: number;
  devicesWindowMs: number;
  /** A refund request for a purchase made less than this long before it. */
  refundWindowMs: number;
}

export interface InjectionRates {
  /** Share of records that are re-sent copies of a recent event (same bytes). */
  duplicate: number;
  /** Share of events stamped up to `outOfOrderMaxMs` earlier than the stream's time. */
  outOfOrder: number;
  /** Share of events stamped more than `latenessMs` earlier than the stream's time. */
  late: number;
  /** Share of records that are malformed (truncated, wrong type, unknown type, no user_id). */
  malformed: number;
  /** Fraud cases per kind, as a share of the events (cases = round(rate * events), at least 1 if rate > 0). */
  purchaseBurst: number;
  amountSpike: number;
  manyDevices: number;
  refundAfterPurchase: number;
}

export interface GeneratorOptions {
  /** Records to emit, everything included. */
  events: number;
  seed: number;
  users: number;
  games: number;
  zipfExponent: number;
  /** Event-time rate: record i is stamped `epoch + i * 1000 / eventsPerSecond` (before shifts). */
  eventsPerSecond: number;
  /** ISO-8601 start of event time. */
  epoch: string;
  /** Live sessions; one speaks per step. Default: 10 s of events, at most users / 2. */
  concurrentSessions: number;
  /** Normal traffic makes at most this many purchases per user per `burstWindowMs`. */
  normalPurchasesPerWindow: number;
  rates: InjectionRates;
  outOfOrderMaxMs: number;
  latenessMs: number;
  /** Late events are `latenessMs` plus up to this much behind. */
  lateExtraMaxMs: number;
  /** Duplicates re-send one of the last this-many normal events. */
  duplicateWindow: number;
  /** Oversized records (valid JSON with a value past `oversizedBytes`), spread evenly. */
  oversized: number;
  oversizedBytes: number;
  fraud: FraudRules;
}

export type GeneratorInput = Partial<Omit<GeneratorOptions, 'rates' | 'fraud'>> & {
  rates?: Partial<InjectionRates>;
  fraud?: Partial<FraudRules>;
};

export const DEFAULT_RULES: FraudRules = {
  burstPurchases: 5,
  burstWindowMs: 60_000,
  spikeAbsoluteUsd: 1000,
  spikeFactor: 10,
  devices: 3,
  devicesWindowMs: 600_000,
  refundWindowMs: 300_000,
};

export const DEFAULT_RATES: InjectionRates = {
  duplicate: 0.01,
  outOfOrder: 0.01,
  late: 0.002,
  malformed: 0.002,
  purchaseBurst: 0.00005,
  amountSpike: 0.00005,
  manyDevices: 0.00005,
  refundAfterPurchase: 0.00005,
};

/** Fills defaults and checks the options; throws a RangeError naming the first bad one. */
export function resolveOptions(input: GeneratorInput = {}): GeneratorOptions {
  const eventsPerSecond = input.eventsPerSecond ?? 50;
  const users = input.users ?? 10_000;
  const o: GeneratorOptions = {
    events: input.events ?? 100_000,
    seed: input.seed ?? 42,
    users,
    games: input.games ?? 200,
    zipfExponent: input.zipfExponent ?? 1.1,
    eventsPerSecond,
    epoch: input.epoch ?? '2026-11-23T16:45:00.000Z',
    concurrentSessions: input.concurrentSessions ?? Math.max(1, Math.min(Math.floor(users / 2), Math.round(eventsPerSecond * 10))),
    normalPurchasesPerWindow: input.normalPurchasesPerWindow ?? 2,
    rates: { ...DEFAULT_RATES, ...input.rates },
    outOfOrderMaxMs: input.outOfOrderMaxMs ?? 10_000,
    latenessMs: input.latenessMs ?? 300_000,
    lateExtraMaxMs: input.lateExtraMaxMs ?? 600_000,
    duplicateWindow: input.duplicateWindow ?? 500,
    oversized: input.oversized ?? 0,
    oversizedBytes: input.oversizedBytes ?? 1_100_000,
    fraud: { ...DEFAULT_RULES, ...input.fraud },
  };
  const problems: string[] = [];
  const positiveInt = (name: string, v: number) => {
    if (!Number.isInteger(v) || v < 1) problems.push(`${name} must be a positive integer, got ${v}`);
  };
  positiveInt('events', o.events);
  positiveInt('users', o.users);
  positiveInt('games', o.games);
  positiveInt('concurrentSessions', o.concurrentSessions);
  positiveInt('duplicateWindow', o.duplicateWindow);
  if (!Number.isInteger(o.seed)) problems.push(`seed must be an integer, got ${o.seed}`);
  if (!(o.eventsPerSecond > 0)) problems.push(`eventsPerSecond must be > 0, got ${o.eventsPerSecond}`);
  if (!(o.zipfExponent > 0)) problems.push(`zipfExponent must be > 0, got ${o.zipfExponent}`);
  if (Number.isNaN(Date.parse(o.epoch))) problems.push(`epoch must be an ISO-8601 time, got ${o.epoch}`);
  if (o.concurrentSessions > o.users) problems.push(`concurrentSessions (${o.concurrentSessions}) must be <= users (${o.users})`);
  for (const [name, rate] of Object.entries(o.rates)) {
    if (!(rate >= 0 && rate < 0.5)) problems.push(`rates.${name} must be in [0, 0.5), got ${rate}`);
  }
  if (!(o.outOfOrderMaxMs >= 1 && o.outOfOrderMaxMs < o.latenessMs)) problems.push(`outOfOrderMaxMs must be in [1, latenessMs)`);
  if (!(o.oversized >= 0 && Number.isInteger(o.oversized))) problems.push(`oversized must be a non-negative integer`);
  if (!(o.oversizedBytes > 1_048_576)) problems.push(`oversizedBytes must exceed 1 MiB, got ${o.oversizedBytes}`);
  if (o.normalPurchasesPerWindow + 2 > o.fraud.burstPurchases) {
    problems.push(`normalPurchasesPerWindow + 2 must be <= fraud.burstPurchases, or normal traffic may look like a burst`);
  }
  if (o.fraud.devices < 2) problems.push(`fraud.devices must be >= 2 (normal users own up to 2 devices)`);
  if (problems.length > 0) throw new RangeError(`invalid generator options:\n${problems.join('\n')}`);
  return o;
}
