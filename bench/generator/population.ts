/** The users and games of the simulated platform, with stable attributes derived from the seed. */
import type { Platform } from './events.ts';
import { Zipf, hash32 } from './random.ts';

const COUNTRIES = ['US', 'US', 'US', 'GB', 'DE', 'FR', 'BR', 'JP', 'KR', 'CA', 'MX', 'IN', 'PL', 'SE', 'AU'];
const PLATFORM_WEIGHTS: readonly [Platform, number][] = [['ios', 30], ['android', 35], ['pc', 20], ['console', 10], ['web', 5]];

/** The users and games, with stable per-entity attributes derived from a hash of the seed. */
export class Population {
  readonly users: number;
  readonly games: number;
  readonly userZipf: Zipf;
  readonly gameZipf: Zipf;
  readonly #seed: number;

  constructor(options: { users: number; games: number; zipfExponent: number; seed: number }) {
    this.users = options.users;
    this.games = options.games;
    this.userZipf = new Zipf(options.users, options.zipfExponent);
    this.gameZipf = new Zipf(options.games, options.zipfExponent);
    this.#seed = options.seed;
  }

  readonly #userIds: string[] = [];

  userId(rank: number): string {
    return (this.#userIds[rank] ??= `user-${String(rank + 1).padStart(7, '0')}`);
  }

  gameId(rank: number): string {
    return `game-${String(rank + 1).padStart(4, '0')}`;
  }

  gameVersion(rank: number): string {
    const h = hash32(this.#seed ^ 0x6a09, rank);
    return `${1 + (h % 3)}.${(h >>> 4) % 12}.${(h >>> 8) % 8}`;
  }

  platform(rank: number): Platform {
    let x = hash32(this.#seed ^ 0xbb67, rank) % 100;
    for (const [platform, weight] of PLATFORM_WEIGHTS) {
      if (x < weight) return platform;
      x -= weight;
    }
    return 'web';
  }

  country(rank: number): string {
    return COUNTRIES[hash32(this.#seed ^ 0x3c6e, rank) % COUNTRIES.length] as string;
  }

  /** How many devices a normal user owns: one or two (fraud injects more). */
  deviceCount(rank: number): number {
    return 1 + (hash32(this.#seed ^ 0xa54f, rank) % 4 === 0 ? 1 : 0);
  }

  readonly #devicePrefixes: string[] = [];

  deviceId(rank: number, index: number): string {
    const prefix = (this.#devicePrefixes[rank] ??= `dev-${hash32(this.#seed ^ 0x510e, rank).toString(16).padStart(8, '0')}`);
    return `${prefix}${index.toString(16)}`;
  }
}

