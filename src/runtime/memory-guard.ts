/**
 * Gives the heap pages V8 keeps after a collection back to the OS when the process nears its
 * memory limit.
 *
 * Node 24's V8 (13.6) puts the pages a collection frees into a pool and returns them to the OS only
 * in a memory-reducing collection, which it starts by itself when allocation slows down. A pipeline
 * under steady load never slows down, so the pool keeps the heap's high-water mark: in the 1M-event
 * benchmark, 475 MB of 256 KiB heap pages were resident against 332 MB of heap the two isolates
 * reported, and a memory-reducing collection gave back 130-170 MB (bench/RESULTS.md "What RSS
 * holds beyond the heaps"). The pool does not count against `--max-old-space-size`, so a task sized by its heap limit
 * can be killed for memory its heap does not hold. Above `fraction` of the limit, the guard runs one
 * memory-reducing collection (a full, blocking one: 250-370 ms with ~250 MB of heap on two shared
 * cores), at most once per `minIntervalMs`.
 */
import { totalmem } from 'node:os';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { Logger } from '../core/logger.ts';
import type { Metrics } from '../core/metrics.ts';
import { MemoryPressure, startScale } from './memory-pressure.ts';

export interface MemoryGuardOptions {
  /** The memory the process may use (the task's hard limit), in bytes. */
  readonly limitBytes: number;
  /** Collect when RSS is above this fraction of the limit. Default 0.85. */
  readonly fraction?: number;
  /** Least time between two collections. Default 10000. */
  readonly minIntervalMs?: number;
  /** Above this fraction of the limit, collect after only `urgentIntervalMs`. Default 0.9 and 2000. */
  readonly urgentFraction?: number;
  readonly urgentIntervalMs?: number;
  /** The process's resident set now (default `process.memoryUsage.rss`). */
  readonly rss?: () => number;
  /** A memory-reducing collection (default {@link memoryReducingCollection}). */
  readonly collect?: () => Promise<void>;
  readonly now?: () => number;
}

/** One collection the guard ran. */
export interface MemoryTrim {
  readonly rssBeforeBytes: number;
  readonly rssAfterBytes: number;
  readonly durationMs: number;
  /** RSS is still above the threshold afterwards: what the process holds is live, not pooled. */
  readonly stillAbove: boolean;
}

/**
 * Checks RSS against the limit; `check()` is meant to run every half second (`watchMemory`).
 * @example
 * const guard = new MemoryGuard({ limitBytes: 512 * 2 ** 20 });
 * setInterval(() => void guard.check().then((trim) => trim && log(trim)), 500);
 */
export class MemoryGuard {
  readonly limitBytes: number;
  readonly thresholdBytes: number;
  readonly #urgentBytes: number;
  readonly #minIntervalMs: number;
  readonly #urgentIntervalMs: number;
  readonly #rss: () => number;
  readonly #collect: () => Promise<void>;
  readonly #now: () => number;
  #lastMs = Number.NEGATIVE_INFINITY;
  #running = false;

  constructor(options: MemoryGuardOptions) {
    const fraction = options.fraction ?? 0.85;
    if (!(options.limitBytes > 0) || !(fraction > 0 && fraction <= 1)) throw new RangeError(`memory guard: limit ${options.limitBytes} B, fraction ${fraction}`);
    this.limitBytes = options.limitBytes;
    this.thresholdBytes = options.limitBytes * fraction;
    this.#urgentBytes = options.limitBytes * (options.urgentFraction ?? 0.9);
    this.#minIntervalMs = options.minIntervalMs ?? 10_000;
    this.#urgentIntervalMs = Math.min(this.#minIntervalMs, options.urgentIntervalMs ?? 2_000);
    this.#rss = options.rss ?? (() => process.memoryUsage.rss());
    this.#collect = options.collect ?? memoryReducingCollection();
    this.#now = options.now ?? (() => performance.now());
  }

  /** The process's resident set now. */
  rss(): number {
    return this.#rss();
  }

