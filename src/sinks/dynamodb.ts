import {
  BatchWriteItemCommand,
  PutItemCommand,
  UpdateItemCommand,
  type AttributeValue,
  type BatchWriteItemCommandOutput,
  type WriteRequest,
} from '@aws-sdk/client-dynamodb';
import { LRUCache } from 'lru-cache';
import { connectionsFromEnv, createDynamoClient } from '../config.ts';
import { ConfigError, SinkPermanentError, SinkRetriableError } from '../core/errors.ts';
import type { Envelope } from '../core/envelope.ts';
import { logsRecordContent } from '../core/logger.ts';
import { compileItemMapper, keyIdOf, type DynamoItemOptions, type ItemResult } from './dynamodb-item.ts';
import { DEFAULT_RETRY, RetriesExhausted, backoffDelayMs, dynamoFailureOf, realSleep, runBounded, withRetries, type RetryHooks, type RetryPolicy, type Sleep } from './dynamodb-retry.ts';
import { chunkItems } from './dynamodb-size.ts';
import { commandOf, compileWriteBuilder, updateOptionProblems, type DynamoUpdateOptions, type UpdateResult } from './dynamodb-update.ts';
import type { Sink, SinkContext } from '../core/sink.ts';

/** What the sink needs of a DynamoDB client (a `DynamoDBClient`, or a test's wrapper around one). */
export interface DynamoSender {
  send(command: BatchWriteItemCommand | PutItemCommand | UpdateItemCommand): Promise<unknown>;
}

export interface DynamoSinkOptions extends DynamoItemOptions, DynamoUpdateOptions {
  /** The topology step id. */
  readonly id: string;
  readonly table: string;
  /** Default: a client for `connectionsFromEnv()`, destroyed by `close()`. */
  readonly client?: DynamoSender;
  /** `BatchWriteItem` chunks (put) or keys (max, add) in flight at once; default 8. */
  readonly concurrency?: number;
  readonly retry?: Partial<RetryPolicy>;
  readonly sleep?: Sleep;
  readonly random?: () => number;
  /**
   * `max` mode: keys whose stored maximum the sink remembers (least recently used forgotten first);
   * default 100000, 0 turns it off. A numeric value not above a remembered one is acknowledged
   * without a request (the conditional update would have been refused). Off when the table has a
   * `ttl` (an expired item takes its maximum with it); it assumes nothing else deletes items.
   */
  readonly knownMaxKeys?: number;
}

interface Ready {
  readonly envelope: Envelope<unknown>;
  readonly item: Record<string, AttributeValue>;
  readonly key: Record<string, AttributeValue>;
  readonly keyId: string;
  readonly keyText: string;
  readonly sizeBytes: number;
  /** Earlier records of the same key in the same write, acknowledged when this one lands. */
  readonly superseded: Envelope<unknown>[];
}

type UpdateBuilder = ReturnType<typeof compileWriteBuilder>;

/**
 * A sink that writes records to a DynamoDB table as items (hot storage for reads by key).
 *
 * ```ts
 * const sink = dynamoDbSink({
 *   id: 'sessions', table: 'user_sessions',
 *   partitionKey: { name: 'user_id', value: '{user_id}' },
 *   sortKey: { name: 'session_start_time', value: '{timestamp}' },
 *   ttl: { attribute: 'expires_at', afterMs: 30 * 86_400_000 },
 * }, context);
 * await sink.write(batch); // resolves once every item is written or dead-lettered
 * ```
 *
 * `write` is write-through: it resolves when each record's item is durable (its lease released)
 * or dead-lettered, and rejects with `SinkRetriableError`, leaving unwritten leases held, when
 * retries run out or the table cannot be used at all. Writes run one after another.
 *
 * In `put` mode, a write keeps only the last record per key (`BatchWriteItem` refuses duplicate
 * keys, and two chunks in flight could land in either order); the records it replaces are
 * acknowledged when it lands. See `DynamoWriteMode` for `max` and `add`, `DynamoItemOptions` for the
 * mapping and sharding.
 */
export function dynamoDbSink(options: DynamoSinkOptions, context: SinkContext): Sink {
  return new DynamoDbSink(options, context);
}

