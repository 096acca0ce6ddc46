import {
  BatchWriteItemCommand,
  PutItemCommand,
  UpdateItemCommand,
  type AttributeValue,
  type BatchWriteItemCommandOutput,
  type WriteRequest,
} from '@aws-sdk/client-dynamodb';
import { setTimeout as delay } from 'node:timers/promises';
import { LRUCache } from 'lru-cache';
import { ConfigError, SinkPermanentError, SinkRetriableError, TributaryError } from '../core/errors.ts';
import type { Envelope } from '../core/envelope.ts';
import { logsRecordContent } from '../core/logger.ts';
import { Dependency } from '../core/health.ts';
import { DEFAULT_RETRY_POLICY, Retrier, retryPolicyProblems, retrying, type RetryOptions, type RetryPolicy } from '../core/retry.ts';
import { dynamoFailureOf, isAmbiguous, isUnreachable, sinkErrorOf } from './aws-errors.ts';
import { compileItemMapper, keyIdOf, mappedAttributeNames, type DynamoItemOptions, type ItemResult } from './dynamodb-item.ts';
import { chunkItems } from './dynamodb-size.ts';
import { combineAdds, commandOf, compileWriteBuilder, updateOptionProblems, type DynamoUpdateOptions, type UpdateItemResult, type UpdateResult } from './dynamodb-update.ts';
import { runBounded } from './run-bounded.ts';
import type { Sink, SinkContext } from '../core/sink.ts';

/** What the sink needs of a DynamoDB client (a `DynamoDBClient`, or a test's wrapper around one). */
export interface DynamoSender {
  send(command: BatchWriteItemCommand | PutItemCommand | UpdateItemCommand): Promise<unknown>;
}

export interface DynamoSinkOptions extends DynamoItemOptions, DynamoUpdateOptions {
  /** The topology step id. */
  readonly id: string;
  readonly table: string;
  /**
   * The client, owned by the caller (the sink does not destroy it). It should make one attempt per
   * call (`createDynamoClient(c, { maxAttempts: 1 })` in `src/config.ts`): the sink is the one retry layer.
   */
  readonly client: DynamoSender;
  /** `BatchWriteItem` chunks (put; default 8) or keys (the other modes, a request each; default 32) in flight at once. */
  readonly concurrency?: number;
  /**
   * Backoff of retries (default base 100 ms, cap 5 s, full jitter). Throttling, unprocessed items,
   * 5xx, network errors and timeouts are retried until DynamoDB takes the write, for up to
   * `unavailableTimeoutMs`.
   */
  readonly retry?: Partial<RetryPolicy>;
  /**
   * How long one write is retried before the sink fails (and the pipeline with it). Default: the
   * runtime's DynamoDB outage timeout (`TRIBUTARY_SINK_UNAVAILABLE_TIMEOUT_MS`), else 300000.
   */
  readonly unavailableTimeoutMs?: number;
  readonly sleep?: (ms: number) => Promise<void>;
  readonly random?: () => number;
  /** Wall-clock ms for the retries' time bound (default `Date.now`). */
  readonly now?: () => number;
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
 * or dead-lettered. Throttling, unprocessed items, 5xx, network errors and timeouts are retried
 * (the one retry layer: `core/retry.ts`) until DynamoDB takes the write; it rejects, leaving
 * unwritten leases held, with `UnavailableError` once a write has been tried for the outage
 * timeout, or with `SinkPermanentError` when the table cannot be used at all (missing, no access).
 * Writes run one after another.
 *
 * In `put` mode, a write keeps only the last record per key (`BatchWriteItem` refuses duplicate
 * keys, and two chunks in flight could land in either order); the records it replaces are
 * acknowledged when it lands. See `DynamoWriteMode` for `max`, `add` and `update`, `DynamoItemOptions`
 * for the mapping and sharding.
 */
/** `BatchWriteItem` requests (put mode) in flight per shard when `concurrency` is not given, in the YAML and in code alike. */
export const DEFAULT_DYNAMODB_CONCURRENCY = 8;
/**
 * Single-item requests (the other modes: one request per key) in flight per shard when `concurrency`
 * is not given. 8 left a burst of logins waiting a second behind one write batch on DynamoDB Local
 * (bench/RESULTS.md, "The logins' DynamoDB tail"); a key's updates still go one after another.
 */
export const DEFAULT_DYNAMODB_ITEM_CONCURRENCY = 32;

/** Requests in flight per shard when `concurrency` is not given: by mode, since a put request carries 25 items and the others one. */
export function defaultDynamoConcurrency(mode: DynamoSinkOptions['mode']): number {
  return (mode ?? 'put') === 'put' ? DEFAULT_DYNAMODB_CONCURRENCY : DEFAULT_DYNAMODB_ITEM_CONCURRENCY;
}

export function dynamoDbSink(options: DynamoSinkOptions, context: SinkContext): Sink {
  return new DynamoDbSink(options, context);
}

export class DynamoDbSink implements Sink {
  readonly id: string;
  readonly #table: string;
  readonly #context: SinkContext;
  readonly #client: DynamoSender;
  readonly #concurrency: number;
  readonly #retry: RetryOptions;
  /** What a refused condition means: a lower value (`max`, `latest`) or an offset applied already (`applyOnce`). */
  readonly #refusedOutcome: 'condition_failed' | 'already_applied';
  readonly #toItem: (envelope: Envelope<unknown>) => ItemResult;
  readonly #toUpdate: UpdateBuilder | undefined;
  readonly #keyNames: readonly [string, string | undefined];
  /** `max` mode: per key, a value the stored maximum is known to be at least (a write landed or was refused). */
  readonly #knownMax: LRUCache<string, number> | undefined;
  readonly #isMax: boolean;
  /** `add` mode: a run of one item's records from one source partition goes as one update. */
  readonly #isAdd: boolean;
  readonly #applyOnce: boolean;
  readonly #labels: { step: string };
  #tail: Promise<void> = Promise.resolve();
  #closed = false;

