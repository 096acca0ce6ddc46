import { ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { SinkPermanentError, UnavailableError } from '../core/errors.ts';
import type { Envelope } from '../core/envelope.ts';
import type { Logger } from '../core/logger.ts';
import { retrying, type RetryOptions } from '../core/retry.ts';
import { directoryPrefix, parseRange, type OffsetRange } from './s3-parquet-key.ts';
import { partitionKey } from '../core/partition.ts';

/** The offsets of one topic-partition and hour that objects in S3 already hold. */
export class DurableOffsets {
  /** Sorted, merged ranges. */
  readonly #ranges: OffsetRange[] = [];
  readonly #last: number;

  constructor(ranges: readonly OffsetRange[]) {
    for (const range of [...ranges].sort((a, b) => a.first - b.first)) {
      const top = this.#ranges.at(-1);
      if (top !== undefined && range.first <= top.last + 1) this.#ranges[this.#ranges.length - 1] = { first: top.first, last: Math.max(top.last, range.last) };
      else this.#ranges.push(range);
    }
    this.#last = this.#ranges.at(-1)?.last ?? -1;
  }

  /** Whether `offset` lies in the range of an object. */
  covers(offset: number): boolean {
    // The usual case, and the only one without a replay: past everything durable.
    if (offset > this.#last) return false;
    let low = 0;
    let high = this.#ranges.length - 1;
    while (low <= high) {
      const mid = (low + high) >>> 1;
      const range = this.#ranges[mid] as OffsetRange;
      if (offset < range.first) high = mid - 1;
      else if (offset > range.last) low = mid + 1;
      else return true;
    }
    return false;
  }

  get empty(): boolean {
    return this.#ranges.length === 0;
  }
}

export interface RecoveryOptions {
  /** The sink's step id, for errors and logs. */
  readonly id: string;
  readonly client: S3Client;
  readonly bucket: string;
  readonly prefix: string;
  readonly retry: RetryOptions;
  /** Bound on cached (topic, partition, directory) entries; the least recently used is dropped. */
  readonly maxRecoveryEntries: number;
  readonly logger: Logger;
  /** The object names' extension (default `.parquet`): other names are not this sink's. */
  readonly extension?: string;
}

interface Entry {
  readonly topic: string;
  readonly partition: number;
  readonly offsets: DurableOffsets;
}

interface Listing {
  readonly topic: string;
  readonly partition: number;
  readonly promise: Promise<DurableOffsets>;
}

/**
 * What a sink needs to skip replayed records: per topic, partition and directory (the path below the
 * prefix: topic and hour, plus the `partitionBy` values or a dead letter's step and code), the
 * offsets already in S3, listed from the object names the first time a (topic, partition, directory)
 * is seen and cached until the partition is revoked.
 *
 * Exact because a sink keeps one open file per (topic, partition, directory) and a partition's
 * records come in offset order: the objects of one directory name ranges that hold every record of
 * that directory in them, whatever other directories the partition's records went to in between.
 * A directory whose first record comes after others of its partition and hour is listed when that
 * record comes. Files this sink writes later need not be added: they are past every offset their
 * directory's listing returned. Forgetting an entry is always safe: it is listed again.
 */
export class Recovery {
  readonly #o: RecoveryOptions;
  readonly #cache = new Map<string, Entry>();
  readonly #listings = new Map<string, Listing>();

  constructor(options: RecoveryOptions) {
    this.#o = options;
  }

  /**
   * For each record of `batch` (whose directories are `dirs`), the offsets durable for its topic,
   * partition and directory. Rejects with UnavailableError when S3 did not answer within the outage
   * timeout, with SinkPermanentError when it refused the listing.
   */
  async offsetsFor(batch: readonly Envelope<unknown>[], dirs: readonly string[]): Promise<DurableOffsets[]> {
    const slots: { offsets: DurableOffsets }[] = new Array(batch.length);
    const waits: Promise<unknown>[] = [];
    // The batch's (partition, directory) pairs: the cache (an LRU, reordered on each use) is read
    // once per pair, not once per run; runs are short when a directory varies per record.
    const pairs = new Map<string, { offsets: DurableOffsets }>();
    let slot: { offsets: DurableOffsets } | undefined;
    for (let i = 0; i < batch.length; i++) {
      const envelope = batch[i] as Envelope<unknown>;
      // A record of a partition revoked from this member is dropped, not written: listing for it would
      // cache what S3 held then, and the partition's next owner writes files this cache never sees
      // (were the partition to come back, its replay would be written a second time).
      if (envelope.lease.revoked === true) {
        slots[i] = REVOKED;
        slot = undefined;
        continue;
      }
      const { topic, partition } = envelope.meta;
      const dir = dirs[i] as string;
      const previous = i > 0 ? (batch[i - 1] as Envelope<unknown>).meta : undefined;
      // A batch holds runs of one partition and directory: look the cache up once per run.
      if (slot === undefined || previous?.topic !== topic || previous.partition !== partition || dirs[i - 1] !== dir) {
        const key = `${partitionKey(topic, partition)}/${dir}`;
        slot = pairs.get(key);
        if (slot === undefined) {
          const cached = this.#touch(key);
          const fresh: { offsets: DurableOffsets } = { offsets: cached ?? NONE };
          if (cached === undefined) waits.push(this.#list(key, topic, partition, dir).then((offsets) => (fresh.offsets = offsets)));
          pairs.set(key, (slot = fresh));
        }
      }
      slots[i] = slot;
    }
    if (waits.length > 0) {
      await Promise.all(waits).catch((error: unknown) => {
        if (error instanceof UnavailableError) throw error;
        const reason = error instanceof Error ? error.message : String(error);
        throw new SinkPermanentError(`${this.#o.id}: listing s3://${this.#o.bucket} for replay recovery failed: ${reason}`, {
          cause: error,
          stepId: this.#o.id,
        });
      });
    }
    return slots.map((s) => s.offsets);
  }

  /**
   * Drops what is known of these partitions: another member may have written files for them. Called
   * when they are revoked and again when they are assigned (whatever was cached between the two is
   * not to be trusted).
   */
  forget(partitions: readonly { topic: string; partition: number }[]): void {
    const revoked = (e: { topic: string; partition: number }) => partitions.some((p) => p.topic === e.topic && p.partition === e.partition);
    for (const [key, entry] of this.#cache) if (revoked(entry)) this.#cache.delete(key);
    for (const [key, listing] of this.#listings) if (revoked(listing)) this.#listings.delete(key);
  }

  /** A cached entry, moved to the most recently used end. */
  #touch(key: string): DurableOffsets | undefined {
    const entry = this.#cache.get(key);
    if (entry === undefined) return undefined;
    this.#cache.delete(key);
    this.#cache.set(key, entry);
    return entry.offsets;
  }

  /** Lists one (topic, partition, directory), once however many batches ask for it meanwhile. */
  #list(key: string, topic: string, partition: number, dir: string): Promise<DurableOffsets> {
    const running = this.#listings.get(key);
    if (running !== undefined) return running.promise;
    const keyPrefix = directoryPrefix(this.#o.prefix, dir, topic, partition);
    const promise = listRanges(this.#o.client, this.#o.bucket, keyPrefix, this.#o.retry, this.#o.extension).then(
      (ranges) => {
        const offsets = new DurableOffsets(ranges);
        // Revoked while listing: this batch may use the answer, the cache must not keep it.
        if (this.#listings.get(key)?.promise === promise) {
          this.#listings.delete(key);
          this.#remember(key, { topic, partition, offsets });
        }
        if (!offsets.empty) this.#o.logger.debug({ step: this.#o.id, topic, partition, dir }, 'objects found; replayed records among them are skipped');
        return offsets;
      },
      (error: unknown) => {
        if (this.#listings.get(key)?.promise === promise) this.#listings.delete(key);
        throw error;
      },
    );
    this.#listings.set(key, { topic, partition, promise });
    return promise;
  }

  #remember(key: string, entry: Entry): void {
    this.#cache.set(key, entry);
    for (const oldest of this.#cache.keys()) {
      if (this.#cache.size <= this.#o.maxRecoveryEntries) break;
      this.#cache.delete(oldest);
    }
  }
}

const NONE = new DurableOffsets([]);
const REVOKED: { offsets: DurableOffsets } = { offsets: NONE };

/** The ranges named by the objects under `keyPrefix` (every page); other names are ignored. */
export async function listRanges(client: S3Client, bucket: string, keyPrefix: string, retry: RetryOptions, extension = '.parquet'): Promise<OffsetRange[]> {
  const ranges: OffsetRange[] = [];
  let token: string | undefined;
  do {
    const page = await retrying(() => client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: keyPrefix, ContinuationToken: token })), retry);
    for (const object of page.Contents ?? []) {
      const range = object.Key === undefined ? undefined : parseRange(object.Key, keyPrefix, extension);
      if (range !== undefined) ranges.push(range);
    }
    token = page.IsTruncated === true ? page.NextContinuationToken : undefined;
  } while (token !== undefined);
  return ranges;
}