export class DynamoDbSink implements Sink {
  readonly id: string;
  readonly #table: string;
  readonly #context: SinkContext;
  readonly #client: DynamoSender;
  readonly #ownsClient: boolean;
  readonly #concurrency: number;
  readonly #retry: RetryHooks;
  readonly #toItem: (envelope: Envelope<unknown>) => ItemResult;
  readonly #toUpdate: UpdateBuilder | undefined;
  readonly #keyNames: readonly [string, string | undefined];
  /** `max` mode: per key, a value the stored maximum is known to be at least (a write landed or was refused). */
  readonly #knownMax: LRUCache<string, number> | undefined;
  readonly #isMax: boolean;
  readonly #labels: { step: string };
  #tail: Promise<void> = Promise.resolve();
  #closed = false;

  constructor(options: DynamoSinkOptions, context: SinkContext) {
    const problems = [...updateOptionProblems(options)];
    if (!options.table) problems.push('table is required');
    const concurrency = options.concurrency ?? 8;
    if (options.knownMaxKeys !== undefined && !(Number.isInteger(options.knownMaxKeys) && options.knownMaxKeys >= 0)) problems.push('knownMaxKeys must be an integer >= 0');
    if (!(Number.isInteger(concurrency) && concurrency >= 1)) problems.push('concurrency must be an integer >= 1');
    const policy = { ...DEFAULT_RETRY, ...options.retry };
    if (!(Number.isInteger(policy.maxAttempts) && policy.maxAttempts >= 1)) problems.push('retry.maxAttempts must be an integer >= 1');
    if (!(policy.baseMs >= 0 && policy.maxMs >= policy.baseMs)) problems.push('retry needs 0 <= baseMs <= maxMs');
    const target = options.update?.attribute;
    if (target !== undefined && [options.partitionKey?.name, options.sortKey?.name, options.ttl?.attribute].includes(target))
      problems.push('update.attribute must not be a key or the TTL attribute');
    if (problems.length > 0) throw new ConfigError(problems.map((p) => `${options.id}: ${p}`), { stepId: options.id });

    this.id = options.id;
    this.#table = options.table;
    this.#context = context;
    this.#toItem = compileItemMapper(options, options.id);
    const mode = options.mode ?? 'put';
    this.#toUpdate = mode === 'put' ? undefined : compileWriteBuilder(options, options.table, options.id);
    this.#keyNames = [options.partitionKey.name, options.sortKey?.name];
    this.#isMax = mode === 'max';
    const knownMaxKeys = options.knownMaxKeys ?? 100_000;
    this.#knownMax = mode === 'max' && options.ttl === undefined && knownMaxKeys > 0 ? new LRUCache({ max: knownMaxKeys }) : undefined;
    this.#concurrency = concurrency;
    this.#labels = { step: options.id };
    this.#ownsClient = options.client === undefined;
    this.#client = options.client ?? createDynamoClient(connectionsFromEnv());
    this.#retry = {
      policy,
      sleep: options.sleep ?? realSleep,
      random: options.random ?? Math.random,
      onRetry: () => context.metrics.inc('sink_retries_total', this.#labels),
    };
  }

