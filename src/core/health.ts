/**
 * Whether the services a pipeline depends on answer (Kafka, S3, DynamoDB), and so whether the
 * process is ready.
 *
 * A `Dependency` learns from the calls made to it: a failed call that will be retried starts an
 * outage (logged once, then at most once per `logIntervalMs` while it lasts), and the next call that
 * succeeds ends it (logged with its length). `Health` holds them all: the process is ready once
 * it has started and every dependency answers. It publishes the `ready` and `dependency_available`
 * gauges and logs each change of readiness once.
 *
 * @example
 * ```ts
 * const health = new Health({ logger, metrics });
 * const s3 = health.dependency('s3');
 * try { await put(); s3.succeeded(); } catch (error) { s3.failed(error); }
 * health.ready; // false while S3 fails
 * ```
 */
import { describeError } from './errors.ts';
import type { Logger } from './logger.ts';
import type { Metrics } from './metrics.ts';

/** Default: how long a dependency may stay unavailable before the process gives up (5 minutes). */
export const DEFAULT_UNAVAILABLE_TIMEOUT_MS = 300_000;
/** Default: an ongoing outage is logged at most this often. */
export const DEFAULT_OUTAGE_LOG_INTERVAL_MS = 10_000;

export interface DependencyOptions {
  /** How long an outage may last before whoever waits on it gives up. Default 300000. */
  readonly unavailableTimeoutMs?: number;
  /** An ongoing outage is logged at most this often. Default 10000. */
  readonly logIntervalMs?: number;
  readonly logger?: Logger;
  readonly metrics?: Metrics;
  /** Wall-clock time in ms (tests pass a virtual clock). Default `Date.now`. */
  readonly now?: () => number;
  /** Called when the dependency goes down or comes back. */
  readonly onChange?: (dependency: Dependency) => void;
}

export interface DependencyState {
  readonly available: boolean;
  /** Since when the current outage lasts (epoch ms), if there is one. */
  readonly unavailableSince?: number;
  /** Failed calls in the current outage. */
  readonly failures: number;
  readonly lastError?: Record<string, unknown>;
}

/** One service the pipeline calls: available until a call fails, again once a call succeeds. */
export class Dependency {
  readonly name: string;
  readonly unavailableTimeoutMs: number;
  readonly now: () => number;
  readonly #logIntervalMs: number;
  readonly #logger: Logger | undefined;
  readonly #metrics: Metrics | undefined;
  readonly #onChange: ((dependency: Dependency) => void) | undefined;
  readonly #labels: { dependency: string };
  #since: number | undefined;
  #failures = 0;
  #lastError: unknown;
  #loggedAt = 0;
  /** Set once the process stops: clients closing fail their calls, which is no outage. */
  #closing = false;

  constructor(name: string, options: DependencyOptions = {}) {
    this.name = name;
    this.unavailableTimeoutMs = options.unavailableTimeoutMs ?? DEFAULT_UNAVAILABLE_TIMEOUT_MS;
    this.now = options.now ?? Date.now;
    this.#logIntervalMs = options.logIntervalMs ?? DEFAULT_OUTAGE_LOG_INTERVAL_MS;
    this.#logger = options.logger;
    this.#metrics = options.metrics;
    this.#onChange = options.onChange;
    this.#labels = { dependency: name };
    this.#metrics?.set('dependency_available', this.#labels, 1);
  }

  get available(): boolean {
    return this.#since === undefined;
  }

  /** How long the current outage has lasted (0 when available). */
  get unavailableForMs(): number {
    return this.#since === undefined ? 0 : this.now() - this.#since;
  }

  /** Whether the current outage has lasted the timeout or longer. */
  get expired(): boolean {
    return this.#since !== undefined && this.unavailableForMs >= this.unavailableTimeoutMs;
  }

  get lastError(): unknown {
    return this.#lastError;
  }

