import type { Changelog, ChangelogEntry } from '../core/state.ts';
import { partitionKey, PartitionKeys, type TopicPartition } from '../core/partition.ts';
import type { DedupClaim, DedupJudgement, DedupStore, DedupVerdict } from './dedup-store.ts';

/** The verdict on a key claimed by (or already held by) the claimant itself. */
const UNIQUE: DedupVerdict = Object.freeze({ duplicate: false });

/** Marks a changelog record holding several claims. */
const PACK_PREFIX = '@';

interface Part {
  readonly claims: Claims;
  readonly ready: Promise<void>;
}

/**
 * One partition's claims: each key maps to the offset of the record that claimed it, in claim order,
 * and the expiry times are kept beside them as runs (`[expiresAt, count]`, oldest first) rather than
 * in an object per key: with a million keys held, a number per key instead of an object saves about
 * 50 B a key and as many objects for the collector to trace. Expiry times never go back within a
 * partition (a clock stepping back keeps the later time), so the keys expire from the front.
 */
class Claims {
  readonly #keys = new Map<string, number>();
  /** `[expiresAt, count]` pairs from `#head` on. */
  #runs: number[] = [];
  #head = 0;

  get size(): number {
    return this.#keys.size;
  }

  /** The offset that claimed `key`, if it is held (call `expire` first). */
  holder(key: string): number | undefined {
    return this.#keys.get(key);
  }

