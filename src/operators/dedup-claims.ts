import type { LRUCache } from 'lru-cache';
import type { SchedulerLike } from 'rxjs';
import type { Envelope } from '../core/envelope.ts';
import type { DedupClaim, DedupOrigin, DedupStore, DedupVerdict } from './dedup-store.ts';

/** A record waiting for its verdict; it is its own claim (its origin is its metadata). */
interface Slot<T> extends DedupClaim {
  readonly envelope: Envelope<T>;
  /** `true` unique, `false` duplicate, `undefined` waiting for the store, `revoked` never asked. */
  verdict: boolean | 'revoked' | undefined;
}

export interface ClaimsContext<T> {
  readonly storeConcurrency: number;
  readonly storeBatchSize: number;
  readonly ttlMs: number;
  readonly scheduler: SchedulerLike;
  readonly emit: (envelope: Envelope<T>, duplicate: boolean) => void;
  /** The operator's memory of keys, if it keeps one (not in front of a store that `holdsKeys`). */
  readonly seen: LRUCache<string, DedupOrigin> | undefined;
  readonly fail: (error: unknown) => void;
}

/**
 * The store path of `dedup`, kept apart from the operator the way RxJS keeps `scanInternals`.
 * Records in input order, each judged at once (from memory) or by the store; emits from the head
 * as verdicts arrive. Misses that arrive in one synchronous burst (a fetched Kafka batch) are
 * batched on the next microtask; at most `storeConcurrency` claims are in flight.
 */
export class OrderedClaims<T> {
  readonly #store: DedupStore;
  readonly #context: ClaimsContext<T>;
  #queue: Slot<T>[] = [];
  #head = 0;
  #misses: Slot<T>[] = [];
  #inFlight = 0;
  /** Calls judged whose claims are still being stored. */
  #storing = 0;
  #flushQueued = false;
  #closed = false;
  #onIdle: (() => void) | undefined;

  constructor(store: DedupStore, context: ClaimsContext<T>) {
    this.#store = store;
    this.#context = context;
  }

  add(envelope: Envelope<T>, key: string, verdict: boolean | undefined): void {
    if (verdict !== undefined && this.#head === this.#queue.length) return this.#context.emit(envelope, !verdict);
    const slot: Slot<T> = { envelope, key, origin: envelope.meta, verdict };
    this.#queue.push(slot);
    if (verdict !== undefined) return;
    this.#misses.push(slot);
    if (!this.#flushQueued) {
      this.#flushQueued = true;
      queueMicrotask(() => {
        this.#flushQueued = false;
        this.#flush();
      });
    }
  }

  /** Calls `done` once every record has been emitted (at once if none is waiting). */
  whenIdle(done: () => void): void {
    this.#onIdle = done;
    this.#checkIdle();
  }

  close(): void {
    this.#closed = true;
  }

  #flush(): void {
    const { storeConcurrency, storeBatchSize, ttlMs, scheduler } = this.#context;
    while (!this.#closed && this.#misses.length > 0 && this.#inFlight < storeConcurrency) {
      // A record of a partition revoked while it waited is not claimed: a claim would recreate the
      // partition's claims in the store from a changelog its new owner is already writing to.
      const batch = this.#misses.splice(0, storeBatchSize).filter((slot) => {
        if (slot.envelope.lease.revoked !== true) return true;
        slot.verdict = 'revoked';
        return false;
      });
      if (batch.length === 0) {
        this.#drain();
        this.#checkIdle();
        continue;
      }
      this.#inFlight += 1;
      const clock = { nowMs: scheduler.now(), ttlMs };
      const judged = this.#store.judge?.(batch, clock) ?? this.#store.claim(batch, clock).then((verdicts) => ({ verdicts, durable: undefined }));
      judged.then(
        ({ verdicts, durable }) => this.#settle(batch, verdicts, durable),
        (error: unknown) => {
          this.#inFlight -= 1;
          if (!this.#closed) this.#context.fail(error);
        },
      );
    }
  }

  /**
   * Takes a call's verdicts. With `durable` (the store judged before storing), the unique records go
   * on at once holding one more lease reference each, released when the claims are stored: their
   * offsets are not committed before. Duplicates need none: their holder, earlier in the same
   * partition, holds the commit back.
   */
  #settle(batch: readonly Slot<T>[], verdicts: readonly DedupVerdict[], durable: Promise<void> | undefined): void {
    this.#inFlight -= 1;
    if (this.#closed) return;
    if (verdicts.length !== batch.length) return this.#context.fail(new Error(`store answered ${verdicts.length} verdicts for ${batch.length} claims`));
    const held: Slot<T>[] = [];
    batch.forEach((slot, i) => {
      const verdict = verdicts[i] as DedupVerdict;
      slot.verdict = !verdict.duplicate;
      if (durable !== undefined && slot.verdict) {
        slot.envelope.lease.retain();
        held.push(slot);
      }
      // The store knows who holds the key: remember that holder rather than our tentative claim.
      const { topic, partition, offset } = slot.origin;
      this.#context.seen?.set(slot.key, verdict.owner ?? { topic, partition, offset });
    });
    if (durable !== undefined) {
      this.#storing += 1;
      durable.then(
        () => {
          this.#storing -= 1;
          for (const slot of held) slot.envelope.lease.release();
          this.#checkIdle();
        },
        (error: unknown) => {
          // The leases stay held: nothing past these records is committed. The pipeline fails.
          this.#storing -= 1;
          if (!this.#closed) this.#context.fail(error);
        },
      );
    }
    this.#drain();
    this.#flush();
    this.#checkIdle();
  }

  #drain(): void {
    const queue = this.#queue;
    while (!this.#closed && this.#head < queue.length) {
      const slot = queue[this.#head] as Slot<T>;
      if (slot.verdict === undefined) break;
      this.#head += 1;
      // Revoked while it waited: done here, its new owner reads it again from the last commit.
      if (slot.verdict === 'revoked' || slot.envelope.lease.revoked === true) slot.envelope.lease.release();
      else this.#context.emit(slot.envelope, !slot.verdict);
    }
    if (this.#head === queue.length) {
      this.#queue = [];
      this.#head = 0;
    } else if (this.#head > 1024 && this.#head * 2 > queue.length) {
      this.#queue = queue.slice(this.#head);
      this.#head = 0;
    }
  }

  #checkIdle(): void {
    const done = this.#onIdle;
    if (done === undefined || this.#closed || this.#head !== this.#queue.length || this.#inFlight !== 0 || this.#storing !== 0) return;
    this.#onIdle = undefined;
    done();
  }
}
