import { BehaviorSubject, Subject, asyncScheduler } from 'rxjs';
import type { TopicPartition } from '../../src/core/partition.ts';
import { describe, expect, it } from 'vitest';
import { WATERMARK_HEADER } from '../../src/core/state.ts';
import { count, distinct, eventTimeFromField, sum, tumbling, window, type WindowOptions } from '../../src/operators/window.ts';
import type { Aggregator } from '../../src/operators/aggregators.ts';
import { CountingLease, envelopeOf, type Envelope, type Lease, type Routed } from '../../src/core/envelope.ts';
import { MemoryChangelog } from '../support/memory-changelog.ts';

interface Ev {
  readonly id: string;
  readonly game: string;
  readonly user: string;
  readonly t: number;
  readonly amount: number;
}

const MINUTE = 60_000;

/** A seeded stream of one partition: games by minute, a little disorder, a few clearly late events, then a tick. */
function stream(seed: number, n = 600): Ev[] {
  let s = seed;
  const rand = () => ((s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  const events: Ev[] = [];
  for (let i = 0; i < n; i++) {
    const late = rand() < 0.02 && i > 100;
    const t = late ? i * 1000 - 10 * MINUTE : i * 1000 + Math.floor(rand() * 4000) - 2000;
    events.push({ id: `e${i}`, game: `g${Math.floor(rand() * 5)}`, user: `u${Math.floor(rand() * 40)}`, t, amount: Math.floor(rand() * 10) });
  }
  events.push({ id: 'tick', game: 'tick', user: 'x', t: (n + 30) * 1000 + 5 * MINUTE, amount: 0 });
  return events;
}

interface Incarnation {
  readonly input: Subject<Envelope<Ev>>;
  /** Output leases not yet acknowledged (a sink's buffer): lost in a crash. */
  readonly unacked: Lease[];
  stop(): void;
}

interface Observed {
  /** Every result emitted, acknowledged or not. */
  readonly results: Map<string, Record<string, unknown>[]>;
  /** Results a sink acknowledged (what a table would hold). */
  readonly stored: Set<string>;
  /** Late events a sink acknowledged. */
  readonly late: string[];
}

function start(changelog: MemoryChangelog | undefined, observed: Observed): Incarnation {
  const input = new Subject<Envelope<Ev>>();
  const assigned = new BehaviorSubject<readonly TopicPartition[]>([{ topic: 'rep', partition: 0 }]);
  const unacked: Lease[] = [];
  const sub = input
    .pipe(
      window<Ev, Record<string, Aggregator<Ev>>>({
        id: 'w',
        window: tumbling({ sizeMs: MINUTE }),
        key: (e) => e.game,
        eventTime: eventTimeFromField((e: Ev) => e.t),
        aggregators: { events: count(), users: distinct((e: Ev) => e.user), revenue: sum((e: Ev) => e.amount) },
        maxOutOfOrdernessMs: 5000,
        graceMs: 10_000,
        deadLetter: () => {
          throw new Error('no dead letters expected');
        },
        scheduler: asyncScheduler,
        flushOnComplete: false,
        ...(changelog ? { state: changelog, partitions: assigned } : {}),
      }),
    )
    .subscribe((routed: Routed<unknown>) => {
      const lease = routed.envelope.lease;
      if (routed.output === 'late') {
        const id = (routed.envelope.value as Ev).id;
        unacked.push({ retain: () => {}, release: () => (observed.late.push(id), lease.release()) });
      } else {
        const value = routed.envelope.value as Record<string, unknown>;
        const key = `${String(value.key)}@${String(value.window_start)}`;
        observed.results.set(key, [...(observed.results.get(key) ?? []), value]);
        unacked.push({ retain: () => {}, release: () => (observed.stored.add(key), lease.release()) });
      }
    });
  return { input, unacked, stop: () => sub.unsubscribe() };
}

const tick = () => new Promise((resolve) => setTimeout(resolve, 0));

/** The envelope as read from a repartition topic, its upstream record at `origin` (`topic:partition:offset`). */
function from<T>(origin: string, envelope: Envelope<T>): Envelope<T> {
  const [topic, partition, offset] = origin.split(':') as [string, string, string];
  return { ...envelope, origin: { topic, partition: Number(partition), key: `${topic}:${partition}`, offset: Number(offset) } };
}

function envelopes(events: readonly Ev[], origin?: (i: number) => string): { envelope: Envelope<Ev>; lease: CountingLease }[] {
  return events.map((value, offset) => {
    const lease = new CountingLease();
    const envelope = envelopeOf(value, { topic: 'rep', partition: 0, offset }, lease);
    return { envelope: origin === undefined ? envelope : from(origin(offset), envelope), lease };
  });
}

/** The offset a runtime would commit: the first record not done. */
function commitPoint(leases: readonly CountingLease[], read: number): number {
  for (let i = 0; i < read; i++) if (!(leases[i] as CountingLease).done) return i;
  return read;
}

async function reference(events: readonly Ev[]): Promise<Observed> {
  const observed: Observed = { results: new Map(), stored: new Set(), late: [] };
  const run = start(new MemoryChangelog(), observed);
  for (const { envelope } of envelopes(events)) run.input.next(envelope);
  await tick();
  run.unacked.splice(0).forEach((l) => l.release());
  return observed;
}

/** A durable per-game minute count over a repartition topic, collecting its results. */
function countingGames(extra: Partial<WindowOptions<Ev>>): { input: Subject<Envelope<Ev>>; starts: () => number[]; results: unknown[]; stop: () => void } {
  const results: unknown[] = [];
  const input = new Subject<Envelope<Ev>>();
  const sub = input
    .pipe(
      window<Ev, Record<string, Aggregator<Ev>>>({
        id: 'w',
        window: tumbling({ sizeMs: MINUTE }),
        key: (e) => e.game,
        eventTime: eventTimeFromField((e: Ev) => e.t),
        aggregators: { events: count() },
        deadLetter: () => {},
        state: new MemoryChangelog(),
        ...extra,
      }),
    )
    .subscribe((routed) => results.push(routed.envelope.value));
  return { input, results, starts: () => results.map((r) => (r as { window_start: number }).window_start), stop: () => sub.unsubscribe() };
}

describe('window with durable state: crashes and replays', () => {
  it.each([1, 2, 3, 4, 5, 6, 7, 8])('seed %i: results after kills at random points equal a run without any', async (seed) => {
    const events = stream(seed);
    const expected = await reference(events);
    expect(expected.results.size).toBeGreaterThan(20);
    expect(expected.late.length).toBeGreaterThan(0);

    const changelog = new MemoryChangelog();
    const observed: Observed = { results: new Map(), stored: new Set(), late: [] };
    let s = seed * 7919;
    const rand = () => ((s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const leases: CountingLease[] = [];
    let committed = 0;
    let read = 0;
    for (let kill = 0; kill <= 6; kill++) {
      const run = start(changelog, observed);
      const records = envelopes(events);
      const stopAt = kill === 6 ? events.length : Math.min(events.length, committed + Math.floor(rand() * 250) + 20);
      for (let offset = committed; offset < stopAt; offset++) {
        const { envelope, lease } = records[offset] as { envelope: Envelope<Ev>; lease: CountingLease };
        leases[offset] = lease;
        run.input.next(envelope);
        read = offset + 1;
        if (offset % 10 === 0) await tick(); // restores resolve
        if (rand() < 0.05) {
          // A checkpoint: a slow sink acknowledged part of what it holds, the state is written, offsets committed.
          run.unacked.splice(0, Math.floor(rand() * run.unacked.length)).forEach((l) => l.release());
          changelog.checkpoint();
          committed = commitPoint(leases, read);
        }
      }
      await tick();
      if (kill === 6) {
        run.unacked.splice(0).forEach((l) => l.release());
        changelog.checkpoint();
        committed = commitPoint(leases, read);
      }
      run.stop(); // kill -9: unacknowledged outputs and unsnapshotted state are lost
    }
    expect(committed).toBe(events.length);
    // Every result ever emitted is the complete one (a sink overwriting it never stores a partial count).
    for (const [key, values] of observed.results) for (const value of values) expect(value, key).toEqual(expected.results.get(key)?.[0]);
    expect([...expected.stored].filter((k) => !observed.stored.has(k))).toEqual([]);
    expect([...observed.stored].sort()).toEqual([...expected.stored].sort());
    expect(new Set(observed.late)).toEqual(new Set(expected.late));
  });

  it('applies a record repartitioned twice (same origin offset) once', async () => {
    const events = stream(11, 200);
    const doubled = [...events.slice(0, 120), ...events.slice(80, 120), ...events.slice(120)];
    const origins = [...Array.from({ length: 120 }, (_, i) => i), ...Array.from({ length: 40 }, (_, i) => 80 + i), ...Array.from({ length: events.length - 120 }, (_, i) => 120 + i)];
    const observed: Observed = { results: new Map(), stored: new Set(), late: [] };
    const run = start(new MemoryChangelog(), observed);
    for (const { envelope } of envelopes(doubled, (i) => `up:3:${origins[i] as number}`)) run.input.next(envelope);
    await tick();
    const expected = await reference(events);
    expect(observed.results).toEqual(expected.results);
  });

  it('releases records once their state is in the changelog, not when their window closes', async () => {
    const changelog = new MemoryChangelog();
    const run = start(changelog, { results: new Map(), stored: new Set(), late: [] });
    const records = envelopes(stream(3, 30).slice(0, 30));
    for (const { envelope } of records) run.input.next(envelope);
    await tick();
    // One lease per partition stands for all (the commit cannot pass the first), none waits for a window.
    expect(commitPoint(records.map((r) => r.lease), records.length)).toBe(0);
    changelog.checkpoint();
    expect(records.every(({ lease }) => lease.done)).toBe(true);
    run.stop();
  });

  it('waits for every upstream partition, which watermark markers move even when it sends no records', async () => {
    const { input, results, starts, stop } = countingGames({ origins: [{ topic: 'up', partition: 0 }, { topic: 'up', partition: 1 }] });
    let offset = 0;
    for (let i = 0; i < 200; i++) {
      input.next(from(`up:0:${i}`, envelopeOf({ id: `e${i}`, game: 'g', user: 'u', t: i * 1000, amount: 0 }, { topic: 'rep', partition: 0, offset: offset++ }, new CountingLease())));
    }
    await tick();
    expect(results).toEqual([]); // up:1 has said nothing: the watermark waits
    input.next(envelopeOf(null as unknown as Ev, { topic: 'rep', partition: 0, offset: offset++, headers: { [WATERMARK_HEADER]: 'up:1:150000' } }, new CountingLease()));
    expect(starts()).toEqual([0, 60_000]);
    stop();
  });

  it('a paused repartition partition does not freeze the watermark (only upstream partitions are clocks)', async () => {
    const flow = new Subject<{ paused: boolean; partitions: readonly TopicPartition[] }>();
    const { input, starts, stop } = countingGames({ origins: [{ topic: 'up', partition: 0 }], flow });
    input.next(from('up:0:0', envelopeOf({ id: 'e0', game: 'g', user: 'u', t: 0, amount: 0 }, { topic: 'rep', partition: 0, offset: 0 }, new CountingLease())));
    await tick();
    flow.next({ paused: true, partitions: [{ topic: 'rep', partition: 0 }, { topic: 'up', partition: 0 }] }); // backpressure
    flow.next({ paused: false, partitions: [{ topic: 'rep', partition: 0 }, { topic: 'up', partition: 0 }] });
    for (let i = 1; i < 4; i++) {
      input.next(from(`up:0:${i}`, envelopeOf({ id: `e${i}`, game: 'g', user: 'u', t: i * MINUTE, amount: 0 }, { topic: 'rep', partition: 0, offset: i }, new CountingLease())));
    }
    expect(starts()).toEqual([0, MINUTE, 2 * MINUTE]);
    stop();
  });
});
