/**
 * The upload tail both S3 sinks share (Parquet and raw): a closed file's bytes go up through the one
 * retry path (`core/retry.ts`), PutObject below the multipart threshold and a multipart `Upload`
 * above it, and its leases are released once S3 has it.
 *
 * Rebalances: a file whose partition moves to another member must not land after that member listed
 * the partition's objects (its rows would be written twice, under other offsets). So from the moment
 * the member hears of a rebalance (`rebalanceStarted`, before it rejoins) until its next assignment
 * (`rebalanceEnded`) no upload starts, and uploads in flight are aborted; afterwards a file of a
 * revoked partition (`Lease.revoked`) is dropped, its records left to the partition's next owner,
 * and the others go up. A group cannot complete a rebalance before every member rejoined, so the next
 * owner lists only after this member stopped uploading the partition. What is left: a request S3 had
 * received whole before the abort, finishing after the next owner's listing (README, Exactness).
 */
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import type { SchedulerLike, Subscription } from 'rxjs';
import { SinkPermanentError, UnavailableError } from '../core/errors.ts';
import type { Lease } from '../core/envelope.ts';
import { Dependency } from '../core/health.ts';
import { retrying, type RetryOptions, type RetryPolicy } from '../core/retry.ts';
import type { SinkContext } from '../core/sink.ts';
import { isUnreachable, sinkErrorOf } from './aws-errors.ts';

export interface S3UploadsOptions {
  /** The sink's step id, for errors, logs and metrics. */
  readonly id: string;
  readonly client: S3Client;
  readonly bucket: string;
  /** Objects of at least this size go up as a multipart upload. */
  readonly multipartThresholdBytes: number;
  readonly partSizeBytes: number;
  readonly scheduler: SchedulerLike;
  readonly random: () => number;
  readonly retry: RetryPolicy;
  /** How long S3 may fail before the sink gives up (default: the S3 dependency's outage timeout). */
  readonly unavailableTimeoutMs: number | undefined;
  /** Past this, a rebalance with no new assignment stops holding uploads (default 60 s, the rebalance timeout). */
  readonly rebalanceHoldMs?: number;
  /** What a file is called in logs ("S3 Parquet file"). */
  readonly noun: string;
}

/** A closed file on its way to S3. */
export interface ClosedObject {
  readonly key: string;
  readonly rows: number;
  /** All of one topic-partition's records. */
  readonly leases: readonly Lease[];
  /** Its bytes; a failure is a bug or a value the encoder refused, not retried. */
  readonly body: () => Promise<Uint8Array>;
  /** Once the object is uploaded, dropped (its partition was revoked) or failed. */
  readonly settled?: (outcome: 'uploaded' | 'revoked' | 'failed') => void;
}

export class S3Uploads {
  /** S3, as the runtime's health sees it (or the sink's own when it runs alone). */
  readonly dependency: Dependency;
  readonly #o: S3UploadsOptions;
  readonly #context: SinkContext;
  readonly #labels: { step: string };
  readonly #running = new Set<Promise<void>>();
  readonly #requests = new Set<AbortController>();
  #hold: { readonly ended: PromiseWithResolvers<void>; readonly timer: Subscription } | undefined;
  /** The first upload that failed for good: the sink fails with it. */
  failure: Error | undefined;

  constructor(options: S3UploadsOptions, context: SinkContext) {
    this.#o = options;
    this.#context = context;
    this.#labels = { step: options.id };
    this.dependency =
      context.health?.dependency('s3') ??
      new Dependency('s3', {
        logger: context.logger,
        metrics: context.metrics,
        now: () => options.scheduler.now(),
        ...(options.unavailableTimeoutMs === undefined ? {} : { unavailableTimeoutMs: options.unavailableTimeoutMs }),
      });
  }

  /** Uploads running or waiting. */
  get size(): number {
    return this.#running.size;
  }

  /** Starts the object's upload; `failure` is set if it fails for good. */
  start(object: ClosedObject): void {
    const upload: Promise<void> = this.#upload(object).finally(() => this.#running.delete(upload));
    this.#running.add(upload);
  }

