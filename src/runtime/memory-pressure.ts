/**
 * The in-flight bound under memory pressure: lowered when the process nears its memory limit with
 * memory that is live, raised back when the pressure is gone.
 *
 * Records in flight are the part of memory a running pipeline can give up without losing anything:
 * fewer of them means a paused source, smaller Parquet files and less throughput, not a task killed
 * for memory. A 512 MB task running the default topology at full speed with the default bound
 * (100,000 records) was OOM-killed within 15 s; with 50,000 it ran at 0.73x (bench/RESULTS.md
 * "In a 512 MB task"). The right bound depends on the topology, the records and the task, so it is
 * found at run time, the way TCP finds its window: halved when a memory-reducing collection leaves
 * RSS above the guard's threshold (the memory is live, not pooled or garbage; see memory-guard.ts,
 * which collects within 2 s above 90% of the limit), raised by `step` of the configured bound at a
 * time while RSS stays below `lowFraction` (its peak over `raiseEveryMs`, before collections) and
 * nothing was lowered for `quietMs`. It starts where the bound fits the room left at start
 * (`startScale`), since the first seconds of a backlog are the steepest: in a 384 MB task the first
 * fetches filled the default bound and the task was killed half a second after the first lowering.
 * With that start a 512 MB task stays clear of its limit (0.73x) and a 384 MB one runs (0.45x).
 */
import type { MemoryTrim } from './memory-guard.ts';

export interface MemoryPressureOptions {
  /** The memory the process may use, bytes. */
  readonly limitBytes: number;
  /** Raise only while RSS is below this fraction of the limit. Default 0.75. */
  readonly lowFraction?: number;
  /** The lowest scale. Default 1/16 of the configured bound. */
  readonly minScale?: number;
  /** What one raise adds to the scale. Default 1/8. */
  readonly step?: number;
  /** The scale to start at (see `startScale`). Default 1. */
  readonly initialScale?: number;
  /** Time since the last lowering before raising again, and the window whose peak RSS a raise looks at. Default 30000 and 5000. */
  readonly quietMs?: number;
  readonly raiseEveryMs?: number;
  readonly now?: () => number;
}

/**
 * Resident memory one record in flight costs, all told: its decoded value and envelope (~700 B of
 * heap), the fetch buffer it points into (~730 B), its Parquet row in the encoder worker (~460 B)
 * and the garbage around them. Measured as the slope of RSS peak between the in-flight bounds
 * 25,000 and 50,000 in a 512 MB task (445 vs 510 MB, bench/RESULTS.md "In a 512 MB task").
 */
export const INFLIGHT_RECORD_RESIDENT_BYTES = 2_600;

/** The lowest scale of the in-flight bound, at start and under pressure. */
const MIN_SCALE = 1 / 16;

/**
 * The scale the in-flight bound starts at: what fits between the process's resident memory before
 * it reads anything and `fraction` of its limit, so that the first fetches of a backlog cannot
 * outgrow the task before the first look at memory. 1 when the whole bound fits.
 */
export function startScale(o: { readonly limitBytes: number; readonly rssBytes: number; readonly maxRecords: number; readonly fraction?: number; readonly minScale?: number }): number {
  const room = o.limitBytes * (o.fraction ?? 0.5) - o.rssBytes;
  const scale = room / (o.maxRecords * INFLIGHT_RECORD_RESIDENT_BYTES);
  return Math.min(1, Math.max(o.minScale ?? MIN_SCALE, scale));
}

/** What one `update` did to the scale. */
export type PressureAction = 'lowered' | 'raised' | undefined;

export class MemoryPressure {
  /** The fraction of the configured in-flight bound to keep in force. */
  scale = 1;
  readonly #low: number;
  readonly #minScale: number;
  readonly #step: number;
  readonly #quietMs: number;
  readonly #raiseEveryMs: number;
  readonly #now: () => number;
  #loweredMs = Number.NEGATIVE_INFINITY;
  /** The current window of `raiseEveryMs`: when it began, and the highest RSS seen in it (collections included). */
  #windowMs: number;
  #peak = 0;

  constructor(options: MemoryPressureOptions) {
    const minScale = options.minScale ?? MIN_SCALE;
    const step = options.step ?? 1 / 8;
    if (!(options.limitBytes > 0) || !(minScale > 0 && minScale <= 1) || !(step > 0 && step <= 1)) {
      throw new RangeError(`memory pressure: limit ${options.limitBytes} B, minScale ${minScale}, step ${step}`);
    }
    this.#low = options.limitBytes * (options.lowFraction ?? 0.75);
    this.#minScale = minScale;
    this.#step = step;
    this.#quietMs = options.quietMs ?? 30_000;
    this.#raiseEveryMs = options.raiseEveryMs ?? 5_000;
    this.#now = options.now ?? (() => performance.now());
    this.scale = Math.min(1, Math.max(minScale, options.initialScale ?? 1));
    // A bound that starts low counts as lowered: the first seconds of a backlog fill memory only
    // gradually, and raising on them took one run back to the bound that was killed.
    this.#windowMs = this.#now();
    if (this.scale < 1) this.#loweredMs = this.#windowMs;
  }

  /**
   * One look at memory, after the guard's check.
   * @param rssBytes RSS now (after the collection, if one ran)
   * @param trim the collection the guard ran in this check, if any
   */
  update(rssBytes: number, trim: MemoryTrim | undefined): PressureAction {
    const now = this.#now();
    this.#peak = Math.max(this.#peak, rssBytes, trim?.rssBeforeBytes ?? 0);
    if (trim?.stillAbove === true) {
      this.#newWindow(now);
      if (this.scale <= this.#minScale) return undefined;
      this.scale = Math.max(this.#minScale, this.scale / 2);
      this.#loweredMs = now;
      return 'lowered';
    }
    if (now - this.#windowMs < this.#raiseEveryMs) return undefined;
    // The window's peak, not RSS now: right after a collection RSS is at the bottom of its sawtooth.
    const peak = this.#peak;
    this.#newWindow(now);
    if (this.scale < 1 && peak < this.#low && now - this.#loweredMs >= this.#quietMs) {
      this.scale = Math.min(1, this.scale + this.#step);
      return 'raised';
    }
    return undefined;
  }

  #newWindow(now: number): void {
    this.#windowMs = now;
    this.#peak = 0;
  }
}
