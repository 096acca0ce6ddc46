/**
 * Fraud in the exactness input: planted cases, one user each, for the four fraud steps of the default
 * topology, and the alerts the topology must raise from the whole input. The expected alerts come
 * from the topology's own fraud operators run here once, without faults, on each source partition's
 * records in offset order after dedup (as a run reads them): a run with faults must raise exactly
 * these, with the same ids. `plantedCases` checks that each planted case is among them.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { murmur2 } from '@platformatic/kafka';
import { Subject, type OperatorFunction } from 'rxjs';
import { envelopeOf, type Envelope } from '../../src/core/envelope.ts';
import { compileField, compileKey, compilePredicate, type Predicate } from '../../src/core/expression.ts';
import { partitionKey } from '../../src/core/partition.ts';
import type { FraudAlert } from '../../src/operators/fraud-alert.ts';
import { fraudAmount } from '../../src/operators/fraud-amount.ts';
import { fraudDistinct } from '../../src/operators/fraud-distinct.ts';
import { fraudSequence } from '../../src/operators/fraud-sequence.ts';
import { fraudVelocity } from '../../src/operators/fraud-velocity.ts';
import { checkTopologyText } from '../../src/topology/load.ts';
import type { FraudStep, RouteStep } from '../../src/topology/types.ts';

const YAML = resolve(import.meta.dirname, '../../topologies/game-events.yaml');
const SECOND = 1000;

/** A record the cases add: sent when the stream reaches `atMs`; `duplicate` re-sends an earlier one byte for byte. */
export interface PlantedRecord {
  readonly atMs: number;
  readonly topic: 'user-activity' | 'transaction-events';
  readonly key: string;
  readonly value: string;
  readonly duplicate: boolean;
}

/** A planted case: the step that must fire for `user`, on the event `trigger` (the alert's newest). */
export interface PlantedCase {
  readonly step: 'fraud-velocity' | 'fraud-amount' | 'fraud-devices' | 'fraud-refund';
  readonly user: string;
  readonly trigger: string;
}

/**
 * One case per ~600 records, the four kinds in turn, each on a user of its own, starting anywhere
 * in the stream but its last 5 minutes: a purchase burst (6 in 20 s, one re-sent), an amount spike
 * (3 purchases of 10, then 1,500), logins from 4 devices in 3 minutes, a refund of the user's own
 * purchase 2 minutes later. Returns the records sorted by `atMs`.
 */
export function planFraud(seed: number, records: number, spanMs: number, epochMs: number): { records: PlantedRecord[]; cases: PlantedCase[] } {
  let a = (seed ^ 0x5eed) >>> 0; // its own sequence: the rest of the input stays as it was
  const random = () => ((a = (Math.imul(a, 1_103_515_245) + 12_345) >>> 0) / 2 ** 32);
  const out: PlantedRecord[] = [];
  const cases: PlantedCase[] = [];
  const count = Math.max(4, Math.round(records / 600));
  let serial = 0;
  for (let n = 0; n < count; n++) {
    const user = `fraudster-${String(n).padStart(4, '0')}`;
    const game = `game-${1 + (n % 8)}`;
    const startMs = epochMs + 30 * SECOND + Math.floor(random() * Math.max(0, spanMs - 6 * 60 * SECOND));
    const event = (topic: PlantedRecord['topic'], atMs: number, type: string, data: Record<string, unknown>) => {
      const id = `fr-${seed}-${++serial}`;
      const value = JSON.stringify({ event_id: id, user_id: user, event_type: type, timestamp: new Date(atMs).toISOString(), event_data: data, game_version: '1.5.0', platform: 'pc' });
      out.push({ atMs, topic, key: user, value, duplicate: false });
      return id;
    };
    const purchase = (atMs: number, amount: number, tx = `ftx-${seed}-${serial + 1}`) =>
      event('transaction-events', atMs, 'purchase', { game_id: game, amount, currency: 'USD', transaction_id: tx, item_id: 'item-fraud' });
    let trigger = '';
    const kind = n % 4;
    if (kind === 0) {
      for (let k = 0; k < 6; k++) trigger = purchase(startMs + k * 4 * SECOND, 10);
      const resent = out[out.length - 4] as PlantedRecord;
      out.push({ ...resent, atMs: resent.atMs + 2 * SECOND, duplicate: true });
    } else if (kind === 1) {
      for (let k = 0; k < 3; k++) purchase(startMs + k * 40 * SECOND, 10);
      trigger = purchase(startMs + 120 * SECOND, 1500);
    } else if (kind === 2) {
      for (let k = 0; k < 4; k++) trigger = event('user-activity', startMs + k * 60 * SECOND, 'user_login', { device_id: `${user}-d${k}`, session_id: `fsess-${seed}-${serial + 1}`, game_id: game });
    } else {
      const tx = `ftx-${seed}-${serial + 1}`;
      purchase(startMs, 25, tx);
      trigger = event('transaction-events', startMs + 120 * SECOND, 'refund_request', { transaction_id: tx });
    }
    cases.push({ step: (['fraud-velocity', 'fraud-amount', 'fraud-devices', 'fraud-refund'] as const)[kind] as PlantedCase['step'], user, trigger });
  }
  return { records: out.sort((x, y) => x.atMs - y.atMs), cases };
}

