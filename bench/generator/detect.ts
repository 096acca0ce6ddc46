/**
 * Plain reference detectors for the four fraud rules, over parsed events. They check the generator
 * (normal traffic must not trip them; every injected case must) and can check a run's alerts.
 */
import type { GameEvent } from './events.ts';
import type { FraudKind } from './fraud.ts';
import type { FraudRules } from './options.ts';

/** Parses the valid records' values, drops repeated event ids, and returns events in arrival order. */
export function validUniqueEvents(values: Iterable<string>): GameEvent[] {
  const seen = new Set<string>();
  const out: GameEvent[] = [];
  for (const value of values) {
    let event: GameEvent;
    try {
      event = JSON.parse(value) as GameEvent;
    } catch {
      continue;
    }
    if (typeof event.user_id !== 'string' || Number.isNaN(Date.parse(event.timestamp)) || seen.has(event.event_id)) continue;
    seen.add(event.event_id);
    out.push(event);
  }
  return out;
}

const byTime = (a: { t: number }, b: { t: number }) => a.t - b.t;

/** The users each rule flags, over all of `events` (event time order per user). */
export function detectFraud(events: readonly GameEvent[], rules: FraudRules): Record<FraudKind, Set<string>> {
  const purchases = new Map<string, { t: number; cents: number }[]>();
  const logins = new Map<string, { t: number; device: string }[]>();
  const transactions = new Map<string, { t: number; user: string }>();
  const refunds: { t: number; user: string; tx: string }[] = [];
  for (const e of events) {
    const t = Date.parse(e.timestamp);
    const data = e.event_data;
    if (e.event_type === 'purchase' && typeof data.amount === 'number') {
      const list = purchases.get(e.user_id) ?? [];
      list.push({ t, cents: Math.round(data.amount * 100) });
      purchases.set(e.user_id, list);
      transactions.set(String(data.transaction_id), { t, user: e.user_id });
    } else if (e.event_type === 'user_login') {
      const list = logins.get(e.user_id) ?? [];
      list.push({ t, device: String(data.device_id) });
      logins.set(e.user_id, list);
    } else if (e.event_type === 'refund_request') {
      refunds.push({ t, user: e.user_id, tx: String(data.transaction_id) });
    }
  }
  const found: Record<FraudKind, Set<string>> = {
    purchase_burst: new Set(),
    amount_spike: new Set(),
    many_devices: new Set(),
    refund_after_purchase: new Set(),
  };
  for (const [user, list] of purchases) {
    list.sort(byTime);
    let from = 0;
    let cents = 0;
    for (let i = 0; i < list.length; i++) {
      const p = list[i] as { t: number; cents: number };
      while ((list[from] as { t: number }).t <= p.t - rules.burstWindowMs) from++;
      if (i - from + 1 > rules.burstPurchases) found.purchase_burst.add(user);
      if (i > 0 && p.cents > rules.spikeAbsoluteUsd * 100 && p.cents > (rules.spikeFactor * cents) / i) found.amount_spike.add(user);
      cents += p.cents;
    }
  }
  for (const [user, list] of logins) {
    list.sort(byTime);
    for (let i = 0; i < list.length; i++) {
      const end = (list[i] as { t: number }).t;
      const devices = new Set(list.filter((l) => l.t <= end && l.t > end - rules.devicesWindowMs).map((l) => l.device));
      if (devices.size > rules.devices) found.many_devices.add(user);
    }
  }
  for (const r of refunds) {
    const p = transactions.get(r.tx);
    if (p !== undefined && p.user === r.user && r.t >= p.t && r.t - p.t <= rules.refundWindowMs) found.refund_after_purchase.add(r.user);
  }
  return found;
}