  write(batch: readonly Envelope<unknown>[]): Promise<void> {
    if (this.#closed) return Promise.reject(new SinkRetriableError(`${this.id}: write after close`, { stepId: this.id }));
    const run = this.#tail.then(() => this.#write(batch));
    this.#tail = run.catch(() => {});
    return run;
  }

  async flush(): Promise<void> {
    await this.#tail;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.flush();
    if (this.#ownsClient) (this.#client as { destroy?: () => void }).destroy?.();
  }

  async #write(batch: readonly Envelope<unknown>[]): Promise<void> {
    const ready: Ready[] = [];
    for (const envelope of batch) {
      const mapped = this.#toItem(envelope);
      if (mapped.ok) ready.push({ envelope, ...mapped, superseded: [] });
      else this.#deadLetter(envelope, mapped.reason, mapped.keyText);
    }
    if (ready.length === 0) return;
    if (this.#toUpdate === undefined) await this.#putAll(ready);
    else await this.#updateAll(ready);
  }

  // ---- put mode ----

  async #putAll(ready: readonly Ready[]): Promise<void> {
    const byKey = new Map<string, Ready>();
    for (const r of ready) {
      const earlier = byKey.get(r.keyId);
      if (earlier !== undefined) {
        r.superseded.push(...earlier.superseded, earlier.envelope);
        byKey.delete(r.keyId);
      }
      byKey.set(r.keyId, r);
    }
    await runBounded(chunkItems(byKey.values()), this.#concurrency, (c) => this.#putChunk(c));
  }

  async #putChunk(chunk: readonly Ready[]): Promise<void> {
    let pending = chunk;
    for (let attempt = 1; ; attempt++) {
      let output: BatchWriteItemCommandOutput;
      try {
        output = (await this.#timed(new BatchWriteItemCommand({ RequestItems: { [this.#table]: pending.map((r) => ({ PutRequest: { Item: r.item } })) } }))) as BatchWriteItemCommandOutput;
      } catch (error) {
        const failure = dynamoFailureOf(error);
        // One bad item fails the whole request: write the chunk one by one to find it.
        if (failure === 'invalid') return this.#putOneByOne(pending);
        if (failure !== 'transient') throw this.#fatal(error);
        await this.#backoff(attempt, error);
        continue;
      }
      const unprocessed = output.UnprocessedItems?.[this.#table] ?? [];
      const left = unprocessed.length === 0 ? [] : this.#match(pending, unprocessed);
      const still = new Set(left);
      for (const r of pending) if (!still.has(r)) this.#landed(r);
      if (left.length === 0) return;
      pending = left;
      await this.#backoff(attempt, new Error(`${left.length} unprocessed items`));
    }
  }

  /** The pending items DynamoDB handed back; all of them if one cannot be matched (puts are idempotent). */
  #match(pending: readonly Ready[], unprocessed: readonly WriteRequest[]): Ready[] {
    const byId = new Map(pending.map((r) => [r.keyId, r]));
    const left: Ready[] = [];
    for (const request of unprocessed) {
      const r = request.PutRequest?.Item === undefined ? undefined : byId.get(keyIdOf(request.PutRequest.Item, ...this.#keyNames));
      if (r === undefined) return [...pending];
      left.push(r);
    }
    return left;
  }

  async #putOneByOne(items: readonly Ready[]): Promise<void> {
    for (const r of items) {
      try {
        await withRetries(() => this.#timed(new PutItemCommand({ TableName: this.#table, Item: r.item })), this.#retry, (e) => dynamoFailureOf(e) === 'transient');
        this.#landed(r);
      } catch (error) {
        if (dynamoFailureOf(error) !== 'invalid') throw this.#fatal(error);
        this.#deadLetter(r.envelope, `DynamoDB refused the item: ${(error as Error).message}`, r.keyText, error);
        this.#acknowledgeSuperseded(r);
      }
    }
  }

  #landed(r: Ready): void {
    r.envelope.lease.release();
    this.#context.metrics.inc('sink_records_total', this.#labels);
    this.#acknowledgeSuperseded(r);
  }

  #acknowledgeSuperseded(r: Ready): void {
    for (const envelope of r.superseded) envelope.lease.release();
    if (r.superseded.length > 0) this.#context.metrics.inc('sink_records_total', { ...this.#labels, outcome: 'superseded' }, r.superseded.length);
  }

  // ---- max and add modes ----

  async #updateAll(ready: readonly Ready[]): Promise<void> {
    const byKey = new Map<string, Ready[]>();
    for (const r of ready) {
      const list = byKey.get(r.keyId);
      if (list === undefined) byKey.set(r.keyId, [r]);
      else list.push(r);
    }
    // Keys in parallel, the updates of one key in order.
    await runBounded([...byKey.values()], this.#concurrency, async (list) => {
      const best = this.#isMax && list.length > 1 ? this.#highest(list) : undefined;
      if (best !== undefined && (await this.#update(best.r, best.update))) {
        // In `max` mode, writing only the highest of a key's numbers (the first of equal ones) leaves
        // the item as applying them in order would; the others are acknowledged with it.
        for (const r of list) if (r !== best.r) r.envelope.lease.release();
        this.#context.metrics.inc('sink_records_total', { ...this.#labels, outcome: 'superseded' }, list.length - 1);
        return;
      }
      for (const r of list) if (r !== best?.r) await this.#update(r);
    });
  }

  /** The record with the highest value (the first of equal ones), when every value is a number. */
  #highest(list: readonly Ready[]): { r: Ready; update: UpdateResult & { ok: true } } | undefined {
    const toUpdate = this.#toUpdate as UpdateBuilder;
    let best: { r: Ready; update: UpdateResult & { ok: true } } | undefined;
    for (const r of list) {
      const update = toUpdate(r.envelope, r.item, r.key);
      if (!update.ok || typeof update.value !== 'number') return undefined;
      if (best === undefined || update.value > (best.update.value as number)) best = { r, update };
    }
    return best;
  }

