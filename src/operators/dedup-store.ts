import { createHash } from 'node:crypto';
import {
  ConditionalCheckFailedException,
  GetItemCommand,
  PutItemCommand,
  type AttributeValue,
  type DynamoDBClient,
} from '@aws-sdk/client-dynamodb';

/** Where a record came from: the same origin means the same Kafka record, read again. */
export interface DedupOrigin {
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
}

export interface DedupClaim {
  readonly key: string;
  readonly origin: DedupOrigin;
}

export interface DedupVerdict {
  /** True when another record holds the key. A replay of the holder itself is not a duplicate. */
  readonly duplicate: boolean;
  /** The record that holds the key; absent when that is the claimant itself. */
  readonly owner?: DedupOrigin;
}

/**
 * The durable layer of `dedup`: remembers which record first claimed each key, across restarts
 * and instances. `claim` answers for every claim, in order, or rejects (after its own retries),
 * which errors the pipeline: a store that cannot answer must not let records through unjudged.
 */
export interface DedupStore {
  /**
   * Every key the store answers for is held in this process's memory (the changelog store, per
   * source partition): dedup then keeps no cache of its own in front of it.
   */
  readonly holdsKeys?: boolean;
  claim(claims: readonly DedupClaim[], clock: { readonly nowMs: number; readonly ttlMs: number }): Promise<readonly DedupVerdict[]>;
  /**
   * `claim` answered before the claims are durable, for a store that judges from its own memory:
   * the verdicts, and `durable`, which settles once the claims are stored (rejects if they cannot
   * be). Dedup sends the unique records on at once and holds their leases until `durable`, so an
   * offset is never committed before its claim is stored (Kafka Streams flushes its changelogs
   * before it commits, the same way).
   */
  judge?(claims: readonly DedupClaim[], clock: { readonly nowMs: number; readonly ttlMs: number }): Promise<DedupJudgement>;
}

/** What `DedupStore.judge` answers. */
export interface DedupJudgement {
  readonly verdicts: readonly DedupVerdict[];
  readonly durable: Promise<void>;
}

export interface DynamoDedupStoreOptions {
  /** From `createDynamoClient` (src/config.ts); its `maxAttempts` bounds the retries. */
  readonly client: DynamoDBClient;
  readonly tableName: string;
  /** Prepended to each key, so several dedup steps can share a table: e.g. `"dedup#events#"`. */
  readonly keyPrefix?: string;
  /** The table's (string) partition key attribute. Default `pk`. */
  readonly partitionKey?: string;
  /** The attribute holding the expiry in epoch seconds; enable DynamoDB TTL on it. Default `expires_at`. */
  readonly ttlAttribute?: string;
}

/** Keys longer than this (in UTF-8 bytes) are stored as a SHA-256, under DynamoDB's 2048-byte key limit. */
const MAX_KEY_BYTES = 1024;

/**
 * A `DedupStore` on a DynamoDB table with a string partition key: one conditional PutItem per key
 * (`attribute_not_exists(pk) OR expires_at < now`), storing the origin topic/partition/offset and
 * an expiry (epoch seconds, for DynamoDB TTL). A failed condition means a duplicate, except when
 * the stored origin is the claimant's own: that is the same Kafka record replayed after a crash,
 * and it passes, or at-least-once replay would lose it. An item past its expiry that DynamoDB has
 * not yet deleted counts as absent.
 *
 * ```ts
 * const store = new DynamoDedupStore({ client: createDynamoClient(connections), tableName: 'dedup', keyPrefix: 'events#' });
 * events$.pipe(dedup({ id: 'dedup', ttlMs: 86_400_000, maxKeys: 1_000_000, scheduler: asyncScheduler, store, deadLetter }));
 * ```
 */
export class DynamoDedupStore implements DedupStore {
  readonly #client: DynamoDBClient;
  readonly #table: string;
  readonly #prefix: string;
  readonly #pk: string;
  readonly #ttl: string;

  constructor(options: DynamoDedupStoreOptions) {
    this.#client = options.client;
    this.#table = options.tableName;
    this.#prefix = options.keyPrefix ?? '';
    this.#pk = options.partitionKey ?? 'pk';
    this.#ttl = options.ttlAttribute ?? 'expires_at';
  }

  claim(claims: readonly DedupClaim[], clock: { readonly nowMs: number; readonly ttlMs: number }): Promise<readonly DedupVerdict[]> {
    return Promise.all(claims.map((claim) => this.#claimOne(claim, clock.nowMs, clock.ttlMs)));
  }

  /** The partition key value stored for `key`. */
  storedKey(key: string): string {
    const safe = Buffer.byteLength(key) > MAX_KEY_BYTES ? `sha256:${createHash('sha256').update(key).digest('hex')}` : key;
    return this.#prefix + safe;
  }

  async #claimOne(claim: DedupClaim, nowMs: number, ttlMs: number): Promise<DedupVerdict> {
    const pk: AttributeValue = { S: this.storedKey(claim.key) };
    // An item whose stored expiry has passed (and DynamoDB has not deleted yet) is gone: retry once
    // if it vanishes between the failed put and the read that looks at it.
    for (let attempt = 0; ; attempt++) {
      try {
        await this.#client.send(
          new PutItemCommand({
            TableName: this.#table,
            Item: {
              [this.#pk]: pk,
              [this.#ttl]: { N: String(Math.ceil((nowMs + ttlMs) / 1000)) },
              origin_topic: { S: claim.origin.topic },
              origin_partition: { N: String(claim.origin.partition) },
              origin_offset: { N: String(claim.origin.offset) },
              claimed_at_ms: { N: String(nowMs) },
            },
            ConditionExpression: 'attribute_not_exists(#pk) OR #ttl < :now',
            ExpressionAttributeNames: { '#pk': this.#pk, '#ttl': this.#ttl },
            ExpressionAttributeValues: { ':now': { N: String(Math.floor(nowMs / 1000)) } },
            ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
          }),
        );
        const { topic, partition, offset } = claim.origin; // not the claimant's metadata object: the LRU keeps the owner
        return { duplicate: false, owner: { topic, partition, offset } };
      } catch (error) {
        if (!(error instanceof ConditionalCheckFailedException)) throw error;
        const item = error.Item ?? (await this.#read(pk));
        if (item === undefined && attempt < 2) continue;
        const owner = item === undefined ? undefined : originOf(item);
        if (owner === undefined) throw new Error(`dedup item ${pk.S} in ${this.#table} has no readable origin`, { cause: error });
        return { duplicate: !sameOrigin(owner, claim.origin), owner };
      }
    }
  }

  async #read(pk: AttributeValue): Promise<Record<string, AttributeValue> | undefined> {
    const out = await this.#client.send(new GetItemCommand({ TableName: this.#table, Key: { [this.#pk]: pk }, ConsistentRead: true }));
    return out.Item;
  }
}

function originOf(item: Record<string, AttributeValue>): DedupOrigin | undefined {
  const topic = item.origin_topic?.S;
  const partition = Number(item.origin_partition?.N);
  const offset = Number(item.origin_offset?.N);
  if (topic === undefined || !Number.isInteger(partition) || !Number.isInteger(offset)) return undefined;
  return { topic, partition, offset };
}

/** True when both name the same Kafka record. */
export function sameOrigin(a: DedupOrigin, b: DedupOrigin): boolean {
  return a.offset === b.offset && a.partition === b.partition && a.topic === b.topic;
}
