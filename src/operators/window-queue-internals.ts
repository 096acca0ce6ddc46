/**
 * A min-heap of windows by close time, ties in insertion order, so windows closing together are
 * emitted in the order they opened. Entries go stale instead of being removed (a session extended or
 * merged away): the owner passes `isLive` to `popDue`, which drops stale entries as it meets them.
 */
export class CloseQueue<W> {
  readonly #closeAt: number[] = [];
  readonly #seq: number[] = [];
  readonly #items: W[] = [];
  #nextSeq = 0;

  get size(): number {
    return this.#items.length;
  }

  push(closeAt: number, item: W): void {
    this.#closeAt.push(closeAt);
    this.#seq.push(this.#nextSeq++);
    this.#items.push(item);
    this.#up(this.#items.length - 1);
  }

  /** The earliest close time of a live entry, purging stale ones on the way; Infinity when none. */
  peek(isLive: (item: W, closeAt: number) => boolean): number {
    while (this.#items.length > 0) {
      if (isLive(this.#items[0] as W, this.#closeAt[0] as number)) return this.#closeAt[0] as number;
      this.#pop();
    }
    return Infinity;
  }

  /** Removes and returns the earliest live entry if it closes at or before `watermark`. */
  popDue(watermark: number, isLive: (item: W, closeAt: number) => boolean): W | undefined {
    if (this.peek(isLive) > watermark) return undefined;
    return this.#pop();
  }

  #before(i: number, j: number): boolean {
    const a = this.#closeAt[i] as number;
    const b = this.#closeAt[j] as number;
    return a < b || (a === b && (this.#seq[i] as number) < (this.#seq[j] as number));
  }

  #swap(i: number, j: number): void {
    const c = this.#closeAt;
    const s = this.#seq;
    const it = this.#items;
    [c[i], c[j]] = [c[j] as number, c[i] as number];
    [s[i], s[j]] = [s[j] as number, s[i] as number];
    [it[i], it[j]] = [it[j] as W, it[i] as W];
  }

  #up(i: number): void {
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.#before(i, parent)) return;
      this.#swap(i, parent);
      i = parent;
    }
  }

  #pop(): W {
    const top = this.#items[0] as W;
    const last = this.#items.length - 1;
    this.#swap(0, last);
    this.#closeAt.pop();
    this.#seq.pop();
    this.#items.pop();
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let best = i;
      if (l < last && this.#before(l, best)) best = l;
      if (r < last && this.#before(r, best)) best = r;
      if (best === i) return top;
      this.#swap(i, best);
      i = best;
    }
  }
}
