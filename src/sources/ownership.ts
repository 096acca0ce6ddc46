/**
 * Which partitions this member owns, and commits that cannot land after a new owner's.
 *
 * The group coordinator accepts an offset commit only under the member's current generation (classic
 * protocol) or member epoch (KIP-848), and a partition has one owner per generation. So a commit
 * sent under the generation in which the member owned the partition either lands while the member
 * still owns it, or is refused (ILLEGAL_GENERATION, STALE_MEMBER_EPOCH, ...): it can never land after
 * the next owner's commits. A source therefore commits only partitions it owns at the moment it
 * captures the generation, and never a partition after its revocation.
 */
import { partitionKey, type CommitOffset, type TopicPartition } from './source.ts';

/** Kafka error codes meaning "this member no longer owns what it commits under that generation". */
export const FENCING_ERRORS: ReadonlyMap<number, string> = new Map([
  [22, 'ILLEGAL_GENERATION'],
  [25, 'UNKNOWN_MEMBER_ID'],
  [27, 'REBALANCE_IN_PROGRESS'],
  [82, 'FENCED_INSTANCE_ID'],
  [110, 'FENCED_MEMBER_EPOCH'],
  [113, 'STALE_MEMBER_EPOCH'],
]);

/** Whether a client error carries one of `FENCING_ERRORS` (@platformatic/kafka: `apiCode`, possibly nested in `errors`). */
export function isFencing(error: unknown): boolean {
  const { apiCode, errors } = (error ?? {}) as { apiCode?: number; errors?: unknown[] };
  return (apiCode !== undefined && FENCING_ERRORS.has(apiCode)) || (errors ?? []).some(isFencing);
}

/**
 * After a refused commit: retry once the member has its next assignment (waiting up to
 * `afterRejoinMs`), retry at once (the generation is asked afresh), or not.
 */
export type RetryPolicy = { readonly afterRejoinMs: number } | 'at once' | 'never';

/** Sends `owned` under the generation captured at the call; resolves with the offsets refused as fenced. */
export type FencedSend = (owned: readonly CommitOffset[], stillOwned: (offset: CommitOffset) => boolean) => Promise<readonly CommitOffset[]>;

export class Ownership {
  /** Per owned partition, the serial of its ownership: a partition revoked and assigned again gets a new one. */
  readonly #serials = new Map<string, number>();
  readonly #partitions = new Map<string, TopicPartition>();
  #nextSerial = 0;
  /** Assignments applied so far. */
  joins = 0;
  #joined = Promise.withResolvers<void>();

  /**
   * Applies the member's assignment; returns what it revoked and added. `continuous` says the member
   * owned its kept partitions without a break (the next generation, or the same member epoch line);
   * when false (a generation missed, a new member id) every ownership ends: all revoked, all added.
   */
  update(now: readonly TopicPartition[], continuous = true): { revoked: TopicPartition[]; added: TopicPartition[] } {
    const next = new Map(now.map((tp) => [partitionKey(tp.topic, tp.partition), tp]));
    const revoked = [...this.#partitions].filter(([key]) => !continuous || !next.has(key)).map(([, tp]) => tp);
    const added = [...next].filter(([key]) => !continuous || !this.#partitions.has(key)).map(([, tp]) => tp);
    for (const { topic, partition } of revoked) {
      const key = partitionKey(topic, partition);
      this.#partitions.delete(key);
      this.#serials.delete(key);
    }
    for (const tp of added) {
      const key = partitionKey(tp.topic, tp.partition);
      this.#partitions.set(key, tp);
      this.#serials.set(key, this.#nextSerial++);
    }
    this.joins += 1;
    this.#joined.resolve();
    this.#joined = Promise.withResolvers<void>();
    return { revoked, added };
  }

  owns(topic: string, partition: number): boolean {
    return this.#partitions.has(partitionKey(topic, partition));
  }

  assigned(): readonly TopicPartition[] {
    return [...this.#partitions.values()];
  }

  serial(topic: string, partition: number): number | undefined {
    return this.#serials.get(partitionKey(topic, partition));
  }

  /** Resolves true at the next assignment, false after `timeoutMs`. */
  nextJoin(timeoutMs: number): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), timeoutMs)));
    return Promise.race([this.#joined.promise.then(() => true), timeout]).finally(() => clearTimeout(timer));
  }
}

/**
 * Commits the offsets of partitions the member owns now; `send` must capture the generation
 * synchronously when called. A refused commit means the group moved on: per `retry`, the partitions
 * the member owned throughout are committed once more under its new generation (nobody else owned
 * them in between). Resolves with the offsets not committed: no longer owned, or refused.
 */
export async function commitOwned(ownership: Ownership, offsets: readonly CommitOffset[], send: FencedSend, retry: RetryPolicy): Promise<CommitOffset[]> {
  const serials = new Map(offsets.map((o) => [o, ownership.serial(o.topic, o.partition)]));
  const kept = (o: CommitOffset) => serials.get(o) !== undefined && ownership.serial(o.topic, o.partition) === serials.get(o);
  const notOwned = offsets.filter((o) => serials.get(o) === undefined);
  let pending = offsets.filter((o) => serials.get(o) !== undefined);
  for (let attempt = 0; pending.length > 0; attempt++) {
    const joins = ownership.joins;
    const owned = pending.filter(kept);
    notOwned.push(...pending.filter((o) => !kept(o)));
    const refused = owned.length === 0 ? [] : await send(owned, kept);
    if (refused.length === 0 || attempt === 1 || retry === 'never') return [...notOwned, ...refused];
    if (retry !== 'at once' && ownership.joins === joins && !(await ownership.nextJoin(retry.afterRejoinMs))) return [...notOwned, ...refused];
    pending = [...refused];
  }
  return notOwned;
}
