import { Subject, VirtualTimeScheduler } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { OperatorError } from '../../src/core/errors.ts';
import { dedup, type DedupClaim, type DedupOptions, type DedupStore, type DedupVerdict } from '../../src/operators/dedup.ts';
import { sameOrigin, type DedupOrigin } from '../../src/operators/dedup-store.ts';
import type { Envelope, Routed } from '../../src/core/envelope.ts';
import { Metrics } from '../../src/core/metrics.ts';
import { deadLetters, expectAllDone, record, type Counted } from './record-helpers.ts';

interface Call {
  claims: readonly DedupClaim[];
  nowMs: number;
  resolve(verdicts: readonly DedupVerdict[]): void;
  reject(error: unknown): void;
}

/** A store the test answers by hand; `holders` is what a real store would have stored before. */
function manualStore(holders = new Map<string, DedupOrigin>()) {
  const calls: Call[] = [];
  const store: DedupStore = {
    claim(claims, clock) {
      return new Promise((resolve, reject) => calls.push({ claims, nowMs: clock.nowMs, resolve, reject }));
    },
  };
  /** Answers a call the way DynamoDedupStore would, from `holders`. */
  const answer = (call: Call) =>
    call.resolve(
      call.claims.map(({ key, origin }) => {
        const owner = holders.get(key) ?? origin;
        holders.set(key, owner);
        return { duplicate: !sameOrigin(owner, origin), owner };
      }),
    );
  return { store, calls, answer, holders };
}

const ev = (eventId: string, offset: number) => record({ event_id: eventId }, offset);
const tick = () => new Promise<void>((resolve) => setImmediate(resolve));

function run(options: Partial<DedupOptions> & { store: DedupStore }) {
  const { deadLetter } = deadLetters();
  const input = new Subject<Envelope<unknown>>();
  const out: string[] = [];
  const state = { completed: false, error: undefined as unknown };
  const scheduler = new VirtualTimeScheduler();
  const subscription = input
    .pipe(dedup({ id: 'dd', ttlMs: 60_000, maxKeys: 1_000, scheduler, deadLetter, duplicates: 'route', ...options } as DedupOptions & { duplicates: 'route' }))
    .subscribe({
      next: (r: Routed<unknown>) => out.push(`${r.envelope.meta.offset}:${r.output}`),
      complete: () => (state.completed = true),
      error: (error: unknown) => (state.error = error),
    });
  return { input, out, state, subscription };
}

