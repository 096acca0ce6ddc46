/**
 * Seeded randomness for the traffic generator: a 32-bit PRNG (mulberry32), a Zipf sampler and a few
 * distributions. Nothing here touches `Math.random`, so a seed fixes every byte of the output.
 */

/** Derives independent 32-bit seeds from one seed (splitmix32), one per named stream. */
export function deriveSeed(seed: number, stream: number): number {
  let z = (seed ^ Math.imul(stream + 1, 0x9e3779b9)) >>> 0;
  z = Math.imul(z ^ (z >>> 16), 0x21f0aaad);
  z = Math.imul(z ^ (z >>> 15), 0x735a2d97);
  return (z ^ (z >>> 15)) >>> 0;
}

const HEX = Array.from({ length: 256 }, (_, b) => b.toString(16).padStart(2, '0'));

/** A mulberry32 generator with helpers. `next()` is uniform in [0, 1). */
export class Rng {
  #state: number;

  constructor(seed: number) {
    this.#state = seed >>> 0;
  }

  /** A uniform 32-bit unsigned integer. */
  uint32(): number {
    this.#state = (this.#state + 0x6d2b79f5) >>> 0;
    let t = this.#state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }

  next(): number {
    return this.uint32() / 4294967296;
  }

  /** An integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** An integer in [min, max] inclusive. */
  between(min: number, max: number): number {
    return min + this.int(max - min + 1);
  }

  chance(p: number): boolean {
    return p > 0 && this.next() < p;
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)] as T;
  }

  /** A standard normal variate (Box-Muller; one of the pair is dropped to stay stateless). */
  normal(): number {
    const u = 1 - this.next();
    const v = this.next();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }

  /** A log-normal variate: `exp(mu + sigma * N(0, 1))`. */
  logNormal(mu: number, sigma: number): number {
    return Math.exp(mu + sigma * this.normal());
  }

  /** An exponential variate with the given mean. */
  exponential(mean: number): number {
    return -Math.log(1 - this.next()) * mean;
  }

  /** `n` random bytes as lowercase hex. */
  hex(bytes: number): string {
    let out = '';
    for (let i = 0; i < bytes; i += 4) {
      const w = this.uint32();
      out += HEX[w >>> 24];
      if (i + 1 < bytes) out += HEX[(w >>> 16) & 0xff];
      if (i + 2 < bytes) out += HEX[(w >>> 8) & 0xff];
      if (i + 3 < bytes) out += HEX[w & 0xff];
    }
    return out;
  }

  /** A version-4-shaped UUID from this generator. */
  uuid(): string {
    const h = this.hex(16);
    const variant = ((parseInt(h[16] as string, 16) & 0x3) | 0x8).toString(16);
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-${variant}${h.slice(17, 20)}-${h.slice(20, 32)}`;
  }
}

/**
 * Samples ranks 0..n-1 with probability proportional to `1 / (rank + 1) ** exponent`, by binary
 * search over a precomputed cumulative table.
 */
export class Zipf {
  readonly #cdf: Float64Array;

  constructor(n: number, exponent: number) {
    if (!(n >= 1) || !Number.isInteger(n)) throw new RangeError(`Zipf n must be a positive integer, got ${n}`);
    this.#cdf = new Float64Array(n);
    let sum = 0;
    for (let k = 0; k < n; k++) {
      sum += 1 / Math.pow(k + 1, exponent);
      this.#cdf[k] = sum;
    }
    for (let k = 0; k < n; k++) this.#cdf[k] = (this.#cdf[k] as number) / sum;
  }

  get size(): number {
    return this.#cdf.length;
  }

  /** The probability of `rank`. */
  probability(rank: number): number {
    return (this.#cdf[rank] as number) - (rank === 0 ? 0 : (this.#cdf[rank - 1] as number));
  }

  sample(rng: Rng): number {
    const u = rng.next();
    let lo = 0;
    let hi = this.#cdf.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((this.#cdf[mid] as number) > u) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  }
}

/** A stable 32-bit hash of a number pair, for per-entity attributes that must not consume the PRNG. */
export function hash32(a: number, b: number): number {
  let h = Math.imul(a ^ 0x85ebca6b, 0xcc9e2d51) ^ Math.imul(b + 0x27d4eb2f, 0x165667b1);
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}
