/**
 * Fraud cases planned up front, each on its own user: purchase bursts, amount spikes, logins from
 * many devices, and refund requests right after a purchase. Their events are emitted when the
 * stream's event time reaches them.
 */
import { centsToAmount, makeEvent, purchaseAmountCents, type GameEvent } from './events.ts';
import type { Ledger } from './inject.ts';
import type { GeneratorOptions } from './options.ts';
import type { Population } from './population.ts';
import type { Rng } from './random.ts';

export const FRAUD_KINDS = ['purchase_burst', 'amount_spike', 'many_devices', 'refund_after_purchase'] as const;
export type FraudKind = (typeof FRAUD_KINDS)[number];

/** One event of a fraud case, emitted when the stream's time reaches `dueMs`. */
export interface PlannedEvent {
  readonly dueMs: number;
  readonly caseId: string;
  /** Builds the event, stamped with the stream's time when it is emitted. */
  make(timeMs: number): GameEvent;
}

export interface PlannedCase {
  readonly id: string;
  readonly kind: FraudKind;
  readonly userRank: number;
  readonly userId: string;
  readonly details: Record<string, unknown>;
}

/** Plans every fraud case: which user, when, and the events, within the stream's time span. */
export function planFraud(
  o: GeneratorOptions,
  population: Population,
  rng: Rng,
  ledger: Ledger,
  span: { startMs: number; endMs: number },
): { cases: PlannedCase[]; events: PlannedEvent[] } {
  const cases: PlannedCase[] = [];
  const events: PlannedEvent[] = [];
  const used = new Set<number>();
  const rules = o.fraud;
  const lengths: Record<FraudKind, number> = {
    purchase_burst: 45_000,
    amount_spike: 180_000,
    many_devices: 0.8 * rules.devicesWindowMs,
    refund_after_purchase: 0.8 * rules.refundWindowMs,
  };
  const rates: Record<FraudKind, number> = {
    purchase_burst: o.rates.purchaseBurst,
    amount_spike: o.rates.amountSpike,
    many_devices: o.rates.manyDevices,
    refund_after_purchase: o.rates.refundAfterPurchase,
  };
  const stepMs = 1000 / o.eventsPerSecond;
  for (const kind of FRAUD_KINDS) {
    const count = rates[kind] > 0 ? Math.max(1, Math.round(rates[kind] * o.events)) : 0;
    const earliest = span.startMs + rules.burstWindowMs + 1000;
    const latest = span.endMs - lengths[kind] - Math.max(5000, 100 * stepMs);
    if (count > 0 && latest <= earliest) {
      const needMs = lengths[kind] + rules.burstWindowMs + Math.max(6000, 100 * stepMs);
      throw new RangeError(`the stream spans ${Math.round((span.endMs - span.startMs) / 1000)} s of event time; ${kind} cases need ` +
        `${Math.ceil(needMs / 1000)} s: raise events, lower eventsPerSecond, or set rates.${camel(kind)} to 0`);
    }
    for (let n = 0; n < count; n++) {
      let userRank = rng.int(population.users);
      while (used.has(userRank)) userRank = (userRank + 1) % population.users;
      used.add(userRank);
      const startMs = earliest + Math.floor(rng.next() * (latest - earliest));
      const fraudCase: PlannedCase = { id: `${kind}-${n + 1}`, kind, userRank, userId: population.userId(userRank), details: {} };
      const planned = PLANNERS[kind](fraudCase, startMs, { o, population, rng, ledger });
      ledger.freeze(userRank, startMs - rules.burstWindowMs, startMs + lengths[kind] + rules.burstWindowMs + Math.max(5000, 100 * stepMs));
      cases.push(fraudCase);
      events.push(...planned);
    }
  }
  events.sort((a, b) => a.dueMs - b.dueMs || (a.caseId < b.caseId ? -1 : a.caseId > b.caseId ? 1 : 0));
  return { cases, events };
}

const camel = (kind: string) => kind.replace(/_(\w)/g, (_, c: string) => c.toUpperCase());

interface PlanContext {
  o: GeneratorOptions;
  population: Population;
  rng: Rng;
  ledger: Ledger;
}

type Planner = (c: PlannedCase, startMs: number, ctx: PlanContext) => PlannedEvent[];

