import { asyncScheduler, from, Subject } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { ConfigError, ValidationError } from '../../src/core/errors.ts';
import { dedup, type DedupOptions } from '../../src/operators/dedup.ts';
import type { Envelope } from '../../src/core/envelope.ts';
import { Metrics } from '../../src/core/metrics.ts';
import { deadLetters, expectAllDone, record, testScheduler, type Counted } from './record-helpers.ts';

const ev = (eventId: string | undefined, offset: number) => record({ event_id: eventId, n: offset }, offset);

describe('dedup (in memory)', () => {
  it('drops repeats of a key within the TTL and counts them', () => {
    const { deadLetter } = deadLetters();
    const metrics = new Metrics();
    const [a, b, a2, c, b2] = [ev('a', 1), ev('b', 2), ev('a', 3), ev('c', 4), ev('b', 5)] as Counted<unknown>[];
    const ts = testScheduler();
    ts.run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold('a-b-A-c-B-|', { a, b, A: a2, c, B: b2 });
      expectObservable(source.pipe(dedup({ id: 'dd', ttlMs: 1_000, maxKeys: 100, scheduler: ts, deadLetter, metrics }))).toBe('a-b---c---|', { a, b, c });
      expectSubscriptions(source.subscriptions).toBe('^---------!');
    });
    expect([a2?.lease.refs, b2?.lease.refs]).toEqual([0, 0]);
    expect(metrics.value('duplicates_total', { step: 'dd' })).toBe(2);
  });

  it('forgets a key after ttlMs of virtual time (a repeat exactly ttlMs later is still a duplicate)', () => {
    const { deadLetter } = deadLetters();
    const [a, a10, a21, a22] = [ev('a', 1), ev('a', 2), ev('a', 3), ev('a', 4)];
    const ts = testScheduler();
    ts.run(({ cold, expectObservable }) => {
      const source = cold('a 9ms b 10ms c d|', { a, b: a10, c: a21, d: a22 });
      // a at 0; b at 10 (age 10: remembered); c at 21 (age 21: forgotten, a new first); d at 22 (a repeat of c).
      expectObservable(source.pipe(dedup({ id: 'dd', ttlMs: 10, maxKeys: 100, scheduler: ts, deadLetter }))).toBe('a 9ms - 10ms c -|', { a, c: a21 });
    });
  });

  it('forgets the least recently seen keys beyond maxKeys', () => {
    const { deadLetter } = deadLetters();
    const out: number[] = [];
    const records = [ev('a', 0), ev('b', 1), ev('c', 2), ev('a', 3), ev('b', 4), ev('c', 5)];
    const ts = testScheduler();
    from(records)
      .pipe(dedup({ id: 'dd', ttlMs: 1_000, maxKeys: 2, scheduler: ts, deadLetter }))
      .subscribe((e) => {
        out.push(e.meta.offset);
        e.lease.release();
      });
    // c evicts a; a (3) is new again and evicts b; b (4) is new and evicts c; c (5) is new.
    expect(out).toEqual([0, 1, 2, 3, 4, 5]);
    const keep: number[] = [];
    from([ev('a', 0), ev('b', 1), ev('a', 2), ev('c', 3), ev('a', 4)])
      .pipe(dedup({ id: 'dd', ttlMs: 1_000, maxKeys: 2, scheduler: ts, deadLetter }))
      .subscribe((e) => keep.push(e.meta.offset));
    // Seeing a again (2) makes b the least recent, so c evicts b and a stays remembered.
    expect(keep).toEqual([0, 1, 3]);
    expectAllDone(records);
  });

  it("routes duplicates to output 'duplicate' when asked", () => {
    const { deadLetter } = deadLetters();
    const [a, a2, b] = [ev('a', 1), ev('a', 2), ev('b', 3)];
    const ts = testScheduler();
    ts.run(({ cold, expectObservable }) => {
      const source = cold('a-A-b|', { a, A: a2, b });
      expectObservable(source.pipe(dedup({ id: 'dd', ttlMs: 1_000, maxKeys: 100, scheduler: ts, deadLetter, duplicates: 'route' }))).toBe('a-A-b|', {
        a: { output: 'unique', envelope: a },
        A: { output: 'duplicate', envelope: a2 },
        b: { output: 'unique', envelope: b },
      });
    });
    expect(a2.lease.refs).toBe(1);
  });

  it('never takes a record read again (same topic, partition, offset) for its own duplicate', () => {
    const { deadLetter } = deadLetters();
    const out: number[] = [];
    const ts = testScheduler();
    const records = [ev('a', 7), ev('a', 7), record({ event_id: 'a' }, 7, { partition: 1 })];
    from(records)
      .pipe(dedup({ id: 'dd', ttlMs: 1_000, maxKeys: 100, scheduler: ts, deadLetter }))
      .subscribe((e) => out.push(e.meta.partition));
    expect(out).toEqual([0, 0]);
  });

  it('dead-letters records without a key, naming the key expression', () => {
    const { deadLetter, letters } = deadLetters();
    const ts = testScheduler();
    const records = [ev(undefined, 1), record({ game_id: 'g', event_id: '' }, 2), record({ game_id: 'g', event_id: 'e' }, 3)];
    const out: number[] = [];
    from(records)
      .pipe(dedup({ id: 'dd', key: ['game_id', 'event_id'], ttlMs: 1_000, maxKeys: 100, scheduler: ts, deadLetter }))
      .subscribe((e) => {
        out.push(e.meta.offset);
        e.lease.release();
      });
    expect(out).toEqual([3]);
    expect(letters.map((l) => l.error.message)).toEqual([
      'key ["game_id","event_id"] yields no value: cannot deduplicate',
      'key ["game_id","event_id"] yields no value: cannot deduplicate',
    ]);
    expect(letters[0]?.error).toBeInstanceOf(ValidationError);
    expect(letters[0]?.stepId).toBe('dd');
    expectAllDone(records);
  });

  it('propagates errors and completion; unsubscribing unsubscribes', () => {
    const { deadLetter } = deadLetters();
    const a = ev('a', 1);
    const ts = testScheduler();
    ts.run(({ cold, hot, expectObservable, expectSubscriptions }) => {
      const options: DedupOptions = { id: 'dd', ttlMs: 1_000, maxKeys: 100, scheduler: ts, deadLetter };
      expectObservable(cold('a-b-#', { a, b: ev('a', 2) }).pipe(dedup(options))).toBe('a---#', { a });
      expectObservable(cold<Envelope<unknown>>('|').pipe(dedup(options))).toBe('|');
      const endless = hot('a-b-c', { a: ev('a', 1), b: ev('b', 2), c: ev('c', 3) });
      expectObservable(endless.pipe(dedup(options)), '^--!').toBe('a-b', { a: ev('a', 1), b: ev('b', 2) });
      expectSubscriptions(endless.subscriptions).toBe('^--!');
    });
  });

  it('keeps a fresh memory per subscription', () => {
    const { deadLetter } = deadLetters();
    const ts = testScheduler();
    const op = dedup({ id: 'dd', ttlMs: 1_000, maxKeys: 100, scheduler: ts, deadLetter });
    const out: number[] = [];
    from([ev('a', 1)]).pipe(op).subscribe((e) => out.push(e.meta.offset));
    from([ev('a', 2)]).pipe(op).subscribe((e) => out.push(e.meta.offset));
    expect(out).toEqual([1, 2]);
  });

  it('moves every lease exactly once, dropping or routing', () => {
    const { deadLetter } = deadLetters();
    const ts = testScheduler();
    for (const duplicates of ['drop', 'route'] as const) {
      const records = [ev('a', 0), ev('a', 1), ev(undefined, 2), ev('b', 3), ev('b', 4), ev('a', 5)];
      const op = dedup<unknown>({ id: 'dd', ttlMs: 1_000, maxKeys: 100, scheduler: ts, deadLetter, duplicates });
      from(records).pipe(op).subscribe((out) => ('output' in out ? out.envelope : out).lease.release());
      expectAllDone(records);
    }
  });

  it.each([
    [{ ttlMs: 0 }, /option "ttlMs" must be > 0/],
    [{ maxKeys: 1.5 }, /option "maxKeys"/],
    [{ duplicates: 'keep' }, /option "duplicates"/],
    [{ key: 'a ==' }, /step "dd": key: unexpected end/],
    [{ storeConcurrency: 0 }, /option "storeConcurrency"/],
    [{ scheduler: undefined }, /option "scheduler"/],
  ])('refuses %j with a ConfigError naming the step', (override, message) => {
    const { deadLetter } = deadLetters();
    const build = () => dedup({ id: 'dd', ttlMs: 1_000, maxKeys: 100, scheduler: testScheduler(), deadLetter, ...(override as object) } as DedupOptions);
    expect(build).toThrow(ConfigError);
    expect(build).toThrow(message);
  });
});

describe('dedup: a record whose partition was revoked while it was in flight', () => {
  it('is released unclaimed and not passed on (its new owner reads it again)', () => {
    let gone = false;
    const lease = { released: 0, retain() {}, release() { this.released++; }, get revoked() { return gone; } };
    const out: unknown[] = [];
    const input = new Subject<Envelope<unknown>>();
    input.pipe(dedup({ id: 'd', key: ['event_id'], ttlMs: 60_000, maxKeys: 100, scheduler: asyncScheduler, deadLetter: () => {} })).subscribe((e) => out.push(e));
    input.next({ value: { event_id: 'a' }, meta: { topic: 't', partition: 0, offset: 0, timestamp: 0, key: null, headers: {} }, lease });
    gone = true;
    input.next({ value: { event_id: 'b' }, meta: { topic: 't', partition: 0, offset: 1, timestamp: 0, key: null, headers: {} }, lease });
    expect(out).toHaveLength(1);
    expect(lease.released).toBe(1);
  });
});