  state(): DependencyState {
    return {
      available: this.available,
      failures: this.#failures,
      ...(this.#since === undefined ? {} : { unavailableSince: this.#since }),
      ...(this.#lastError === undefined ? {} : { lastError: describeError(this.#lastError) }),
    };
  }

  /** A call failed and will be retried. */
  failed(error: unknown): void {
    if (this.#closing) return;
    const now = this.now();
    this.#failures += 1;
    this.#lastError = error;
    this.#metrics?.inc('dependency_failures_total', this.#labels);
    if (this.#since === undefined) {
      this.#since = now;
      this.#loggedAt = now;
      this.#metrics?.set('dependency_available', this.#labels, 0);
      this.#logger?.warn(
        { dependency: this.name, err: describeError(error), giveUpAfterMs: this.unavailableTimeoutMs },
        `${this.name} unavailable; retrying with backoff`,
      );
      this.#onChange?.(this);
    } else if (now - this.#loggedAt >= this.#logIntervalMs) {
      this.#loggedAt = now;
      this.#logger?.warn(
        { dependency: this.name, unavailableForMs: now - this.#since, failures: this.#failures, err: describeError(error), giveUpAfterMs: this.unavailableTimeoutMs },
        `${this.name} still unavailable; retrying`,
      );
    }
  }

  /** The process is stopping: failures from here on are its clients closing. */
  close(): void {
    this.#closing = true;
  }

  /** A call succeeded: an outage, if any, is over. */
  succeeded(): void {
    if (this.#since === undefined) return;
    const unavailableForMs = this.now() - this.#since;
    this.#logger?.info({ dependency: this.name, unavailableForMs, failures: this.#failures }, `${this.name} available again`);
    this.#since = undefined;
    this.#failures = 0;
    this.#lastError = undefined;
    this.#metrics?.set('dependency_available', this.#labels, 1);
    this.#onChange?.(this);
  }
}

export interface HealthOptions {
  readonly logger?: Logger;
  readonly metrics?: Metrics;
  /** Per dependency name, how long it may stay unavailable; `default` for the others. */
  readonly unavailableTimeoutMs?: Readonly<Record<string, number>> & { readonly default?: number };
  readonly logIntervalMs?: number;
  readonly now?: () => number;
}

export interface HealthReport {
  readonly ready: boolean;
  readonly started: boolean;
  readonly dependencies: Readonly<Record<string, DependencyState>>;
}

/** The dependencies of one process, and its readiness: started, and every dependency available. */
export class Health {
  readonly #options: HealthOptions;
  readonly #dependencies = new Map<string, Dependency>();
  #started = false;
  #ready = false;

  constructor(options: HealthOptions = {}) {
    this.#options = options;
    options.metrics?.set('ready', {}, 0);
  }

  /** The dependency of that name, made on first use. */
  dependency(name: string): Dependency {
    let dependency = this.#dependencies.get(name);
    if (dependency === undefined) {
      const { logger, metrics, logIntervalMs, now, unavailableTimeoutMs } = this.#options;
      const timeout = unavailableTimeoutMs?.[name] ?? unavailableTimeoutMs?.default;
      dependency = new Dependency(name, {
        ...(logger === undefined ? {} : { logger }),
        ...(metrics === undefined ? {} : { metrics }),
        ...(logIntervalMs === undefined ? {} : { logIntervalMs }),
        ...(now === undefined ? {} : { now }),
        ...(timeout === undefined ? {} : { unavailableTimeoutMs: timeout }),
        onChange: () => this.#update(),
      });
      this.#dependencies.set(name, dependency);
    }
    return dependency;
  }

  /** The process has started (its source has joined the group): it is ready once every dependency answers. */
  started(): void {
    this.#started = true;
    this.#update();
  }

  /** The process is stopping or has failed: not ready any more. */
  stopped(): void {
    this.#started = false;
    for (const dependency of this.#dependencies.values()) dependency.close();
    this.#update();
  }

  get ready(): boolean {
    return this.#ready;
  }

  /** The dependencies that have been unavailable for their timeout or longer. */
  expired(): Dependency[] {
    return [...this.#dependencies.values()].filter((d) => d.expired);
  }

  report(): HealthReport {
    return {
      ready: this.#ready,
      started: this.#started,
      dependencies: Object.fromEntries([...this.#dependencies].map(([name, d]) => [name, d.state()])),
    };
  }

  #update(): void {
    const down = [...this.#dependencies.values()].filter((d) => !d.available).map((d) => d.name);
    const ready = this.#started && down.length === 0;
    if (ready === this.#ready) return;
    this.#ready = ready;
    this.#options.metrics?.set('ready', {}, ready ? 1 : 0);
    const logger = this.#options.logger;
    if (ready) logger?.info({ ready }, 'ready');
    else if (this.#started) logger?.warn({ ready, unavailable: down }, 'not ready');
    else logger?.info({ ready }, 'not ready: stopping');
  }
}