function purchaseMaker(c: PlannedCase, ctx: PlanContext, cents: () => number, transactionId: string, gameId: string) {
  const { population: p, rng, ledger } = ctx;
  return (timeMs: number): GameEvent => {
    const amount = cents();
    ledger.addToAverage(c.userRank, amount);
    return makeEvent(rng, {
      userId: c.userId,
      type: 'purchase',
      timeMs,
      gameVersion: p.gameVersion(0),
      platform: p.platform(c.userRank),
      data: { transaction_id: transactionId, game_id: gameId, item_id: `item-${String(1 + rng.int(400)).padStart(4, '0')}`, amount: centsToAmount(amount), currency: 'USD', payment_method: 'card', country: p.country(c.userRank) },
    });
  };
}

const PLANNERS: Record<FraudKind, Planner> = {
  purchase_burst(c, startMs, ctx) {
    const { o, population: p, rng } = ctx;
    const n = o.fraud.burstPurchases + 1 + rng.int(3);
    const lengthMs = 15_000 + rng.int(30_000);
    const gameId = p.gameId(p.gameZipf.sample(rng));
    c.details.purchases = n;
    return Array.from({ length: n }, (_, j) => ({
      caseId: c.id,
      dueMs: startMs + Math.floor((j * lengthMs) / (n - 1)),
      make: purchaseMaker(c, ctx, () => purchaseAmountCents(rng, 5_000), `txn-${rng.hex(12)}`, gameId),
    }));
  },
  amount_spike(c, startMs, ctx) {
    const { o, population: p, rng, ledger } = ctx;
    const gameId = p.gameId(p.gameZipf.sample(rng));
    const priming = [0, 40_000, 80_000].map((offset) => ({
      caseId: c.id,
      dueMs: startMs + offset,
      make: purchaseMaker(c, ctx, () => 99 + 100 * rng.int(20), `txn-${rng.hex(12)}`, gameId),
    }));
    const spike = () => {
      const average = ledger.averageCents(c.userRank);
      const floor = o.fraud.spikeAbsoluteUsd * 100 * (1.5 + 2.5 * rng.next());
      const cents = Math.round(Math.max(floor, average * o.fraud.spikeFactor * (2 + 2 * rng.next())));
      c.details.averageBeforeUsd = Math.round(average) / 100;
      c.details.amountUsd = cents / 100;
      return cents;
    };
    return [...priming, { caseId: c.id, dueMs: startMs + 120_000 + rng.int(60_000), make: purchaseMaker(c, ctx, spike, `txn-${rng.hex(12)}`, gameId) }];
  },
  many_devices(c, startMs, ctx) {
    const { o, population: p, rng } = ctx;
    const n = o.fraud.devices + 1 + rng.int(3);
    const lengthMs = Math.floor(o.fraud.devicesWindowMs * (0.2 + 0.6 * rng.next()));
    const devices = Array.from({ length: n }, () => `dev-${rng.hex(5)}`);
    c.details.devices = devices;
    return devices.map((deviceId, j) => ({
      caseId: c.id,
      dueMs: startMs + Math.floor((j * lengthMs) / (n - 1)),
      make: (timeMs: number) =>
        makeEvent(rng, {
          userId: c.userId,
          type: 'user_login',
          timeMs,
          gameVersion: p.gameVersion(0),
          platform: p.platform(c.userRank),
          data: { device_id: deviceId, country: rng.pick(['US', 'RU', 'NG', 'VN', 'BR']), session_id: `sess-${rng.hex(8)}` },
        }),
    }));
  },
  refund_after_purchase(c, startMs, ctx) {
    const { o, population: p, rng } = ctx;
    const gameId = p.gameId(p.gameZipf.sample(rng));
    const transactionId = `txn-${rng.hex(12)}`;
    const cents = purchaseAmountCents(rng, 20_000);
    const delayMs = Math.floor(o.fraud.refundWindowMs * (0.1 + 0.7 * rng.next()));
    c.details.transactionId = transactionId;
    return [
      { caseId: c.id, dueMs: startMs, make: purchaseMaker(c, ctx, () => cents, transactionId, gameId) },
      {
        caseId: c.id,
        dueMs: startMs + delayMs,
        make: (timeMs: number) =>
          makeEvent(rng, {
            userId: c.userId,
            type: 'refund_request',
            timeMs,
            gameVersion: p.gameVersion(0),
            platform: p.platform(c.userRank),
            data: { transaction_id: transactionId, game_id: gameId, amount: centsToAmount(cents), currency: 'USD', reason: 'not_received' },
          }),
      },
    ];
  },
};