  /** Resolves once any upload settles (at once when none runs). */
  async any(): Promise<void> {
    if (this.#running.size > 0) await Promise.race(this.#running);
  }

  /** Resolves once every upload, including those started meanwhile, settled. */
  async all(): Promise<void> {
    while (this.#running.size > 0) await Promise.all(this.#running);
  }

  /** The member heard of a rebalance: hold every upload until `rebalanceEnded`, abort those in flight. */
  rebalanceStarted(): void {
    if (this.#hold === undefined) {
      const holdMs = this.#o.rebalanceHoldMs ?? 60_000;
      const timer = this.#o.scheduler.schedule(() => {
        this.#context.logger.warn({ step: this.#o.id, holdMs }, 'no new assignment after a rebalance began; uploads go ahead');
        this.rebalanceEnded();
      }, holdMs);
      this.#hold = { ended: Promise.withResolvers<void>(), timer };
    }
    if (this.#requests.size > 0) {
      this.#context.metrics.inc('sink_uploads_total', { ...this.#labels, outcome: 'aborted' }, this.#requests.size);
      this.#context.logger.info({ step: this.#o.id, aborted: this.#requests.size, waiting: this.#running.size }, 'rebalance: uploads in flight aborted; uploads wait for the next assignment');
    }
    for (const request of this.#requests) request.abort();
  }

  /** The member has its next assignment (revocations applied): held uploads go on, or are dropped. */
  rebalanceEnded(): void {
    const hold = this.#hold;
    this.#hold = undefined;
    hold?.timer.unsubscribe();
    hold?.ended.resolve();
  }

  /** The one retry path for `what` (uploads, listings); outages are logged by the S3 dependency. */
  retry(what: string): RetryOptions {
    const { scheduler, random, retry, unavailableTimeoutMs, id } = this.#o;
    return {
      policy: retry,
      dependency: this.dependency,
      classify: (error) => sinkErrorOf(error, id, what),
      unreachable: isUnreachable,
      sleep: (ms) => new Promise((resolve) => scheduler.schedule(resolve, ms)),
      random,
      onRetry: (attempt, error) => {
        this.#context.metrics.inc('sink_retries_total', this.#labels);
        this.#context.logger.debug({ step: id, retry: attempt, err: error.message }, 'S3 call failed; retrying');
      },
      ...(unavailableTimeoutMs === undefined ? {} : { giveUpAfterMs: unavailableTimeoutMs }),
    };
  }

  async #upload(object: ClosedObject): Promise<void> {
    const { id, bucket } = this.#o;
    let outcome: 'uploaded' | 'revoked' | 'failed' = 'failed';
    try {
      let body: Uint8Array;
      try {
        body = await object.body();
      } catch (error) {
        throw new SinkPermanentError(`${id}: encoding ${object.key} failed: ${message(error)}`, { cause: error, stepId: id });
      }
      const what = `upload of s3://${bucket}/${object.key}`;
      const uploaded = await retrying(() => this.#attempt(object, body), this.retry(what)).catch((error: unknown) => {
        if (revoked(object)) return false;
        throw error instanceof UnavailableError ? error : new SinkPermanentError(`${id}: ${what} refused: ${message(error)}`, { cause: error, stepId: id });
      });
      for (const lease of object.leases) lease.release();
      if (uploaded) {
        outcome = 'uploaded';
        this.#context.metrics.inc('sink_files_total', this.#labels);
        this.#context.metrics.inc('sink_records_total', this.#labels, object.rows);
      } else {
        outcome = 'revoked';
        this.#context.metrics.inc('revoked_records_total', this.#labels, object.rows);
      }
    } catch (error) {
      // The leases stay held: the runtime must not commit past these records.
      this.failure ??= error as Error;
      this.#context.logger.error({ step: id, key: object.key, err: message(error) }, `${this.#o.noun} not written`);
    } finally {
      this.#context.metrics.inc('sink_uploads_total', { ...this.#labels, outcome });
      object.settled?.(outcome);
    }
  }

  /**
   * One try: waits out a rebalance, gives up on a revoked partition (false), and tries again when a
   * rebalance aborted the request.
   */
  async #attempt(object: ClosedObject, body: Uint8Array): Promise<boolean> {
    for (;;) {
      if (this.#hold !== undefined) await this.#hold.ended.promise;
      if (revoked(object)) return false;
      const request = new AbortController();
      this.#requests.add(request);
      const startedAt = this.#o.scheduler.now();
      try {
        await this.#send(object.key, body, request.signal);
        return true;
      } catch (error) {
        if (!request.signal.aborted) throw error;
      } finally {
        this.#requests.delete(request);
        if (!request.signal.aborted) this.#context.metrics.observe('sink_request_latency_ms', this.#labels, this.#o.scheduler.now() - startedAt);
      }
    }
  }

  async #send(key: string, body: Uint8Array, signal: AbortSignal): Promise<void> {
    const { client, bucket, multipartThresholdBytes, partSizeBytes } = this.#o;
    if (body.byteLength < multipartThresholdBytes) {
      await client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }), { abortSignal: signal });
      return;
    }
    const upload = new Upload({
      client,
      params: { Bucket: bucket, Key: key, Body: body },
      partSize: partSizeBytes,
      queueSize: 2,
      // A failed attempt aborts its multipart upload; the retry starts a new one.
      leavePartsOnError: false,
    });
    const abort = () => void upload.abort().catch(() => {});
    signal.addEventListener('abort', abort, { once: true });
    try {
      await upload.done();
    } finally {
      signal.removeEventListener('abort', abort);
    }
  }
}

const revoked = (object: ClosedObject): boolean => object.leases[0]?.revoked === true;

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
