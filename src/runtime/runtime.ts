/**
 * The dataflow runtime: a Kafka source feeding an RxJS pipeline, with bounded in-flight records,
 * offsets committed only past records whose leases are released, dead letters, and graceful shutdown.
 *
 * @example
 * ```ts
 * const runtime = createRuntime({ source: { brokers, groupId, topics }, deadLetterTopic: 'dlq' });
 * installSignalHandlers(runtime);
 * await runtime.run((input$, ctx) => input$.pipe(map((batch) => batch.map(decode)), ctx.toSink(sink)));
 * ```
 */
import { Subject, type Observable, type Subscription } from 'rxjs';
import { UnavailableError } from '../core/errors.ts';
import { DEFAULT_UNAVAILABLE_TIMEOUT_MS, Health, type HealthReport } from '../core/health.ts';
import type { Sink, SinkContext } from '../core/sink.ts';
import type { KafkaSource } from '../sources/source.ts';
import { KafkaChangelogs } from './changelog.ts';
import { Checkpointer } from './checkpoint.ts';
import type { Pipeline, PipelineContext, RuntimeEvent, RuntimeOptions, ShutdownResult } from './context.ts';
import { KafkaDeadLetters } from './dead-letters.ts';
import type { Batch, Envelope } from '../core/envelope.ts';
import { InflightGate } from './inflight.ts';
import { Intake } from './intake.ts';
import { KafkaProducer } from '../sinks/kafka-producer.ts';
import { createLogger, type Logger } from '../core/logger.ts';
import { Metrics } from '../core/metrics.ts';
import { PartitionBook } from './partitions.ts';
import { deadLetterProducerOptions, defaultSource, validateRuntimeOptions } from './runtime-options.ts';
import { sinkRunner } from './sink-runner.ts';
import { Telemetry } from './telemetry.ts';
import { MemoryGuard, watchMemory } from './memory-guard.ts';
import { withTimeout } from './timeouts.ts';

export type { Pipeline, PipelineContext, RuntimeEvent, RuntimeOptions, ShutdownResult } from './context.ts';
export { defaultSource } from './runtime-options.ts';

/** The shutdown did not finish within `shutdownTimeoutMs`. */
export class ShutdownTimeoutError extends Error {
  constructor(timeoutMs: number) {
    super(`graceful shutdown did not finish within ${timeoutMs} ms; committed what was done`);
    this.name = 'ShutdownTimeoutError';
  }
}

type State = 'idle' | 'running' | 'draining' | 'stopped' | 'failed';

function isEnvelope(value: unknown): value is Envelope<unknown> {
  return typeof value === 'object' && value !== null && 'lease' in value && 'meta' in value;
}

export class Runtime {
  readonly metrics: Metrics;
  readonly logger: Logger;
  readonly events: Observable<RuntimeEvent>;
  /**
   * Kafka, S3 and DynamoDB as the pipeline sees them, and readiness: see `ready`. An outage longer
   * than a dependency's timeout fails the pipeline (`UnavailableError`).
   */
  readonly health: Health;
  readonly #options: RuntimeOptions;
  readonly #eventSubject = new Subject<RuntimeEvent>();
  readonly #source: KafkaSource;
  readonly #producer: KafkaProducer;
  readonly #deadLetters: KafkaDeadLetters;
  readonly #gate: InflightGate;
  readonly #book: PartitionBook;
  readonly #telemetry: Telemetry;
  readonly #checkpointer: Checkpointer;
  readonly #changelogs: KafkaChangelogs;
  readonly #intake: Intake;
  readonly #input = new Subject<Batch<Envelope<Buffer | null>>>();
  readonly #sinks = new Set<Sink<never>>();
  readonly #finished = Promise.withResolvers<void>();
  #state: State = 'idle';
  #pipelineDone: Promise<void> = Promise.resolve();
  #pipelineSubscription: Subscription | undefined;
  #timers: NodeJS.Timeout[] = [];
  /** A backpressure flush loop runs (see `#relieve`). */
  #relieving = false;
  #shutdown: Promise<ShutdownResult> | undefined;