/** The default topology's fraud steps, each with the predicate of the events it reads (its `by-type` outputs). */
function fraudSteps(): { step: FraudStep; reads: Predicate }[] {
  const { topology, problems } = checkTopologyText(readFileSync(YAML, 'utf8'), 'yaml', { env: {} });
  if (topology === undefined) throw new Error(`${YAML}: ${problems.map((p) => p.message).join('; ')}`);
  const routes = new Map<string, Predicate>();
  for (const s of topology.steps) if (s.kind === 'route') for (const r of (s as RouteStep).routes) routes.set(`${s.id}.${r.output}`, compilePredicate(r.when));
  return topology.steps
    .filter((s): s is FraudStep => s.kind === 'fraud')
    .map((step) => {
      const reads = step.from.map((f) => {
        const p = routes.get(f.ref);
        if (p === undefined) throw new Error(`fraud step ${step.id} reads ${f.ref}: the reference here knows only route outputs`);
        return p;
      });
      return { step, reads: (value: unknown) => reads.some((p) => p(value)) };
    });
}

/** The operator the compiler builds for `step` (src/topology/compile-steps.ts), in memory. */
function operatorOf(step: FraudStep): OperatorFunction<Envelope<unknown>, Envelope<FraudAlert>> {
  const keyOf = compileKey(step.key);
  const base = { id: step.id, key: (v: unknown) => keyOf(v), severity: step.severity, maxKeys: step.maxKeys, ...(step.when === undefined ? {} : { when: compilePredicate(step.when) }) };
  switch (step.pattern) {
    case 'velocity':
      return fraudVelocity({ ...base, threshold: step.threshold, withinMs: step.withinMs });
    case 'amount':
      return fraudAmount({
        ...base, amount: compileField(step.field), windowMs: step.windowMs, minSamples: step.minSamples,
        ...(step.factor === undefined ? {} : { factor: step.factor }), ...(step.absoluteThreshold === undefined ? {} : { absoluteThreshold: step.absoluteThreshold }),
      });
    case 'distinct':
      return fraudDistinct({ ...base, field: compileField(step.field), threshold: step.threshold, withinMs: step.withinMs });
    case 'sequence':
      return fraudSequence({
        ...base, steps: step.steps.map((s) => ({ name: s.name, when: compilePredicate(s.when) })), withinMs: step.withinMs,
        ...(step.correlate.length === 0 ? {} : { correlate: compileKey(step.correlate) }),
      });
  }
}

/**
 * The alerts, by `alert_id`, that the default topology raises from `records`: each unique valid
 * event (`valid`, first copy only) on its Kafka partition (the producer's murmur2 of the key),
 * through one instance of each fraud step per source partition, as the durable steps keep state.
 */
export function expectedAlerts(records: readonly { topic: string; key: string; value: string; partition?: number }[], valid: ReadonlySet<string>, partitions: number): Map<string, FraudAlert> {
  const steps = fraudSteps();
  const alerts = new Map<string, FraudAlert>();
  const inputs = new Map<string, Subject<Envelope<unknown>>[]>();
  const offsets = new Map<string, number>();
  const seen = new Set<string>();
  for (const r of records) {
    const partition = r.partition ?? (murmur2(Buffer.from(r.key)) >>> 0) % partitions;
    const at = partitionKey(r.topic, partition);
    const offset = offsets.get(at) ?? 0;
    offsets.set(at, offset + 1);
    let event: { event_id?: unknown; timestamp?: unknown };
    try {
      event = JSON.parse(r.value) as typeof event;
    } catch {
      continue;
    }
    const id = String(event.event_id);
    if (!valid.has(id) || seen.has(id)) continue;
    seen.add(id);
    let subjects = inputs.get(at);
    if (subjects === undefined) {
      subjects = steps.map(({ step }) => {
        const input = new Subject<Envelope<unknown>>();
        input.pipe(operatorOf(step)).subscribe((e) => {
          if (alerts.has(e.value.alert_id)) throw new Error(`two alerts with id ${e.value.alert_id}`);
          alerts.set(e.value.alert_id, e.value);
        });
        return input;
      });
      inputs.set(at, subjects);
    }
    const envelope = envelopeOf<unknown>(event, { topic: r.topic, partition, offset, key: Buffer.from(r.key) }, undefined, Date.parse(String(event.timestamp)));
    steps.forEach(({ reads }, i) => reads(event) && subjects[i]?.next(envelope));
  }
  return alerts;
}

/** Throws unless each planted case has an alert of its step, for its user, whose newest event is its trigger. */
export function checkPlanted(cases: readonly PlantedCase[], alerts: ReadonlyMap<string, FraudAlert>): void {
  const fired = new Set([...alerts.values()].map((a) => `${a.pattern_id}|${a.key}|${a.event_ids.at(-1)}`));
  const missed = cases.filter((c) => !fired.has(`${c.step}|${c.user}|${c.trigger}`));
  if (missed.length > 0) throw new Error(`planted fraud cases with no alert: ${JSON.stringify(missed.slice(0, 5))} (${missed.length} of ${cases.length})`);
}
