/**
 * Which windows an event time belongs to, kept apart from what is aggregated in them. Fixed windows
 * (tumbling, hopping) are half-open `[start, start + sizeMs)` and aligned to the epoch, so an event
 * exactly at a window's end belongs to the next one. A session window covers its events plus `gapMs`
 * after the last: `[firstEventTime, lastEventTime + gapMs)`.
 *
 * ```ts
 * tumbling({ sizeMs: 60_000 });                    // one window per minute
 * hopping({ sizeMs: 300_000, advanceMs: 60_000 }); // five-minute windows starting every minute
 * session({ gapMs: 1_800_000 });                   // a session ends after 30 minutes of silence
 * ```
 */
export interface TumblingSpec {
  readonly kind: 'tumbling';
  readonly sizeMs: number;
}

/** Overlapping windows of `sizeMs` starting every `advanceMs`: an event is in `ceil(size/advance)` of them. */
export interface HoppingSpec {
  readonly kind: 'hopping';
  readonly sizeMs: number;
  readonly advanceMs: number;
}

/** Per-key windows that grow while events keep coming at most `gapMs` apart, merging when bridged. */
export interface SessionSpec {
  readonly kind: 'session';
  readonly gapMs: number;
}

export type WindowSpec = TumblingSpec | HoppingSpec | SessionSpec;

/** Non-overlapping windows of `sizeMs`. */
export function tumbling(options: { readonly sizeMs: number }): TumblingSpec {
  return { kind: 'tumbling', sizeMs: options.sizeMs };
}

/** Windows of `sizeMs` starting every `advanceMs` (`advanceMs <= sizeMs`). */
export function hopping(options: { readonly sizeMs: number; readonly advanceMs: number }): HoppingSpec {
  return { kind: 'hopping', sizeMs: options.sizeMs, advanceMs: options.advanceMs };
}

/** Sessions closed by `gapMs` of event-time inactivity. */
export function session(options: { readonly gapMs: number }): SessionSpec {
  return { kind: 'session', gapMs: options.gapMs };
}

/** A fixed window grid: tumbling is a grid whose advance equals its size. */
export interface FixedGrid {
  readonly sizeMs: number;
  readonly advanceMs: number;
}

/** The grid of a tumbling or hopping spec. */
export function fixedGrid(spec: TumblingSpec | HoppingSpec): FixedGrid {
  return spec.kind === 'tumbling' ? { sizeMs: spec.sizeMs, advanceMs: spec.sizeMs } : spec;
}

/** Start of the latest grid window containing `timeMs` (floors towards -Infinity, negatives too). */
export function lastWindowStart(timeMs: number, advanceMs: number): number {
  const offset = timeMs % advanceMs;
  return timeMs - (offset < 0 ? offset + advanceMs : offset);
}

/** Starts of every grid window containing `timeMs`, earliest first. */
export function windowStarts(grid: FixedGrid, timeMs: number): number[] {
  const into: number[] = [];
  into.length = fillWindowStarts(grid, timeMs, into);
  return into;
}

/**
 * Writes the starts of every grid window containing `timeMs` into `into` from index 0, earliest
 * first, and returns how many. The caller reuses `into` across events: no allocation, and no
 * `length = 0`, which makes V8 drop and reallocate the backing store every time.
 */
export function fillWindowStarts(grid: FixedGrid, timeMs: number, into: number[]): number {
  const last = lastWindowStart(timeMs, grid.advanceMs);
  let first = last;
  while (first - grid.advanceMs > timeMs - grid.sizeMs) first -= grid.advanceMs;
  let n = 0;
  for (let start = first; start <= last; start += grid.advanceMs) into[n++] = start;
  return n;
}

/**
 * Whether two session spans touch or overlap. Inclusive at both ends, as Flink's `TimeWindow`: an
 * event exactly `gapMs` after the last one still continues the session.
 */
export function sessionsTouch(aStart: number, aEnd: number, bStart: number, bEnd: number): boolean {
  return aStart <= bEnd && bStart <= aEnd;
}

/** What is wrong with a spec, as `field: problem` lines; empty when it is valid. */
export function windowSpecProblems(spec: WindowSpec): string[] {
  const problems: string[] = [];
  const positive = (field: string, value: unknown) => {
    if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0)
      problems.push(`window.${field} must be a finite number > 0, got ${String(value)}`);
  };
  switch (spec.kind) {
    case 'tumbling':
      positive('sizeMs', spec.sizeMs);
      break;
    case 'hopping':
      positive('sizeMs', spec.sizeMs);
      positive('advanceMs', spec.advanceMs);
      if (problems.length === 0 && spec.advanceMs > spec.sizeMs)
        problems.push(`window.advanceMs (${spec.advanceMs}) must be <= window.sizeMs (${spec.sizeMs})`);
      break;
    case 'session':
      positive('gapMs', spec.gapMs);
      break;
    default:
      problems.push(`window.kind must be 'tumbling', 'hopping' or 'session', got ${String((spec as { kind?: unknown }).kind)}`);
  }
  return problems;
}