  constructor(options: RuntimeOptions) {
    validateRuntimeOptions(options);
    this.#options = options;
    this.logger = options.logger ?? createLogger({ component: 'runtime', groupId: options.source.groupId });
    this.metrics = options.metrics ?? new Metrics();
    this.events = this.#eventSubject.asObservable();
    this.health = new Health({
      logger: this.logger,
      metrics: this.metrics,
      unavailableTimeoutMs: { kafka: options.source.unavailableTimeoutMs ?? DEFAULT_UNAVAILABLE_TIMEOUT_MS, default: options.sinkUnavailableTimeoutMs ?? DEFAULT_UNAVAILABLE_TIMEOUT_MS },
    });
    // Every Kafka client of the runtime reports its retries and answers to the one Kafka dependency.
    const kafka = this.health.dependency('kafka');
    const source = { ...options.source, dependency: kafka };
    this.#book = new PartitionBook((lease) => this.#gate.remove(lease.records, lease.bytes));
    this.#gate = new InflightGate(options.limits ?? {}, {
      onClose: (reason) => {
        this.#intake.pauseAll(reason);
        this.#relieve();
      },
      onOpen: () => this.#intake.resumeAll(),
    });
    this.#source = (options.createSource ?? defaultSource)(source, this.logger);
    this.#producer = new KafkaProducer({ ...deadLetterProducerOptions(options), dependency: kafka });
    this.#deadLetters = new KafkaDeadLetters({
      topic: options.deadLetterTopic,
      producer: this.#producer,
      logger: this.logger,
      metrics: this.metrics,
      onFatal: (error) => this.#fatal(error),
    });
    this.#telemetry = new Telemetry({
      metrics: this.metrics,
      logger: this.logger,
      book: this.#book,
      gate: this.#gate,
      source: this.#source,
      topics: options.source.topics,
    });
    this.#changelogs = new KafkaChangelogs({
      connection: source,
      groupId: options.source.groupId,
      producer: this.#producer,
      logger: this.logger,
      metrics: this.metrics,
    });
    this.#checkpointer = new Checkpointer({
      book: this.#book,
      source: this.#source,
      deadLetters: this.#deadLetters,
      state: this.#changelogs,
      kafka,
      metrics: this.metrics,
      logger: this.logger,
      events: this.#eventSubject,
    });
    this.#intake = new Intake({
      source: this.#source,
      book: this.#book,
      gate: () => this.#gate,
      input: this.#input,
      events: this.#eventSubject,
      metrics: this.metrics,
      logger: this.logger,
      checkpoint: (periodic) => this.#checkpointer.checkpoint(periodic),
      revocationTimeoutMs: options.revocationTimeoutMs ?? 10_000,
      running: () => this.#state === 'running',
      onError: (error) => this.#fatal(error),
    });
  }

  /**
   * Whether the process is ready: its consumer has joined the group and Kafka, S3 and DynamoDB
   * answer (as far as its calls tell). False while one is in an outage that Tributary rides through.
   * Also the `ready` gauge; each change is logged once.
   */
  get ready(): boolean {
    return this.health.ready;
  }

  /** Readiness and each dependency's state (available, since when not, last error). */
  healthReport(): HealthReport {
    return this.health.report();
  }

  /** Records read and not done, whether the source is paused, and the holds on it (`sink:<id>:overload`). */
  get inflight(): { records: number; bytes: number; limitRecords: number; limitBytes: number; paused: boolean; holds: readonly string[] } {
    return { records: this.#gate.records, bytes: this.#gate.bytes, limitRecords: this.#gate.limitRecords, limitBytes: this.#gate.limitBytes, paused: this.#gate.closed, holds: this.#gate.holds };
  }

  /**
   * Starts the source and runs `pipeline` until shutdown. Resolves once the pipeline drained and
   * the offsets were committed; rejects on a fatal error or a shutdown past its deadline.
   */
  async run(pipeline: Pipeline): Promise<void> {
    if (this.#state !== 'idle') throw new Error('run() may be called once');
    this.#state = 'running';
    const ctx = this.#context();
    const output$ = pipeline(this.#input.asObservable(), ctx);
    this.#pipelineDone = new Promise<void>((resolve, reject) => {
      this.#pipelineSubscription = output$.subscribe({
        next: (value) => {
          if (isEnvelope(value)) value.lease.release();
          else if (Array.isArray(value)) for (const item of value) if (isEnvelope(item)) item.lease.release();
        },
        error: (error: unknown) => {
          reject(error);
          if (this.#state === 'running') this.#fatal(error as Error);
        },
        complete: () => {
          resolve();
          if (this.#state === 'running') void this.shutdown('pipeline completed');
        },
      });
    });
    this.#pipelineDone.catch(() => {});
    const { commitIntervalMs = 5000, lagIntervalMs = 5000, metricsIntervalMs = 1000 } = this.#options;
    const kafka = this.health.dependency('kafka');
    this.#timers.push(
      setInterval(
        () =>
          this.#checkpointer.checkpoint(true).catch((error: unknown) => {
            // In an outage the commit is tried again at the next checkpoint; the outage is logged once per interval.
            if (kafka.available) this.logger.warn({ err: error }, 'checkpoint failed');
            else this.logger.debug({ err: error }, 'checkpoint failed: Kafka unavailable');
          }),
        commitIntervalMs,
      ),
      setInterval(() => this.#telemetry.pollLag(), lagIntervalMs),
      setInterval(() => this.#telemetry.publish(), metricsIntervalMs),
      setInterval(() => this.#watchOutages(), 1000),
    );
    const { memoryLimitBytes } = this.#options;
    if (memoryLimitBytes !== undefined) this.#timers.push(watchMemory(new MemoryGuard({ limitBytes: memoryLimitBytes }), { logger: this.logger, metrics: this.metrics, gate: this.#gate }));
    // Sinks that recover their position per partition forget revoked ones (their new owner writes them now),
    // and those whose writes a new owner could miss hold them while the member may lose partitions.
    this.events.subscribe((event) => {
      if (event.type === 'revoked') for (const sink of this.#sinks) sink.partitionsRevoked?.(event.partitions);
      if (event.type === 'assigned') for (const sink of this.#sinks) sink.partitionsAssigned?.(event.partitions);
      if (event.type === 'rebalancing') for (const sink of this.#sinks) sink.rebalanceStarted?.();
      if (event.type === 'rebalanced') for (const sink of this.#sinks) sink.rebalanceEnded?.();
    });
    this.#source.start(this.#intake).then(
      () => {
        if (this.#state === 'running') this.health.started();
      },
      (error: unknown) => this.#fatal(error as Error),
    );
    return this.#finished.promise;
  }

  /** An outage longer than its dependency's timeout fails the pipeline, with an error that says so. */
  #watchOutages(): void {
    const [expired] = this.health.expired();
    if (expired === undefined) return;
    this.#fatal(new UnavailableError(expired.name, expired.unavailableForMs, { cause: expired.lastError }));
  }

  #context(): PipelineContext {
    const sinkContext: SinkContext = { deadLetter: this.#deadLetters.deadLetter, logger: this.logger, metrics: this.metrics, health: this.health };
    const host = {
      logger: this.logger,
      metrics: this.metrics,
      defaultMaxQueuedRecords: this.#gate.maxRecords,
      hold: (name: string) => this.#gate.hold(name),
      unhold: (name: string) => this.#gate.unhold(name),
      register: this.#checkpointer.register.bind(this.#checkpointer),
    };
    return {
      deadLetter: this.#deadLetters.deadLetter,
      logger: this.logger,
      metrics: this.metrics,
      sinkContext,
      events: this.events,
      state: this.#changelogs,
      toSink: (sink, batching = {}) => {
        this.#sinks.add(sink as Sink<never>);
        return sinkRunner(sink, batching, host);
      },
    };
  }

  /** Flushes every sink and the dead letters, then commits (what the periodic timer does). */
  checkpoint(): Promise<void> {
    return this.#checkpointer.checkpoint();
  }

  /**
   * The in-flight bound closed the gate. Sinks that pace their own durability (Parquet files cut by
   * rotation) may hold much of the bound: flush every sink now, and again `backpressureFlushMs` after
   * each flush while the gate stays closed, since the records the pipeline was still working on reach
   * the sinks after the first flush and would otherwise wait for a rotation with the source paused.
   */
  #relieve(): void {
    if (this.#relieving) return;
    this.#relieving = true;
    const pauseMs = this.#options.backpressureFlushMs ?? 500;
    void (async () => {
      let failed = false;
      while (this.#gate.closed && this.#state === 'running') {
        await this.checkpoint().catch((error: unknown) => {
          // Once per pause: a sink or the broker down fails every try alike.
          if (!failed) this.logger.warn({ err: error }, 'checkpoint on backpressure failed');
          failed = true;
        });
        if (!this.#gate.closed) break;
        await new Promise((resolve) => setTimeout(resolve, pauseMs).unref());
      }
      this.#relieving = false;
    })();
  }

  /** Stops fetching, drains the pipeline, flushes, commits and leaves the group. */
  shutdown(reason = 'requested'): Promise<ShutdownResult> {
    this.#shutdown ??= this.#doShutdown(reason);
    return this.#shutdown;
  }

  async #doShutdown(reason: string): Promise<ShutdownResult> {
    if (this.#state === 'idle') {
      this.#state = 'stopped';
      await this.#closeAll();
      this.#finished.resolve();
      return { clean: true, reason };
    }
    if (this.#state !== 'running') {
      await this.#finished.promise.catch(() => {});
      return { clean: false, reason };
    }
    this.#state = 'draining';
    this.health.stopped();
    const timeoutMs = this.#options.shutdownTimeoutMs ?? 25_000;
    this.logger.info({ reason, timeoutMs }, 'shutting down');
    this.#eventSubject.next({ type: 'stopping', reason });
    let failure: Error | undefined;
    try {
      await withTimeout(this.#drain(), timeoutMs, 'shutdown', () => new ShutdownTimeoutError(timeoutMs));
    } catch (error) {
      failure = error as Error;
      this.logger.error({ err: error }, 'shutdown not clean; committing what is done');
      await withTimeout(this.#checkpointer.commitDone(), 5000, 'final commit').catch((e: unknown) => this.logger.error({ err: e }, 'final commit failed'));
    }
    await this.#closeAll(!failure);
    this.#state = failure ? 'failed' : 'stopped';
    if (failure) this.#finished.reject(failure);
    else this.#finished.resolve();
    this.logger.info({ clean: !failure }, 'stopped');
    return { clean: !failure, reason };
  }

  async #drain(): Promise<void> {
    await this.#source.stop();
    this.#intake.close();
    this.#input.complete();
    await this.#pipelineDone;
    await this.#deadLetters.flush();
    await this.checkpoint();
  }

  #fatal(error: Error): void {
    if (this.#state !== 'running' && this.#state !== 'idle') return;
    this.#state = 'failed';
    this.health.stopped();
    this.logger.error({ err: error }, 'pipeline failed; stopping');
    this.#eventSubject.next({ type: 'stopping', reason: `failure: ${error.message}` });
    void (async () => {
      await withTimeout(this.#source.stop(), 5000, 'source stop').catch(() => {});
      this.#intake.close(false);
      this.#pipelineSubscription?.unsubscribe();
      // Commit points never pass a record whose lease is held, so committing here is safe.
      await withTimeout(this.#checkpointer.commitDone(), 5000, 'commit after failure').catch((e: unknown) => this.logger.error({ err: e }, 'commit after failure failed'));
      await this.#closeAll(false);
      this.#finished.reject(error);
    })();
  }

  /**
   * Closes sinks, the dead-letter producer and the source (leaving the group). After an unclean end
   * the sinks are not closed (a stuck one would hold the exit) and the rest gets a short budget.
   */
  async #closeAll(clean = true): Promise<void> {
    for (const timer of this.#timers) clearInterval(timer);
    this.#timers = [];
    this.#telemetry.publish();
    const step = async (what: string, action: () => Promise<void>, ms: number) =>
      withTimeout(action(), ms, what).catch((error: unknown) => this.logger.warn({ err: error }, `${what} failed`));
    if (clean) for (const sink of this.#sinks) await step(`closing sink ${sink.id}`, () => sink.close(), 10_000);
    const budget = clean ? 10_000 : 3000;
    await Promise.all([
      step('closing the state reader', () => this.#changelogs.close(), budget),
      step('closing the dead-letter producer', () => this.#producer.close(), budget),
      step('closing the source', () => this.#source.close(), budget),
    ]);
    this.#eventSubject.complete();
  }
}

/** Builds a runtime; nothing connects until `run`. */
export function createRuntime(options: RuntimeOptions): Runtime {
  return new Runtime(options);
}
