import { Subject } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { describe, expect, it } from 'vitest';
import { CountingLease, NOOP_LEASE } from '../../src/core/envelope.ts';
import type { Envelope, Lease, Routed } from '../../src/core/envelope.ts';
import { hopping, session, tumbling } from '../../src/operators/window.ts';
import { countPerMinute, Events } from './window-fixtures.ts';
import type { Ev } from './window-fixtures.ts';

const op = countPerMinute;

/** Runs envelopes through an operator synchronously, collecting what it emits. */
function drive(operator: ReturnType<typeof op>, envelopes: Envelope<Ev>[]): Routed<unknown>[] {
  const out: Routed<unknown>[] = [];
  const input = new Subject<Envelope<Ev>>();
  input.pipe(operator).subscribe((r) => out.push(r));
  for (const envelope of envelopes) input.next(envelope);
  input.complete();
  return out;
}

const finals = (out: Routed<unknown>[]) => out.filter((r) => r.output === 'results' && (r.envelope.value as { final: boolean }).final);

describe('window: leases', () => {
  it('retains a hopping event once per extra window and frees it with the last final result', () => {
    const e = new Events();
    const out = drive(op(e, { window: hopping({ sizeMs: 60_000, advanceMs: 20_000 }) }), [e.ev('a', 'g', 50_000)]);
    const results = finals(out);
    expect(results.map((r) => (r.envelope.value as { window_start: number }).window_start)).toEqual([0, 20_000, 40_000]);
    const a = e.lease('a');
    expect(a.refs).toBe(3);
    for (const [i, r] of results.entries()) {
      r.envelope.lease.release();
      expect(a.refs).toBe(2 - i);
    }
    expect(a.done).toBe(true);
  });

  it('holds one lease per partition per window and releases later ones of the same partition at once', () => {
    const e = new Events();
    const input = [e.ev('a', 'g', 1000), e.ev('b', 'g', 2000), e.ev('c', 'g', 3000, { partition: 1 })];
    const out = drive(op(e), input);
    expect(e.lease('b').done).toBe(true); // partition 0 is held by a, the lower offset
    expect(e.lease('a').done).toBe(false);
    expect(e.lease('c').done).toBe(false);
    const [result] = finals(out);
    result?.envelope.lease.release();
    expect(e.lease('a').done).toBe(true);
    expect(e.lease('c').done).toBe(true);
  });

  it("gives 'update' results NOOP_LEASE and the final one the events' leases", () => {
    const e = new Events();
    const out = drive(op(e, { emit: 'update' }), [e.ev('a', 'g', 1000), e.ev('b', 'g', 2000, { partition: 1 })]);
    const updates = out.filter((r) => !(r.envelope.value as { final: boolean }).final);
    expect(updates).toHaveLength(2);
    for (const u of updates) expect(u.envelope.lease).toBe(NOOP_LEASE);
    expect(e.lease('a').done || e.lease('b').done).toBe(false);
    finals(out)[0]?.envelope.lease.release();
    expect(e.lease('a').done && e.lease('b').done).toBe(true);
  });

  it('keeps the leases of both sessions when an event merges them', () => {
    const e = new Events();
    const input = [e.ev('a', 'g', 0), e.ev('b', 'g', 18_000, { partition: 1 }), e.ev('c', 'g', 9000)];
    const out = drive(op(e, { window: session({ gapMs: 10_000 }) }), input);
    const results = finals(out);
    expect(results).toHaveLength(1);
    expect(e.lease('a').done || e.lease('b').done).toBe(false);
    results[0]?.envelope.lease.release();
    expect([e.lease('a').done, e.lease('b').done, e.lease('c').done]).toEqual([true, true, true]);
  });

  it('keeps leases held while a window is open in virtual time, until its result is released', () => {
    const e = new Events();
    const leases: Lease[] = [];
    new TestScheduler((a, b) => expect(a).toEqual(b)).run(({ cold, flush }) => {
      cold('a 99ms b', { a: e.ev('a', 'g', 1000), b: e.ev('b', 'g', 61_000) })
        .pipe(op(e))
        .subscribe((r) => leases.push(r.envelope.lease));
      flush();
    });
    expect(leases).toHaveLength(1);
    expect(e.lease('a').done).toBe(false);
    leases[0]?.release();
    expect(e.lease('a').done).toBe(true);
    expect(e.lease('b').done).toBe(false); // its window is still open (the source never completed)
  });

  it('never lets a partition commit pass an event whose window result is unreleased; all done at the end', () => {
    // Deterministic pseudo-random traffic: 3 partitions, 5 keys, jittered event times, some late.
    let seed = 42;
    const random = () => ((seed = (Math.imul(seed, 1_103_515_245) + 12_345) >>> 0) / 2 ** 32);
    const size = 1000;
    const e = new Events();
    const byPartition = new Map<number, { offset: number; lease: CountingLease }[]>();
    const members = new Map<string, Map<number, number>>(); // window -> partition -> lowest offset in it
    const pending: Routed<unknown>[] = [];
    const input = new Subject<Envelope<Ev>>();
    const out: Routed<unknown>[] = [];
    input.pipe(op(e, { window: tumbling({ sizeMs: size }), maxOutOfOrdernessMs: 200, graceMs: 100 })).subscribe((r) => out.push(r));

    const committed = new Map<number, number>(); // partition -> index of its first unreleased lease
    const commitPoint = (partition: number) => {
      const list = byPartition.get(partition) ?? [];
      let i = committed.get(partition) ?? 0;
      while (i < list.length && (list[i] as { lease: CountingLease }).lease.done) i++;
      committed.set(partition, i);
      return list[i]?.offset ?? Infinity;
    };
    const checkCommits = () => {
      for (const [window, lowest] of members)
        for (const [partition, offset] of lowest) {
          const point = commitPoint(partition);
          if (point > offset) expect.fail(`${window}: partition ${partition} would commit past offset ${offset} (to ${point})`);
        }
    };

    let late = 0;
    for (let i = 0; i < 3000; i++) {
      const partition = i % 3;
      const t = 10_000 + i * 7 + Math.floor((random() - 0.5) * 1200);
      const envelope = e.ev(`e${i}`, `k${Math.floor(random() * 5)}`, t, { partition });
      const list = byPartition.get(partition) ?? [];
      list.push({ offset: envelope.meta.offset, lease: e.lease(`e${i}`) });
      byPartition.set(partition, list);
      input.next(envelope);
      let isLate = false;
      for (const r of out.splice(0)) {
        if (r.output === 'late') {
          isLate = true;
          late++;
          r.envelope.lease.release(); // a sink took it
        } else pending.push(r);
      }
      if (!isLate) {
        const window = `${envelope.value.key}@${t - (t % size)}`;
        const lowest = members.get(window) ?? new Map<number, number>();
        if (!lowest.has(partition)) lowest.set(partition, envelope.meta.offset);
        members.set(window, lowest);
      }
      // A slow sink: release the oldest results now and then.
      while (pending.length > 0 && random() < 0.3) {
        const r = pending.shift() as Routed<unknown>;
        const value = r.envelope.value as { key: string; window_start: number };
        members.delete(`${value.key}@${value.window_start}`);
        r.envelope.lease.release();
      }
      checkCommits();
    }
    input.complete();
    pending.push(...out.splice(0));
    checkCommits();
    for (const r of pending) r.envelope.lease.release();
    expect(late).toBeGreaterThan(0);
    expect([...e.leases.values()].filter((l) => !l.done)).toHaveLength(0);
  });

  it('refused and dead-lettered events are left to the dead letter', () => {
    const e = new Events();
    drive(op(e, { maxOpenWindows: 1 }), [e.ev('a', 'g', 1000), e.ev('b', 'h', 1000)]);
    expect(e.dead.map((d) => d.envelope.lease)).toEqual([e.lease('b')]);
    expect(e.lease('b').refs).toBe(1);
  });
});
