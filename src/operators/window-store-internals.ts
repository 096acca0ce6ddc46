import { LeaseHold } from '../core/envelope.ts';
import type { RecordMeta } from '../core/envelope.ts';
import { CloseQueue } from './window-queue-internals.ts';

/** One open window: its bounds, accumulators, first event and the leases of its events. */
export interface OpenWindow {
  readonly key: string;
  start: number;
  end: number;
  /** `end + graceMs`: the watermark at which the window closes. */
  closeAt: number;
  readonly accs: unknown[];
  /** Meta of the window's first event, given to its results. */
  readonly meta: RecordMeta;
  readonly carried: Record<string, unknown> | undefined;
  /** One hold per window; a merged session keeps the holds of every session it absorbed. */
  readonly holds: LeaseHold[];
  /** The partition `holds[0]` last took a lease of: a shortcut past LeaseHold's per-event key. */
  heldTopic: string | undefined;
  heldPartition: number;
  open: boolean;
}

const isLive = (w: OpenWindow, closeAt: number) => w.open && w.closeAt === closeAt;

/**
 * The open windows of one window step, by key, in a short array per key: fixed windows sorted by
 * start (a key has a few open at a time, and a scan from the newest beats hashing a float start),
 * sessions in opening order. Keeps the count (for `maxOpenWindows`) and the close queue in step.
 */
export class WindowStore {
  readonly #graceMs: number;
  readonly #sessions: boolean;
  readonly #queue = new CloseQueue<OpenWindow>();
  readonly #byKey = new Map<string, OpenWindow[]>();
  #size = 0;

  constructor(graceMs: number, sessions: boolean) {
    this.#graceMs = graceMs;
    this.#sessions = sessions;
  }

  /** Windows open now. */
  get size(): number {
    return this.#size;
  }

  /** Every open window. */
  *all(): IterableIterator<OpenWindow> {
    for (const list of this.#byKey.values()) yield* list;
  }

  /** The open windows of a key: by ascending start, or sessions oldest first. */
  windows(key: string): readonly OpenWindow[] | undefined {
    return this.#byKey.get(key);
  }

  /** Opens a window. */
  open(key: string, start: number, end: number, meta: RecordMeta, accs: unknown[], carried: Record<string, unknown> | undefined): OpenWindow {
    const w: OpenWindow = {
      key,
      start,
      end,
      closeAt: end + this.#graceMs,
      accs,
      meta,
      carried,
      holds: [new LeaseHold()],
      heldTopic: undefined,
      heldPartition: -1,
      open: true,
    };
    const list = this.#byKey.get(key);
    if (list === undefined) this.#byKey.set(key, [w]);
    else if (this.#sessions) list.push(w);
    else {
      let at = list.length;
      while (at > 0 && (list[at - 1] as OpenWindow).start > start) at--;
      list.splice(at, 0, w);
    }
    this.#queue.push(w.closeAt, w);
    this.#size++;
    return w;
  }

  /** Widens a session to cover `[start, end)`, moving its close time. */
  extend(w: OpenWindow, start: number, end: number): void {
    w.start = Math.min(w.start, start);
    w.end = Math.max(w.end, end);
    const closeAt = w.end + this.#graceMs;
    if (closeAt === w.closeAt) return;
    w.closeAt = closeAt; // the old queue entry goes stale
    this.#queue.push(closeAt, w);
  }

  /** Forgets a window (closed, merged away, or dropped). */
  remove(w: OpenWindow): void {
    if (!w.open) return;
    w.open = false;
    this.#size--;
    const list = this.#byKey.get(w.key) as OpenWindow[];
    const at = list.indexOf(w);
    if (at >= 0) list.splice(at, 1);
    if (list.length === 0) this.#byKey.delete(w.key);
  }

  /** Removes and returns the next window closing at or before `watermark`, earliest first. */
  popDue(watermark: number): OpenWindow | undefined {
    const w = this.#queue.popDue(watermark, isLive);
    if (w !== undefined) this.remove(w);
    return w;
  }

  /** The earliest close time of an open window; Infinity when none is open. */
  nextCloseAt(): number {
    return this.#queue.peek(isLive);
  }
}

/** The window of `list` (sorted by start) starting at `start`, scanning from the newest. */
export function windowAt(list: readonly OpenWindow[] | undefined, start: number): OpenWindow | undefined {
  if (list === undefined) return undefined;
  for (let i = list.length - 1; i >= 0; i--) {
    const w = list[i] as OpenWindow;
    if (w.start === start) return w;
    if (w.start < start) return undefined;
  }
  return undefined;
}
