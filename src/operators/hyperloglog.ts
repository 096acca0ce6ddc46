import { ConfigError } from '../core/errors.ts';

/** Lowest and highest precision accepted: 16 to 262,144 registers. */
export const HLL_MIN_PRECISION = 4;
export const HLL_MAX_PRECISION = 18;

/**
 * A HyperLogLog distinct counter (Flajolet et al. 2007) over a 64-bit string hash.
 *
 * ```ts
 * const hll = new HyperLogLog(14); // 16,384 registers, about 0.8 % standard error
 * for (const user of users) hll.add(user);
 * hll.estimate();
 * ```
 *
 * The standard error is about `1.04 / sqrt(2^precision)`. The estimate is Ertl's improved estimator,
 * accurate from tiny to huge cardinalities without bias tables; a 64-bit hash avoids collisions. A counter starts sparse (a map of
 * the registers set so far) and turns dense (one byte per register) once that map would be larger,
 * so the many small windows of a keyed aggregation stay small.
 */
export class HyperLogLog {
  readonly precision: number;
  readonly #m: number;
  #sparse: Map<number, number> | undefined = new Map();
  #dense: Uint8Array | undefined;

  constructor(precision = 14) {
    if (!Number.isInteger(precision) || precision < HLL_MIN_PRECISION || precision > HLL_MAX_PRECISION)
      throw new ConfigError(`HyperLogLog precision must be an integer in [${HLL_MIN_PRECISION}, ${HLL_MAX_PRECISION}], got ${precision}`);
    this.precision = precision;
    this.#m = 1 << precision;
  }

  /** The expected relative standard error at a given precision. */
  static standardError(precision: number): number {
    return 1.04 / Math.sqrt(2 ** precision);
  }

  /** Adds one item (compared by its UTF-16 code units). */
  add(item: string): void {
    const [hi, lo] = hash64(item);
    const p = this.precision;
    const index = hi >>> (32 - p);
    // The rank is the position of the first 1 bit in the 64 - p bits after the index.
    const rest = (hi << p) >>> 0;
    const rank = rest !== 0 ? Math.clz32(rest) + 1 : 32 - p + Math.clz32(lo) + 1;
    this.#set(index, rank);
  }

  #set(index: number, rank: number): void {
    if (this.#dense !== undefined) {
      if (rank > (this.#dense[index] as number)) this.#dense[index] = rank;
      return;
    }
    const sparse = this.#sparse as Map<number, number>;
    const old = sparse.get(index);
    if (old === undefined || rank > old) sparse.set(index, rank);
    // A Map entry costs tens of bytes, a dense register one: switch when the map passes m / 32.
    if (sparse.size > this.#m >>> 5) this.#densify();
  }

  #densify(): void {
    const dense = new Uint8Array(this.#m);
    for (const [index, rank] of this.#sparse as Map<number, number>) dense[index] = rank;
    this.#dense = dense;
    this.#sparse = undefined;
  }

  /** The registers set so far, as `[index, rank]` pairs: what `restore` takes back. */
  save(): [number, number][] {
    if (this.#sparse !== undefined) return [...this.#sparse];
    const pairs: [number, number][] = [];
    const dense = this.#dense as Uint8Array;
    for (let i = 0; i < dense.length; i++) if (dense[i] !== 0) pairs.push([i, dense[i] as number]);
    return pairs;
  }

  /** A counter with the registers `save` returned. */
  static restore(precision: number, pairs: readonly (readonly [number, number])[]): HyperLogLog {
    const hll = new HyperLogLog(precision);
    for (const [index, rank] of pairs) hll.#set(index, rank);
    return hll;
  }

  /** Folds another counter of the same precision into this one. */
  merge(other: HyperLogLog): this {
    if (other.precision !== this.precision)
      throw new ConfigError(`cannot merge HyperLogLog precisions ${this.precision} and ${other.precision}`);
    if (other.#dense !== undefined) {
      if (this.#dense === undefined) this.#densify();
      const mine = this.#dense as Uint8Array;
      const theirs = other.#dense;
      for (let i = 0; i < mine.length; i++) if ((theirs[i] as number) > (mine[i] as number)) mine[i] = theirs[i] as number;
    } else for (const [index, rank] of other.#sparse as Map<number, number>) this.#set(index, rank);
    return this;
  }

  /** The estimated number of distinct items added. */
  estimate(): number {
    const q = 64 - this.precision;
    const histogram = new Array<number>(q + 2).fill(0);
    if (this.#dense !== undefined) for (const rank of this.#dense) histogram[rank] = (histogram[rank] as number) + 1;
    else {
      const sparse = this.#sparse as Map<number, number>;
      histogram[0] = this.#m - sparse.size;
      for (const rank of sparse.values()) histogram[rank] = (histogram[rank] as number) + 1;
    }
    return ertl(histogram, this.#m, q);
  }
}

/**
 * Ertl's improved raw estimator ("New cardinality estimation algorithms for HyperLogLog sketches",
 * 2017): unbiased across the whole range without HLL++'s empirical bias tables, where the classic
 * estimator with linear counting is off by several standard errors near 2.5 m.
 */
function ertl(histogram: readonly number[], m: number, q: number): number {
  let z = m * tau(1 - (histogram[q + 1] as number) / m);
  for (let k = q; k >= 1; k--) z = 0.5 * (z + (histogram[k] as number));
  z += m * sigma((histogram[0] as number) / m);
  return (m * m) / (2 * Math.LN2 * z);
}

function sigma(x: number): number {
  if (x === 1) return Infinity;
  let y = 1;
  let z = x;
  for (;;) {
    x *= x;
    const previous = z;
    z += x * y;
    y += y;
    if (z === previous) return z;
  }
}

function tau(x: number): number {
  if (x === 0 || x === 1) return 0;
  let y = 1;
  let z = 1 - x;
  for (;;) {
    x = Math.sqrt(x);
    const previous = z;
    y *= 0.5;
    z -= (1 - x) ** 2 * y;
    if (z === previous) return z / 3;
  }
}

/** cyrb53's two 32-bit lanes, both kept: a fast, well-mixed 64-bit hash of a string. */
export function hash64(text: string): [number, number] {
  let h1 = 0xdeadbeef;
  let h2 = 0x41c6ce57;
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    h1 = Math.imul(h1 ^ ch, 2654435761);
    h2 = Math.imul(h2 ^ ch, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507);
  h1 ^= Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507);
  h2 ^= Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return [h1 >>> 0, h2 >>> 0];
}