  /**
   * Runs a collection when RSS is above the threshold and the last one is at least `minIntervalMs`
   * old (`urgentIntervalMs` above `urgentFraction` of the limit).
   * @returns what it did, or undefined when it did nothing
   */
  async check(): Promise<MemoryTrim | undefined> {
    if (this.#running) return undefined;
    const before = this.#rss();
    const start = this.#now();
    const since = start - this.#lastMs;
    if (before <= this.thresholdBytes || since < (before > this.#urgentBytes ? this.#urgentIntervalMs : this.#minIntervalMs)) return undefined;
    this.#running = true;
    try {
      await this.#collect();
    } finally {
      this.#running = false;
      this.#lastMs = this.#now();
    }
    const after = this.#rss();
    return { rssBeforeBytes: before, rssAfterBytes: after, durationMs: this.#lastMs - start, stillAbove: after > this.thresholdBytes };
  }
}

type GcFunction = (options: { type: 'major'; execution: 'async'; flavor: 'last-resort' }) => Promise<void>;

/**
 * V8's memory-reducing full collection (the one it runs before giving up on an allocation), which
 * empties the page pool. Uses `--expose-gc`'s `gc` when the process has it; otherwise turns the flag
 * on and takes `gc` from a new context, without exposing it globally.
 * @returns a function that runs one collection (in a task of its own) and resolves after it
 */
export function memoryReducingCollection(): () => Promise<void> {
  let gc = (globalThis as { gc?: GcFunction }).gc;
  if (typeof gc !== 'function') {
    setFlagsFromString('--expose-gc');
    gc = runInNewContext('gc') as GcFunction;
  }
  const collect = gc;
  return () => collect({ type: 'major', execution: 'async', flavor: 'last-resort' });
}

/**
 * The limit the guard works against: `TRIBUTARY_MEMORY_LIMIT_MB` when set (`off` turns the guard
 * off), else the container's hard limit (cgroup, as ECS sets it from the task or container memory);
 * undefined when there is none.
 * @param constrained `process.constrainedMemory()`: the cgroup limit, or a huge number without one
 */
export function memoryLimitOf(env: NodeJS.ProcessEnv, constrained = process.constrainedMemory(), total = totalmem()): number | undefined {
  const raw = env.TRIBUTARY_MEMORY_LIMIT_MB?.trim();
  if (raw !== undefined && raw !== '') return raw.toLowerCase() === 'off' ? undefined : Number(raw) * 2 ** 20;
  return constrained > 0 && constrained < total ? constrained : undefined;
}

/** What `watchMemory` scales under memory pressure: the runtime's in-flight gate. */
export interface ScalableBound {
  readonly maxRecords: number;
  readonly limitRecords: number;
  setScale(scale: number): void;
}

/**
 * Runs `guard.check()` every `intervalMs`: each collection is counted in `memory_collections_total`
 * (`outcome`: `released`, or `still_above` when RSS stays above the threshold) and logged at debug;
 * RSS above the threshold after a collection is also a warning, at most once per `warnEveryMs`.
 * With `gate`, the in-flight bound follows the memory pressure (`MemoryPressure`): each change is
 * counted in `memory_pressure_total{action}`, the bound in force is `inflight_limit_records`, and a
 * lowering is a warning (at most once per `warnEveryMs`).
 * @returns the timer (unref'd), for `clearInterval`
 */
export function watchMemory(
  guard: MemoryGuard,
  deps: { readonly logger: Logger; readonly metrics: Metrics; readonly gate?: ScalableBound; readonly pressure?: MemoryPressure },
  intervalMs = 500,
  warnEveryMs = 300_000,
): NodeJS.Timeout {
  const warned = { trim: Number.NEGATIVE_INFINITY, pressure: Number.NEGATIVE_INFINITY };
  const mayWarn = (kind: keyof typeof warned) => {
    if (performance.now() - warned[kind] < warnEveryMs) return false;
    warned[kind] = performance.now();
    return true;
  };
  const mb = (bytes: number) => Math.round(bytes / 2 ** 20);
  const report = (trim: MemoryTrim | undefined) => {
    if (trim === undefined) return;
    deps.metrics.inc('memory_collections_total', { outcome: trim.stillAbove ? 'still_above' : 'released' });
    const fields = { rssBeforeMb: mb(trim.rssBeforeBytes), rssAfterMb: mb(trim.rssAfterBytes), thresholdMb: mb(guard.thresholdBytes), durationMs: Math.round(trim.durationMs) };
    deps.logger.debug(fields, 'memory guard: memory-reducing collection');
    if (trim.stillAbove && mayWarn('trim')) {
      deps.logger.warn(fields, 'RSS stays above 85% of the memory limit after a memory-reducing collection: the process holds that memory live; lower the bounds or raise the task memory (README "Memory model")');
    }
  };
  const { gate } = deps;
  const pressure = gate === undefined ? undefined : (deps.pressure ?? new MemoryPressure({ limitBytes: guard.limitBytes, initialScale: startScale({ limitBytes: guard.limitBytes, rssBytes: guard.rss(), maxRecords: gate.maxRecords }) }));
  if (gate !== undefined && pressure !== undefined && pressure.scale < 1) {
    gate.setScale(pressure.scale);
    deps.metrics.set('inflight_limit_records', {}, gate.limitRecords);
    deps.logger.info({ limitMb: mb(guard.limitBytes), rssMb: mb(guard.rss()), inflightLimitRecords: gate.limitRecords }, 'memory limit: the in-flight bound starts lower, at what fits the room left (raised while memory stays low)');
  }
  const scale = (trim: MemoryTrim | undefined) => {
    if (gate === undefined || pressure === undefined) return;
    const rss = guard.rss();
    const action = pressure.update(rss, trim);
    if (action === undefined) return;
    gate.setScale(pressure.scale);
    deps.metrics.inc('memory_pressure_total', { action });
    deps.metrics.set('inflight_limit_records', {}, gate.limitRecords);
    const fields = { rssMb: mb(rss), limitMb: mb(guard.limitBytes), inflightLimitRecords: gate.limitRecords, scale: pressure.scale };
    if (action === 'lowered' && mayWarn('pressure')) deps.logger.warn(fields, 'memory pressure: in-flight bound lowered (the source pauses sooner; throughput drops, nothing is lost); raise the task memory or lower the bounds (README "Memory model")');
    else if (action === 'raised' && pressure.scale === 1) deps.logger.info(fields, 'memory pressure gone: in-flight bound back to its configured value');
    else deps.logger.debug(fields, `memory pressure: in-flight bound ${action}`);
  };
  const timer = setInterval(
    () =>
      void guard.check().then(
        (trim) => {
          report(trim);
          scale(trim);
        },
        (error: unknown) => deps.logger.warn({ err: error }, 'memory guard: collection failed'),
      ),
    intervalMs,
  );
  timer.unref();
  return timer;
}