describe('dedup with a store', () => {
  it('batches misses that arrive together, asks only about misses, and keeps input order', async () => {
    const { store, calls, answer } = manualStore(new Map([['b', { topic: 'other', partition: 3, offset: 9 }]]));
    const { input, out, state } = run({ store, storeBatchSize: 2 });
    for (const r of [ev('a', 0), ev('b', 1), ev('a', 2), ev('c', 3)]) input.next(r);
    expect(calls).toHaveLength(0);
    await tick();
    // a, b in one call; c in the next; the second a is answered from memory.
    expect(calls.map((c) => c.claims.map((x) => x.key))).toEqual([['a', 'b'], ['c']]);
    answer(calls[1] as Call);
    await tick();
    expect(out).toEqual([]);
    answer(calls[0] as Call);
    await tick();
    expect(out).toEqual(['0:unique', '1:duplicate', '2:duplicate', '3:unique']);
    input.complete();
    expect(state.completed).toBe(true);
  });

  it('bounds the calls in flight and sends the rest as slots free up', async () => {
    const { store, calls, answer } = manualStore();
    const { input, out } = run({ store, storeBatchSize: 1, storeConcurrency: 2 });
    for (let i = 0; i < 5; i++) input.next(ev(`k${i}`, i));
    await tick();
    expect(calls).toHaveLength(2);
    answer(calls[0] as Call);
    await tick();
    expect(calls).toHaveLength(3);
    for (const call of calls.slice(1)) answer(call);
    await tick();
    for (const call of calls.slice(3)) answer(call);
    await tick();
    answer(calls[4] as Call);
    await tick();
    expect(calls).toHaveLength(5);
    expect(out).toEqual(['0:unique', '1:unique', '2:unique', '3:unique', '4:unique']);
  });

  it('lets a replay of the holding record through and remembers the holder the store names', async () => {
    const holder = { topic: 't', partition: 0, offset: 5 };
    const { store, calls, answer } = manualStore(new Map([['a', holder]]));
    const { input, out } = run({ store });
    input.next(ev('a', 4));
    await tick();
    answer(calls[0] as Call);
    await tick();
    // Memory now says offset 5 holds "a": its replay goes to the store (and passes), others are duplicates at once.
    input.next(ev('a', 5));
    input.next(ev('a', 6));
    await tick();
    expect(calls.map((c) => c.claims.map((x) => x.origin.offset))).toEqual([[4], [5]]);
    answer(calls[1] as Call);
    await tick();
    expect(out).toEqual(['4:duplicate', '5:unique', '6:duplicate']);
  });

  it('errors the stream when the store fails, keeping the leases of unjudged records', async () => {
    const { store, calls, answer } = manualStore();
    const metrics = new Metrics();
    const { input, out, state } = run({ store, metrics, storeBatchSize: 1 });
    const records = [ev('a', 0), ev('b', 1), ev('a', 2)];
    for (const r of records) input.next(r);
    await tick();
    (calls[1] as Call).reject(new Error('throttled'));
    await tick();
    expect(state.error).toBeInstanceOf(OperatorError);
    expect((state.error as OperatorError).message).toBe('step "dd": dedup store failed: throttled');
    expect((state.error as OperatorError).stepId).toBe('dd');
    answer(calls[0] as Call);
    await tick();
    expect(out).toEqual([]);
    expect(records.map((r) => r.lease.refs)).toEqual([1, 1, 1]);
    expect(input.observed).toBe(false);
  });

  it('waits for pending verdicts before completing, and stops emitting once unsubscribed', async () => {
    const { store, calls, answer } = manualStore();
    const first = run({ store });
    first.input.next(ev('a', 0));
    first.input.complete();
    expect(first.state.completed).toBe(false);
    await tick();
    answer(calls[0] as Call);
    await tick();
    expect(first.out).toEqual(['0:unique']);
    expect(first.state.completed).toBe(true);

    const second = run({ store });
    second.input.next(ev('b', 1));
    await tick();
    second.subscription.unsubscribe();
    answer(calls[1] as Call);
    await tick();
    expect(second.out).toEqual([]);
  });

  it('drops duplicates judged by the store, counting them, and moves each lease once', async () => {
    const { store, calls, answer } = manualStore(new Map([['x', { topic: 'other', partition: 0, offset: 0 }]]));
    const metrics = new Metrics();
    const { deadLetter } = deadLetters();
    const records: Counted<unknown>[] = [ev('x', 0), ev('y', 1), ev('y', 2), ev('z', 3)];
    const input = new Subject<Envelope<unknown>>();
    const out: number[] = [];
    input
      .pipe(dedup({ id: 'dd', ttlMs: 60_000, maxKeys: 10, scheduler: new VirtualTimeScheduler(), deadLetter, store, metrics }))
      .subscribe((e) => {
        out.push(e.meta.offset);
        e.lease.release();
      });
    for (const r of records) input.next(r);
    await tick();
    for (const call of calls) answer(call);
    await tick();
    expect(out).toEqual([1, 3]);
    expect(metrics.value('duplicates_total', { step: 'dd' })).toBe(2);
    expectAllDone(records);
  });

  it('asks a store that holds its keys about every record, keeping no memory of its own in front of it', async () => {
    const { store, calls, answer } = manualStore();
    const { input, out } = run({ store: Object.assign(store, { holdsKeys: true }), storeBatchSize: 10 });
    for (const r of [ev('a', 0), ev('a', 1)]) input.next(r);
    await tick();
    // Without a cache the repeat goes to the store as well, which decides it per its own partitions.
    expect(calls.map((c) => c.claims.map((x) => x.key))).toEqual([['a', 'a']]);
    answer(calls[0] as Call);
    await tick();
    expect(out).toEqual(['0:unique', '1:duplicate']);
  });

  it('does not claim a record whose partition was revoked while it waited, and releases it', async () => {
    const { store, calls, answer } = manualStore();
    const { input, out } = run({ store, storeBatchSize: 1, storeConcurrency: 1 });
    let released = 0;
    const lease = { revoked: false, retain() {}, release: () => void released++ };
    const waiting = { ...ev('b', 1), lease };
    input.next(ev('a', 0));
    input.next(waiting);
    await tick();
    expect(calls.map((c) => c.claims.map((x) => x.key))).toEqual([['a']]);
    lease.revoked = true; // the partition goes while b waits for a slot
    answer(calls[0] as Call);
    await tick();
    // b was never sent to the store (which would recreate the partition's claims) and is done here.
    expect(calls.map((c) => c.claims.map((x) => x.key))).toEqual([['a']]);
    expect(out).toEqual(['0:unique']);
    expect(released).toBe(1);
  });

  it('with a store that judges before storing: unique records go on at once, their leases held until the claims are stored', async () => {
    const stored = Promise.withResolvers<void>();
    const store: DedupStore = {
      holdsKeys: true,
      claim: () => Promise.reject(new Error('judge is used instead')),
      judge: async (claims) => ({ verdicts: claims.map((c, i) => ({ duplicate: i > 0 && c.key === claims[0]?.key })), durable: stored.promise }),
    };
    const records = [ev('a', 0), ev('a', 1), ev('b', 2)];
    const { input, out, state } = run({ store, storeBatchSize: 10 });
    for (const r of records) input.next(r);
    input.complete();
    await tick();
    // Out before the claims are stored, in order; the duplicate needs no hold (its holder has one).
    expect(out).toEqual(['0:unique', '1:duplicate', '2:unique']);
    for (const r of records) r.lease.release(); // what the sinks would do
    expect(records.map((r) => r.lease.done)).toEqual([false, true, false]);
    // Completion waits for the claims too: a failure to store them must still reach the pipeline.
    expect(state.completed).toBe(false);
    stored.resolve();
    await tick();
    expect(records.map((r) => r.lease.done)).toEqual([true, true, true]);
    expect(state.completed).toBe(true);
  });

  it('fails when the claims cannot be stored, and keeps the records held so that nothing past them is committed', async () => {
    const stored = Promise.withResolvers<void>();
    const store: DedupStore = { holdsKeys: true, claim: () => Promise.reject(new Error('unused')), judge: async (claims) => ({ verdicts: claims.map(() => ({ duplicate: false })), durable: stored.promise }) };
    const records = [ev('a', 0), ev('b', 1)];
    const { input, out, state } = run({ store });
    for (const r of records) input.next(r);
    await tick();
    expect(out).toEqual(['0:unique', '1:unique']);
    for (const r of records) r.lease.release();
    stored.reject(new Error('changelog write refused'));
    await tick();
    expect(state.error).toBeInstanceOf(OperatorError);
    expect(String((state.error as Error).message)).toMatch(/changelog write refused/);
    expect(records.map((r) => r.lease.done)).toEqual([false, false]);
  });
});

