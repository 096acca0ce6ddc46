/**
 * The rivals of bench/fraud.bench.ts: each fraud pattern as one plain loop over the same events,
 * with the same rules as the operators (window `(newest - W, newest]` per user, late events skipped,
 * once per burst / excursion, skip past a sequence match), plain Maps and direct field access.
 * Each returns the number of alerts and a checksum over them, which must equal the operator's.
 */
import type { Envelope } from '../src/core/envelope.ts';

export interface BenchEvent {
  readonly event_id: string;
  readonly user_id: string;
  readonly event_type: string;
  readonly event_data: { readonly amount?: number; readonly device_id?: string; readonly transaction_id?: string };
}

export interface Tally {
  alerts: number;
  checksum: number;
}

interface Slot<S> {
  newest: number;
  state: S;
}

/** The window bookkeeping every loop repeats: the user's slot, or undefined when the event is late. */
function slotOf<S>(users: Map<string, Slot<S>>, user: string, t: number, windowMs: number, create: () => S): Slot<S> | undefined {
  let slot = users.get(user);
  if (slot === undefined) {
    slot = { newest: t, state: create() };
    users.set(user, slot);
    return slot;
  }
  if (t <= slot.newest - windowMs) return undefined;
  if (t - windowMs >= slot.newest) slot.state = create();
  if (t > slot.newest) slot.newest = t;
  return slot;
}

function insertSorted<E extends { t: number }>(list: E[], item: E): number {
  let i = list.length;
  while (i > 0 && (list[i - 1] as E).t > item.t) i--;
  list.splice(i, 0, item);
  return i;
}

function dropOld<E extends { t: number }>(list: E[], horizon: number): void {
  let n = 0;
  while (n < list.length && (list[n] as E).t <= horizon) n++;
  if (n > 0) list.splice(0, n);
}

const timeOf = (e: Envelope<BenchEvent>): number => e.eventTimeMs ?? e.meta.timestamp;

export function velocityLoop(events: readonly Envelope<BenchEvent>[], threshold: number, windowMs: number): Tally {
  const users = new Map<string, Slot<{ times: { t: number; id: string }[]; rearm: number }>>();
  const tally: Tally = { alerts: 0, checksum: 0 };
  for (const e of events) {
    const v = e.value;
    if (v.event_type !== 'purchase') continue;
    const t = timeOf(e);
    const slot = slotOf(users, v.user_id, t, windowMs, () => ({ times: [], rearm: -Infinity }));
    if (slot === undefined) continue;
    const s = slot.state;
    insertSorted(s.times, { t, id: v.event_id });
    if (s.times.length > threshold + 1) s.times.shift();
    dropOld(s.times, slot.newest - windowMs);
    if (s.times.length <= threshold || slot.newest < s.rearm) continue;
    s.rearm = slot.newest + windowMs;
    tally.alerts++;
    tally.checksum += (s.times[s.times.length - 1] as { t: number }).t % 1_000_003;
  }
  return tally;
}

export function amountLoop(events: readonly Envelope<BenchEvent>[], factor: number, windowMs: number, minSamples: number, absolute: number): Tally {
  const users = new Map<string, Slot<{ samples: { t: number; a: number }[]; sum: number }>>();
  const tally: Tally = { alerts: 0, checksum: 0 };
  for (const e of events) {
    const v = e.value;
    const a = v.event_data.amount;
    if (v.event_type !== 'purchase' || typeof a !== 'number') continue;
    const t = timeOf(e);
    let alert = a > absolute;
    const slot = slotOf(users, v.user_id, t, windowMs, () => ({ samples: [], sum: 0 }));
    if (slot !== undefined) {
      const s = slot.state;
      const horizon = slot.newest - windowMs;
      let n = 0;
      while (n < s.samples.length && (s.samples[n] as { t: number }).t <= horizon) s.sum -= (s.samples[n++] as { a: number }).a;
      if (n > 0) s.samples.splice(0, n);
      if (s.samples.length === 0) s.sum = 0;
      let sum = s.sum;
      let count = s.samples.length;
      const last = s.samples[count - 1];
      if (last !== undefined && last.t > t) {
        sum = 0;
        count = 0;
        for (const x of s.samples) {
          if (x.t > t) break;
          if (x.t > t - windowMs) {
            sum += x.a;
            count++;
          }
        }
      }
      if (count >= minSamples && sum / count > 0 && a > factor * (sum / count)) alert = true;
      insertSorted(s.samples, { t, a });
      s.sum += a;
    }
    if (!alert) continue;
    tally.alerts++;
    tally.checksum += t % 1_000_003;
  }
  return tally;
}

export function distinctLoop(events: readonly Envelope<BenchEvent>[], threshold: number, windowMs: number): Tally {
  const users = new Map<string, Slot<{ t: number; value: string }[]>>();
  const tally: Tally = { alerts: 0, checksum: 0 };
  for (const e of events) {
    const v = e.value;
    const device = v.event_data.device_id;
    if (v.event_type !== 'login' || device === undefined) continue;
    const t = timeOf(e);
    const slot = slotOf(users, v.user_id, t, windowMs, () => []);
    if (slot === undefined) continue;
    const seen = slot.state;
    dropOld(seen, slot.newest - windowMs);
    const at = seen.findIndex((s) => s.value === device);
    if (at >= 0) {
      if ((seen[at] as { t: number }).t < t) {
        seen.splice(at, 1);
        insertSorted(seen, { t, value: device });
      }
      continue;
    }
    const before = seen.length;
    insertSorted(seen, { t, value: device });
    if (seen.length > threshold + 1) seen.shift();
    if (before !== threshold) continue;
    tally.alerts++;
    tally.checksum += (seen[seen.length - 1] as { t: number }).t % 1_000_003;
  }
  return tally;
}

/** Purchase then refund_request of the same transaction within `windowMs`. */
export function sequenceLoop(events: readonly Envelope<BenchEvent>[], windowMs: number, maxPending: number): Tally {
  const users = new Map<string, Slot<{ t: number; refund: boolean; txn: string }[]>>();
  const tally: Tally = { alerts: 0, checksum: 0 };
  for (const e of events) {
    const v = e.value;
    const refund = v.event_type === 'refund_request';
    const txn = v.event_data.transaction_id;
    if ((!refund && v.event_type !== 'purchase') || txn === undefined) continue;
    const t = timeOf(e);
    const slot = slotOf(users, v.user_id, t, windowMs, () => []);
    if (slot === undefined) continue;
    const pending = slot.state;
    dropOld(pending, slot.newest - windowMs);
    const at = insertSorted(pending, { t, refund, txn });
    let end = -1;
    if (at !== pending.length - 1 || refund) {
      for (let i = 0; i < pending.length && end < 0; i++) {
        const p = pending[i] as { refund: boolean; txn: string };
        if (p.refund || p.txn !== txn) continue;
        for (let j = i + 1; j < pending.length; j++) {
          const q = pending[j] as { refund: boolean; txn: string };
          if (q.refund && q.txn === txn) {
            end = j;
            break;
          }
        }
      }
    }
    if (end < 0) {
      if (pending.length > maxPending) pending.shift();
      continue;
    }
    tally.alerts++;
    tally.checksum += (pending[end] as { t: number }).t % 1_000_003;
    slot.state = pending.filter((p, i) => i > end || p.txn !== txn);
  }
  return tally;
}
