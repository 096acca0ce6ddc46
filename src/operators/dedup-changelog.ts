import type { Changelog, ChangelogEntry } from '../core/state.ts';
import { partitionKey, PartitionKeys, type TopicPartition } from '../core/partition.ts';
import type { DedupClaim, DedupStore, DedupVerdict } from './dedup-store.ts';

/** The verdict on a key claimed by (or already held by) the claimant itself. */
const UNIQUE: DedupVerdict = Object.freeze({ duplicate: false });

/** Marks a changelog record holding several claims. */
const PACK_PREFIX = '@';

interface Held {
  readonly offset: number;
  readonly expiresAt: number;
}

interface Part {
  readonly keys: Map<string, Held>;
  readonly ready: Promise<void>;
}

/**
 * The durable layer of `dedup` on a Kafka changelog, scoped by source partition: a key is claimed
 * within the partition its record was read from, the claim is written to changelog partition `p`
 * before the record goes on, and a partition's claims are read back before its first record is
 * judged after an assignment. The claims of one call and partition make one changelog record (key
 * `topic:partition|@firstOffset.writer.n`, value `[[key, offset, expiresAt], …]`): a Kafka record per claim
 * cost more than the rest of dedup together. A duplicate is found
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
    const parts = claims.map(({ origin }) => this.#part(origin, clock.nowMs));
    // A call whose partitions are all restored must not judge before an earlier call still waiting
    // for another partition's restore: it would claim a key ahead of that call's earlier record.
    const turn = this.#turn.then(() => Promise.all(new Set(parts.map((part) => part.ready))));
    this.#turn = turn.then(
      () => {},
      () => {},
    );
    await turn;
    // One changelog record per partition and call, its JSON written as the claims are judged.
    const packs = new Map<Part, { origin: TopicPartition & { offset: number }; json: string }>();
    const expiresAt = clock.nowMs + clock.ttlMs;
    const verdicts: DedupVerdict[] = new Array(claims.length);
    for (let i = 0; i < claims.length; i++) {
      const { key, origin } = claims[i] as DedupClaim;
      const part = parts[i] as Part;
      const held = part.keys.get(key);
      if (held !== undefined && held.expiresAt > clock.nowMs) {
        verdicts[i] = held.offset === origin.offset ? UNIQUE : { duplicate: true, owner: { topic: origin.topic, partition: origin.partition, offset: held.offset } };
        continue;
      }
      if (held === undefined) this.#size++;
      else part.keys.delete(key); // re-inserted last: claims stay in expiry order
      part.keys.set(key, { offset: origin.offset, expiresAt });
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
    if (entries.length > 0) await this.#changelog.write(entries);
    return verdicts;
  }

  /** Forgets revoked partitions: their new owner reads their claims back. */
  revoke(partitions: readonly TopicPartition[]): void {
    for (const { topic, partition } of partitions) {
      const key = partitionKey(topic, partition);
      this.#size -= this.#parts.get(key)?.keys.size ?? 0;
      this.#parts.delete(key);
    }
  }

  #part(origin: TopicPartition, nowMs: number): Part {
    const key = this.#keys.of(origin.topic, origin.partition);
    let part = this.#parts.get(key);
    if (part === undefined) {
      const keys = new Map<string, Held>();
      const prefix = `${key}|`;
      const ready = this.#changelog.restore(origin.partition).then((state) => {
        const hold = (claimed: string, offset: number, expiresAt: number) => {
          if (expiresAt <= nowMs) return;
          if (keys.has(claimed)) keys.delete(claimed);
          else this.#size++;
          keys.set(claimed, { offset, expiresAt });
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
      });
      part = { keys, ready };
      this.#parts.set(key, part);
    }
    return part;
  }

  /** Drops expired claims, then each partition's oldest, down to 90% of `maxKeys` (as the in-memory LRU would). */
  #evict(nowMs: number): void {
    for (const part of this.#parts.values()) {
      for (const [key, held] of part.keys) {
        if (held.expiresAt > nowMs) break; // claims are in expiry order
        part.keys.delete(key);
        this.#size--;
      }
    }
    const excess = this.#size - Math.floor(this.#maxKeys * 0.9);
    if (excess <= 0) return;
    const share = excess / this.#size;
    for (const part of this.#parts.values()) {
      let drop = Math.ceil(part.keys.size * share);
      for (const key of part.keys.keys()) {
        if (drop-- <= 0) break;
        part.keys.delete(key);
        this.#size--;
      }
    }
  }
}