  constructor(options: DynamoSinkOptions, context: SinkContext) {
    const problems = [...updateOptionProblems(options)];
    if (!options.table) problems.push('table is required');
    const concurrency = options.concurrency ?? defaultDynamoConcurrency(options.mode);
    if (options.knownMaxKeys !== undefined && !(Number.isInteger(options.knownMaxKeys) && options.knownMaxKeys >= 0)) problems.push('knownMaxKeys must be an integer >= 0');
    if (!(Number.isInteger(concurrency) && concurrency >= 1)) problems.push('concurrency must be an integer >= 1');
    const policy = { ...DEFAULT_RETRY_POLICY, ...options.retry };
    problems.push(...retryPolicyProblems(policy));
    if (options.unavailableTimeoutMs !== undefined && !(options.unavailableTimeoutMs >= 0)) problems.push('unavailableTimeoutMs must be >= 0');
    const target = options.update?.attribute;
    if (target !== undefined && [options.partitionKey?.name, options.sortKey?.name, options.ttl?.attribute].includes(target))
      problems.push('update.attribute must not be a key or the TTL attribute');
    const mapped = mappedAttributeNames(options.attributes);
    for (const name of options.ifAbsent ?? [])
      if (mapped !== undefined && !mapped.includes(name) && name !== options.ttl?.attribute) problems.push(`ifAbsent: "${name}" is not a mapped attribute`);
    if (problems.length > 0) throw new ConfigError(problems.map((p) => `${options.id}: ${p}`), { stepId: options.id });

    this.id = options.id;
    this.#table = options.table;
    this.#context = context;
    this.#toItem = compileItemMapper(options, options.id);
    const mode = options.mode ?? 'put';
    this.#toUpdate = mode === 'put' ? undefined : compileWriteBuilder(options, options.table, options.id);
    this.#keyNames = [options.partitionKey.name, options.sortKey?.name];
    this.#isMax = mode === 'max';
    this.#isAdd = mode === 'add';
    this.#applyOnce = options.applyOnce === true;
    this.#refusedOutcome = this.#applyOnce ? 'already_applied' : 'condition_failed';
    const knownMaxKeys = options.knownMaxKeys ?? 100_000;
    this.#knownMax = mode === 'max' && options.ttl === undefined && knownMaxKeys > 0 ? new LRUCache({ max: knownMaxKeys }) : undefined;
    this.#concurrency = concurrency;
    this.#labels = { step: options.id };
    this.#client = options.client;
    const dynamodb =
      context.health?.dependency('dynamodb') ??
      new Dependency('dynamodb', {
        logger: context.logger,
        metrics: context.metrics,
        ...(options.now === undefined ? {} : { now: options.now }),
        ...(options.unavailableTimeoutMs === undefined ? {} : { unavailableTimeoutMs: options.unavailableTimeoutMs }),
      });
    this.#retry = {
      policy,
      dependency: dynamodb,
      classify: (error) => sinkErrorOf(error, this.id, `table ${this.#table}`),
      unreachable: isUnreachable,
      sleep: options.sleep ?? ((ms) => delay(ms)),
      random: options.random ?? Math.random,
      onRetry: (retry, error) => {
        context.metrics.inc('sink_retries_total', this.#labels);
        context.logger.debug({ step: this.id, table: this.#table, retry, err: error.message }, 'dynamodb write failed; retrying');
      },
      ...(options.unavailableTimeoutMs === undefined ? {} : { giveUpAfterMs: options.unavailableTimeoutMs }),
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
    const retrier = new Retrier(this.#retry);
    let pending = chunk;
    for (;;) {
      let output: BatchWriteItemCommandOutput;
      try {
        output = (await this.#timed(new BatchWriteItemCommand({ RequestItems: { [this.#table]: pending.map((r) => ({ PutRequest: { Item: r.item } })) } }))) as BatchWriteItemCommandOutput;
      } catch (error) {
        // One bad item fails the whole request: write the chunk one by one to find it.
        if (dynamoFailureOf(error) === 'invalid') return this.#putOneByOne(pending);
        await retrier.failed(error).catch((e: unknown) => {
          throw this.#fatal(e);
        });
        continue;
      }
      retrier.succeeded();
      const unprocessed = output.UnprocessedItems?.[this.#table] ?? [];
      const left = unprocessed.length === 0 ? [] : this.#match(pending, unprocessed);
      const still = new Set(left);
      for (const r of pending) if (!still.has(r)) this.#landed(r);
      if (left.length === 0) return;
      pending = left;
      // DynamoDB answered and handed these back (throttled): retried, but not an outage.
      await retrier.failed(new SinkRetriableError(`${this.id}: table ${this.#table}: ${left.length} unprocessed items`, { stepId: this.id })).catch((e: unknown) => {
        throw this.#fatal(e);
      });
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
        await retrying(() => this.#timed(new PutItemCommand({ TableName: this.#table, Item: r.item })), this.#retry);
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

  // ---- max, add and update modes ----

  async #updateAll(ready: readonly Ready[]): Promise<void> {
    const byKey = new Map<string, Ready[]>();
    for (const r of ready) {
      const list = byKey.get(r.keyId);
      if (list === undefined) byKey.set(r.keyId, [r]);
      else list.push(r);
    }
    // Keys in parallel, the updates of one key in order.
    await runBounded([...byKey.values()], this.#concurrency, async (list) => {
      if (this.#isAdd && list.length > 1) return this.#addRuns(list);
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

  /**
   * `add` mode: one key's records of the batch as a single update (the sum; see `combineAdds`). A hot
   * key (a popular game's counter) otherwise took one request per record, one after another, and a
   * batch that grew while the sink was slow took longer still. Refused (`applyOnce`: some of it was
   * applied before: a replay), invalid, or not summable exactly, the records go in smaller steps:
   * each run of one source partition as one update, then record by record.
   */
  async #addRuns(list: readonly Ready[]): Promise<void> {
    const toUpdate = this.#toUpdate as UpdateBuilder;
    // Built once: for the combined updates and, if they are not written, for each record's own.
    const updates = list.map((r) => toUpdate(r.envelope, r.item, r.key));
    if (await this.#updateRun(list, updates)) return;
    // Where each run of one source partition ends.
    const ends: number[] = [];
    for (let i = 1; i < list.length; i++) {
      const a = (list[i - 1] as Ready).envelope.meta;
      const b = (list[i] as Ready).envelope.meta;
      if (a.partition !== b.partition || a.topic !== b.topic) ends.push(i);
    }
    ends.push(list.length);
    let start = 0;
    for (const end of ends) {
      // A single run is the whole list, tried above.
      const written = ends.length > 1 && (await this.#updateRun(list.slice(start, end), updates.slice(start, end)));
      if (!written) for (let i = start; i < end; i++) await this.#update(list[i] as Ready, updates[i]);
      start = end;
    }
  }

  /** Writes records as one update; `false` when it was not written (the caller goes in smaller steps). */
  async #updateRun(run: readonly Ready[], updates: readonly UpdateResult[]): Promise<boolean> {
    if (run.length < 2 || !updates.every((u): u is UpdateItemResult & { ok: true } => u.ok && !('put' in u))) return false;
    const combined = combineAdds(updates, this.#applyOnce);
    if (combined === undefined) return false;
    let applied: boolean;
    try {
      applied = await this.#sendUpdate(combined);
    } catch (error) {
      const failure = dynamoFailureOf(error);
      if (failure === 'condition' || failure === 'invalid') return false;
      throw this.#fatal(error);
    }
    for (const r of run) r.envelope.lease.release();
    this.#context.metrics.inc('sink_records_total', applied ? this.#labels : { ...this.#labels, outcome: 'retry_already_applied' }, run.length);
    return true;
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
      const applied = await this.#sendUpdate(update);
      remember();
      r.envelope.lease.release();
      this.#context.metrics.inc('sink_records_total', applied ? this.#labels : { ...this.#labels, outcome: 'retry_already_applied' });
      return true;
    } catch (error) {
      const failure = dynamoFailureOf(error);
      if (failure === 'condition') {
        // A normal outcome: the stored value already wins, or (applyOnce) the record was applied before.
        remember();
        r.envelope.lease.release();
        this.#context.metrics.inc('sink_records_total', { ...this.#labels, outcome: this.#refusedOutcome });
        return true;
      }
      if (failure === 'invalid') {
        this.#deadLetter(r.envelope, `DynamoDB refused the update: ${(error as Error).message}`, r.keyText, error);
        return false;
      }
      throw this.#fatal(error);
    }
  }

  /**
   * Sends an update through the one retry path. In `add` mode a retry after a failure that may have
   * been applied all the same (a timeout, a lost connection, a 5xx) is conditional on the item not
   * holding this write's id already: refused, the earlier try landed, and the update is not applied
   * twice. Resolves false then.
   */
  async #sendUpdate(update: UpdateResult & { ok: true }): Promise<boolean> {
    const retrier = new Retrier(this.#retry);
    const first = commandOf(update);
    let command = first;
    for (;;) {
      try {
        await this.#timed(command);
        retrier.succeeded();
        return true;
      } catch (error) {
        if (command !== first && dynamoFailureOf(error) === 'condition') {
          retrier.succeeded();
          this.#context.logger.warn({ step: this.id, table: this.#table }, 'an update that timed out had been applied; its retry was refused, not counted twice');
          return false;
        }
        await retrier.failed(error);
        if ('retryInput' in update && update.retryInput !== undefined && isAmbiguous(error)) command = new UpdateItemCommand(update.retryInput);
      }
    }
  }

  // ---- shared ----

  async #timed(command: BatchWriteItemCommand | PutItemCommand | UpdateItemCommand): Promise<unknown> {
    const started = performance.now();
    try {
      return await this.#client.send(command);
    } finally {
      this.#context.metrics.observe('sink_request_latency_ms', this.#labels, performance.now() - started);
    }
  }

  #deadLetter(envelope: Envelope<unknown>, reason: string, keyText: string, cause?: unknown): void {
    const error = new SinkPermanentError(`${reason} (table ${this.#table}, key ${keyText})`, { stepId: this.id, ...(cause === undefined ? {} : { cause }) });
    this.#context.logger.debug({ step: this.id, table: this.#table, ...(logsRecordContent() ? { key: keyText, reason } : {}) }, 'dynamodb record to dead letters');
    this.#context.deadLetter(envelope, error, this.id);
  }

  /** A failure that stops the sink: given up after the outage timeout, or one no retry can fix (a missing table, credentials). */
  #fatal(error: unknown): TributaryError {
    const cause = error instanceof TributaryError ? (error.cause ?? error) : error;
    this.#context.logger.warn({ step: this.id, table: this.#table, err: cause }, 'dynamodb write failed');
    if (error instanceof TributaryError) return error;
    const detail = `${(error as Error)?.name ?? 'Error'}: ${(error as Error)?.message ?? String(error)}`;
    return new SinkPermanentError(`${this.id}: table ${this.#table}: ${detail}`, { stepId: this.id, cause: error });
  }

}