  /** Writes one update; `false` when the record went to dead letters instead. */
  async #update(r: Ready, built?: UpdateResult): Promise<boolean> {
    const toUpdate = this.#toUpdate as UpdateBuilder;
    const update = built ?? toUpdate(r.envelope, r.item, r.key);
    if (!update.ok) {
      this.#deadLetter(r.envelope, update.reason, r.keyText);
      return false;
    }
    const known = this.#knownMax?.get(r.keyId);
    if (known !== undefined && typeof update.value === 'number' && update.value <= known) {
      // The stored maximum is at least `known`: the conditional update would be refused.
      r.envelope.lease.release();
      this.#context.metrics.inc('sink_records_total', { ...this.#labels, outcome: 'below_known_max' });
      return true;
    }
    const remember = () => {
      if (this.#knownMax !== undefined && typeof update.value === 'number' && !(update.value <= (known ?? -Infinity))) this.#knownMax.set(r.keyId, update.value);
    };
    try {
      await withRetries(() => this.#timed(commandOf(update)), this.#retry, (e) => dynamoFailureOf(e) === 'transient');
      remember();
      r.envelope.lease.release();
      this.#context.metrics.inc('sink_records_total', this.#labels);
      return true;
    } catch (error) {
      const failure = dynamoFailureOf(error);
      if (failure === 'condition') {
        // A normal outcome: the stored value already wins.
        remember();
        r.envelope.lease.release();
        this.#context.metrics.inc('sink_records_total', { ...this.#labels, outcome: 'condition_failed' });
        return true;
      }
      if (failure === 'invalid') {
        this.#deadLetter(r.envelope, `DynamoDB refused the update: ${(error as Error).message}`, r.keyText, error);
        return false;
      }
      throw this.#fatal(error);
    }
  }

  // ---- shared ----

  async #timed(command: BatchWriteItemCommand | PutItemCommand | UpdateItemCommand): Promise<unknown> {
    const started = performance.now();
    try {
      return await this.#client.send(command);
    } finally {
      this.#context.metrics.observe('sink_latency_ms', this.#labels, performance.now() - started);
    }
  }

  async #backoff(attempt: number, cause: unknown): Promise<void> {
    const { policy, sleep, random } = this.#retry;
    if (attempt >= policy.maxAttempts) throw this.#fatal(new RetriesExhausted(attempt, cause));
    this.#context.metrics.inc('sink_retries_total', this.#labels);
    await sleep(backoffDelayMs(attempt, policy.baseMs, policy.maxMs, random));
  }

  #deadLetter(envelope: Envelope<unknown>, reason: string, keyText: string, cause?: unknown): void {
    const error = new SinkPermanentError(`${reason} (table ${this.#table}, key ${keyText})`, { stepId: this.id, ...(cause === undefined ? {} : { cause }) });
    this.#context.logger.debug({ step: this.id, table: this.#table, ...(logsRecordContent() ? { key: keyText, reason } : {}) }, 'dynamodb record to dead letters');
    this.#context.deadLetter(envelope, error, this.id);
  }

  #fatal(error: unknown): SinkRetriableError {
    if (error instanceof SinkRetriableError) return error;
    const last = error instanceof RetriesExhausted ? error.cause : error;
    const detail = `${(last as Error)?.name ?? 'Error'}: ${(last as Error)?.message ?? String(last)}`;
    const message = error instanceof RetriesExhausted ? `retries exhausted after ${error.attempts} attempts (${detail})` : detail;
    this.#context.logger.warn({ step: this.id, table: this.#table, err: last }, 'dynamodb write failed');
    return new SinkRetriableError(`${this.id}: table ${this.#table}: ${message}`, { stepId: this.id, cause: last });
  }
}
