import { Subject } from 'rxjs';
import { describe, expect, it } from 'vitest';
import type { FraudAlert } from '../../src/operators/fraud-alert.ts';
import { fraudAmount } from '../../src/operators/fraud-amount.ts';
import { fraudSequence } from '../../src/operators/fraud-sequence.ts';
import { fraudVelocity } from '../../src/operators/fraud-velocity.ts';
import { CountingLease, envelopeOf, type Envelope, type Lease } from '../../src/core/envelope.ts';
import { MemoryChangelog } from '../support/memory-changelog.ts';

interface Purchase {
  readonly event_id: string;
  readonly user_id: string;
  readonly type: 'purchase' | 'refund';
  readonly tx: string;
}

/** Seeded purchases and refunds of a few users, some in bursts, one second apart. */
function stream(seed: number, n = 800): { value: Purchase; timeMs: number }[] {
  let s = seed;
  const rand = () => ((s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  return Array.from({ length: n }, (_, i) => {
    const user = rand() < 0.3 ? 'burster' : `u${Math.floor(rand() * 8)}`;
    const refund = rand() < 0.15;
    return { value: { event_id: `e${i}`, user_id: user, type: refund ? 'refund' : 'purchase', tx: `t${Math.floor(rand() * 30)}` }, timeMs: i * 1000 };
  });
}

const operators = (state?: MemoryChangelog) => {
  const base = { key: (v: Purchase) => v.user_id, severity: 'high' as const, ...(state ? { state } : {}) };
  return [
    fraudVelocity<Purchase>({ ...base, id: 'velocity', threshold: 3, withinMs: 10_000, when: (v) => v.type === 'purchase' }),
    fraudSequence<Purchase>({
      ...base,
      id: 'refund',
      correlate: (v) => v.tx,
      steps: [
        { name: 'purchase', when: (v) => v.type === 'purchase' },
        { name: 'refund', when: (v) => v.type === 'refund' },
      ],
      withinMs: 20_000,
    }),
  ];
};

function start(changelogs: MemoryChangelog[] | undefined, emitted: FraudAlert[], stored: Set<string>) {
  const input = new Subject<Envelope<Purchase>>();
  const unacked: Lease[] = [];
  const subs = operators().map((_, i) => {
    const op = operators(changelogs?.[i])[i] as ReturnType<typeof fraudVelocity<Purchase>>;
    return input.pipe(op).subscribe((alert) => {
      emitted.push(alert.value);
      unacked.push({ retain: () => {}, release: () => (stored.add(alert.value.alert_id), alert.lease.release()) });
    });
  });
  return { input, unacked, stop: () => subs.forEach((sub) => sub.unsubscribe()) };
}

const tick = () => new Promise((resolve) => setTimeout(resolve, 0));

describe('fraud patterns with durable state: crashes and replays', () => {
  it.each([1, 2, 3, 4, 5, 6])('seed %i: the alerts after kills at random points equal those of a run without any', async (seed) => {
    const events = stream(seed);
    const envelopes = () => events.map(({ value, timeMs }, offset) => ({ lease: new CountingLease(), value, timeMs, offset }));
    const expectedAlerts: FraudAlert[] = [];
    const expected = new Set<string>();
    const reference = start(undefined, expectedAlerts, expected);
    for (const e of envelopes()) {
      e.lease.retain(); // two patterns read each record
      reference.input.next(envelopeOf(e.value, { offset: e.offset }, e.lease, e.timeMs));
    }
    reference.unacked.splice(0).forEach((l) => l.release());
    expect(expected.size).toBeGreaterThan(5);

    const changelogs = [new MemoryChangelog(), new MemoryChangelog()];
    const emitted: FraudAlert[] = [];
    const stored = new Set<string>();
    let s = seed * 31;
    const rand = () => ((s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const leases: CountingLease[] = [];
    let committed = 0;
    for (let kill = 0; kill <= 6; kill++) {
      const run = start(changelogs, emitted, stored);
      const records = envelopes();
      const stopAt = kill === 6 ? events.length : Math.min(events.length, committed + Math.floor(rand() * 300) + 20);
      for (let offset = committed; offset < stopAt; offset++) {
        const e = records[offset] as (typeof records)[number];
        leases[offset] = e.lease;
        e.lease.retain();
        run.input.next(envelopeOf(e.value, { offset }, e.lease, e.timeMs));
        if (offset % 10 === 0) await tick();
        if (rand() < 0.05 || (kill === 6 && offset === stopAt - 1)) {
          await tick();
          const acked = kill === 6 ? run.unacked.length : Math.floor(rand() * run.unacked.length);
          run.unacked.splice(0, acked).forEach((l) => l.release());
          for (const changelog of changelogs) changelog.checkpoint();
          committed = leases.findIndex((lease, i) => i < offset + 1 && !lease.done);
          if (committed < 0) committed = offset + 1;
        }
      }
      await tick();
      run.stop();
    }
    expect(committed).toBe(events.length);
    const ids = new Set(expectedAlerts.map((a) => a.alert_id));
    expect(emitted.filter((a) => !ids.has(a.alert_id))).toEqual([]);
    expect([...expected].filter((id) => !stored.has(id))).toEqual([]);
  });
});

describe('fraud patterns with durable state: a record in flight when its partition is revoked', () => {
  /** A changelog whose writes land only when `land()` is called (the broker is slow to acknowledge). */
  class SlowChangelog extends MemoryChangelog {
    readonly #held: (() => void)[] = [];
    override write(entries: Parameters<MemoryChangelog['write']>[0]): Promise<void> {
      return new Promise((done) => this.#held.push(() => (this.append(entries), done())));
    }
    land(): void {
      for (const write of this.#held.splice(0)) write();
    }
  }

  it('is released unapplied: no alert from a part rebuilt before the revoked part\'s last write landed', async () => {
    const changelog = new SlowChangelog();
    const revoked = new Subject<{ topic: string; partition: number }[]>();
    let gone = false;
    const leases: { released: number }[] = [];
    const record = (offset: number, amount: number): Envelope<{ event_id: string; user_id: string; amount: number }> => {
      const lease = { released: 0, retain() {}, release() { this.released++; }, get revoked() { return gone; } };
      leases.push(lease);
      return envelopeOf({ event_id: `p${offset}`, user_id: 'u1', amount }, { topic: 'tx', partition: 0, offset }, lease, 1_000 + offset);
    };
    const alerts: FraudAlert[] = [];
    const input = new Subject<Envelope<{ event_id: string; user_id: string; amount: number }>>();
    input
      .pipe(fraudAmount({ id: 'amount', key: (v) => v.user_id, severity: 'high', amount: (v) => v.amount, factor: 10, windowMs: 86_400_000, absoluteThreshold: 1000, state: changelog, revoked }))
      .subscribe((a) => alerts.push(a.value));
    for (const offset of [0, 1, 2]) input.next(record(offset, 10));
    await tick();
    gone = true;
    revoked.next([{ topic: 'tx', partition: 0 }]); // its last state (three purchases) is on its way
    input.next(record(3, 1500)); // fetched before the revocation
    await tick();
    changelog.land();
    changelog.checkpoint();
    // Before: the part was restored without the three purchases and raised an alert without the ratio rule.
    expect(alerts).toEqual([]);
    expect(leases[3]?.released).toBe(1);
    expect([...(await changelog.restore(0)).keys()]).toEqual(['tx:0']);
  });
});

describe('fraud patterns with durable state: partitions assigned', () => {
  /** Counts restores, by changelog partition. */
  class CountingChangelog extends MemoryChangelog {
    readonly restores: number[] = [];
    override restore(partition: number, choose?: (previous: Buffer, next: Buffer) => Buffer): Promise<Map<string, Buffer>> {
      this.restores.push(partition);
      return super.restore(partition, choose);
    }
  }
  type Login = { event_id: string; user_id: string };
  const login = (offset: number): Envelope<Login> => envelopeOf({ event_id: `l${offset}`, user_id: 'u1' }, { topic: 'logins', partition: 1, offset }, new CountingLease(), 1_000 + offset);
  const velocity = (state: MemoryChangelog, assigned?: Subject<{ topic: string; partition: number }[]>) =>
    fraudVelocity<Login>({ id: 'velocity', key: (v) => v.user_id, severity: 'high', threshold: 3, withinMs: 10_000, state, ...(assigned ? { assigned } : {}) });

  it('are restored at once, before their first record, and the record then sees the restored state', async () => {
    const changelog = new CountingChangelog();
    // A previous life: three logins of u1 on logins:1, checkpointed (three is not above the threshold).
    const before = new Subject<Envelope<Login>>();
    const first: FraudAlert[] = [];
    const sub = before.pipe(velocity(changelog)).subscribe((a) => first.push(a.value));
    for (const offset of [0, 1, 2]) before.next(login(offset));
    await tick();
    changelog.checkpoint();
    sub.unsubscribe();
    expect(first).toEqual([]);
    expect(changelog.restores).toEqual([1]); // lazily, at its first record: no `assigned` given

    const assigned = new Subject<{ topic: string; partition: number }[]>();
    const input = new Subject<Envelope<Login>>();
    const alerts: FraudAlert[] = [];
    input.pipe(velocity(changelog, assigned)).subscribe((a) => alerts.push(a.value));
    assigned.next([{ topic: 'logins', partition: 1 }, { topic: 'logins', partition: 2 }]);
    expect(changelog.restores).toEqual([1, 1, 2]); // at the assignment, no record yet
    await tick();
    input.next(login(3)); // the fourth login within 10 s: an alert only with the three restored
    await tick();
    expect(alerts.map((a) => a.key)).toEqual(['u1']);
    expect(changelog.restores).toEqual([1, 1, 2]); // the record did not restore again
  });
});