  /** Holds a key that is not held. */
  add(key: string, offset: number, expiresAt: number): void {
    this.#keys.set(key, offset);
    const runs = this.#runs;
    const last = runs.length - 2;
    if (last >= this.#head && (runs[last] as number) >= expiresAt) runs[last + 1] = (runs[last + 1] as number) + 1;
    else runs.push(expiresAt, 1);
  }

  /** Drops the keys expired at `nowMs`; returns how many. */
  expire(nowMs: number): number {
    let dropped = 0;
    while (this.#head < this.#runs.length && (this.#runs[this.#head] as number) <= nowMs) dropped += this.dropOldest(this.#runs[this.#head + 1] as number);
    return dropped;
  }

  /** Drops the `count` oldest keys; returns how many. */
  dropOldest(count: number): number {
    let dropped = 0;
    for (const key of this.#keys.keys()) {
      if (dropped === count) break;
      this.#keys.delete(key);
      dropped++;
    }
    let left = dropped;
    const runs = this.#runs;
    while (left > 0 && this.#head < runs.length) {
      const inRun = runs[this.#head + 1] as number;
      if (inRun > left) {
        runs[this.#head + 1] = inRun - left;
        left = 0;
      } else {
        left -= inRun;
        this.#head += 2;
      }
    }
    // Empty keys end every run (and so `expire`'s loop), whatever the counts say.
    if (this.#head === runs.length || this.#keys.size === 0) {
      this.#runs = [];
      this.#head = 0;
    } else if (this.#head > 1024 && this.#head * 2 > runs.length) {
      this.#runs = runs.slice(this.#head);
      this.#head = 0;
    }
    return dropped;
  }
}

/**
 * The durable layer of `dedup` on a Kafka changelog, scoped by source partition: a key is claimed
 * within the partition its record was read from, the claim is written to changelog partition `p`
 * (`judge`: the record goes on meanwhile, its offset held uncommitted until the write is durable),
 * and a partition's claims are read back when it is assigned, before its first record is judged.
 * The claims of one call and partition make one changelog record (key
 * `topic:partition|@firstOffset.writer.n`, value `[[key, offset, expiresAt], …]`): a Kafka record
 * per claim cost more than the rest of dedup together. A duplicate is found
 * when it arrives on the same partition as the record that claimed the key, which holds for
 * producer retries and replays (same Kafka key). Claims expire `ttlMs` after they were made; the
 * changelog topic deletes them by retention.
 */
export class ChangelogDedupStore implements DedupStore {
  readonly holdsKeys = true;
  /** Names this store's packs apart from those of earlier runs and other members. */
  readonly #writer = Math.random().toString(36).slice(2, 10);
  #writes = 0;
  readonly #changelog: Changelog;
  readonly #maxKeys: number;
  readonly #parts = new Map<string, Part>();
  readonly #keys = new PartitionKeys();
  #size = 0;
  /** Settles when the previous call's claims are judged: calls are judged in the order they came. */
  #turn: Promise<void> = Promise.resolve();

  constructor(changelog: Changelog, options: { readonly maxKeys: number }) {
    this.#changelog = changelog;
    this.#maxKeys = options.maxKeys;
  }

  async claim(claims: readonly DedupClaim[], clock: { readonly nowMs: number; readonly ttlMs: number }): Promise<readonly DedupVerdict[]> {
    const { verdicts, durable } = await this.judge(claims, clock);
    await durable;
    return verdicts;
  }

  /** The verdicts once the claims' partitions are restored; `durable` once the claims are in the changelog. */
  async judge(claims: readonly DedupClaim[], clock: { readonly nowMs: number; readonly ttlMs: number }): Promise<DedupJudgement> {
    const parts = claims.map(({ origin }) => this.#part(origin, clock.nowMs));
    // A call whose partitions are all restored must not judge before an earlier call still waiting
    // for another partition's restore: it would claim a key ahead of that call's earlier record.
    const turn = this.#turn.then(() => Promise.all(new Set(parts.map((part) => part.ready))));
    this.#turn = turn.then(
      () => {},
      () => {},
    );
    await turn;
    for (const part of new Set(parts)) this.#size -= part.claims.expire(clock.nowMs);
    // One changelog record per partition and call, its JSON written as the claims are judged.
    const packs = new Map<Part, { origin: TopicPartition & { offset: number }; json: string }>();
    const expiresAt = clock.nowMs + clock.ttlMs;
    const verdicts: DedupVerdict[] = new Array(claims.length);
    for (let i = 0; i < claims.length; i++) {
      const { key, origin } = claims[i] as DedupClaim;
      const part = parts[i] as Part;
      const holder = part.claims.holder(key);
      if (holder !== undefined) {
        verdicts[i] = holder === origin.offset ? UNIQUE : { duplicate: true, owner: { topic: origin.topic, partition: origin.partition, offset: holder } };
        continue;
      }
      this.#size++;
      part.claims.add(key, origin.offset, expiresAt);
      const claim = `[${JSON.stringify(key)},${origin.offset},${expiresAt}]`;
      const pack = packs.get(part);
      if (pack === undefined) packs.set(part, { origin, json: claim });
      else pack.json += `,${claim}`;
      verdicts[i] = UNIQUE;
    }
    if (this.#size > this.#maxKeys) this.#evict(clock.nowMs);
    // Its name is never reused: compaction must not drop a pack for a later one that holds fewer of
    // its claims (retention deletes them all).
    const write = `${this.#writer}.${this.#writes++}`;
    const entries: ChangelogEntry[] = [...packs.values()].map(({ origin, json }) => ({
      partition: origin.partition,
      key: `${partitionKey(origin.topic, origin.partition)}|${PACK_PREFIX}${origin.offset}.${write}`,
      value: Buffer.from(`[${json}]`),
    }));
    const durable = entries.length > 0 ? this.#changelog.write(entries) : Promise.resolve();
    // Rejected when nobody awaits it (the caller failed first) it must not end the process.
    durable.catch(() => {});
    return { verdicts, durable };
  }

  /**
   * Starts reading back the claims of partitions as they are assigned, before their first record:
   * read on a partition's first call instead, the restore held that call, and every call after it,
   * for its round trips (a new reader, metadata, offsets, fetches: 40-130 ms each, ~0.5 s for nine
   * partitions at start). A restore that fails here is tried again by the partition's first call.
   */
  prepare(partitions: readonly TopicPartition[], nowMs: number): void {
    for (const tp of partitions) {
      const key = this.#keys.of(tp.topic, tp.partition);
      const part = this.#part(tp, nowMs);
      part.ready.catch(() => {
        if (this.#parts.get(key) === part) this.#parts.delete(key);
      });
    }
  }

  /** Forgets revoked partitions: their new owner reads their claims back. */
  revoke(partitions: readonly TopicPartition[]): void {
    for (const { topic, partition } of partitions) {
      const key = partitionKey(topic, partition);
      this.#size -= this.#parts.get(key)?.claims.size ?? 0;
      this.#parts.delete(key);
    }
  }

  #part(origin: TopicPartition, nowMs: number): Part {
    const key = this.#keys.of(origin.topic, origin.partition);
    let part = this.#parts.get(key);
    if (part === undefined) {
      const claims = new Claims();
      const prefix = `${key}|`;
      const ready = this.#changelog.restore(origin.partition).then((state) => {
        // A key claimed again after it expired is held by its last claim, in that claim's place.
        const restored = new Map<string, [offset: number, expiresAt: number]>();
        const hold = (claimed: string, offset: number, expiresAt: number) => {
          if (expiresAt <= nowMs) return;
          restored.delete(claimed);
          restored.set(claimed, [offset, expiresAt]);
        };
        for (const [name, value] of state) {
          if (!name.startsWith(prefix)) continue;
          const text = value.toString();
          if (text.startsWith('[')) for (const [claimed, offset, expiresAt] of JSON.parse(text) as [string, number, number][]) hold(claimed, offset, expiresAt);
          else {
            // One claim per record, as written before packs.
            const [offset, expiresAt] = text.split(' ').map(Number) as [number, number];
            hold(name.slice(prefix.length), offset, expiresAt);
          }
        }
        if (this.#parts.get(key)?.claims !== claims) return; // revoked while it was read
        for (const [claimed, [offset, expiresAt]] of restored) claims.add(claimed, offset, expiresAt);
        this.#size += restored.size;
      });
      part = { claims, ready };
      this.#parts.set(key, part);
    }
    return part;
  }

  /** Drops expired claims, then each partition's oldest, down to 90% of `maxKeys` (as the in-memory LRU would). */
  #evict(nowMs: number): void {
    for (const part of this.#parts.values()) this.#size -= part.claims.expire(nowMs);
    const excess = this.#size - Math.floor(this.#maxKeys * 0.9);
    if (excess <= 0) return;
    const share = excess / this.#size;
    for (const part of this.#parts.values()) this.#size -= part.claims.dropOldest(Math.ceil(part.claims.size * share));
  }
}
