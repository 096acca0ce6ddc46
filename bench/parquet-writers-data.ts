/**
 * Deterministic flattened game events for the Parquet bake-off: a seeded PRNG (mulberry32), so every
 * writer and every run sees the same rows, and the expected aggregates can be recomputed.
 */
import type { Column, ParquetRow } from '../src/sinks/parquet/schema.ts';

export const BATCH = 10_000;
const SEED = 0x7261696e;
const BASE_MS = Date.UTC(2025, 5, 1, 12);

const col = (name: string, type: Column['type'], nullable = true): Column => ({ name, type, nullable, declared: true });

export const COLUMNS: readonly Column[] = [
  col('event_id', 'string', false),
  col('user_id', 'string', false),
  col('session_id', 'string'),
  col('event_type', 'string', false),
  col('timestamp', 'timestamp', false),
  col('game_version', 'string'),
  col('platform', 'string'),
  col('country', 'string'),
  col('is_first_session', 'boolean'),
  col('event_data_game_id', 'string'),
  col('event_data_amount', 'double'),
  col('event_data_currency', 'string'),
  col('event_data_score', 'int64'),
  col('event_data_level', 'int64'),
  col('event_data_duration_ms', 'int64'),
  col('event_data_item_id', 'string'),
  col('device_model', 'string'),
  col('os_version', 'string'),
  col('ab_group', 'string'),
  col('received_at', 'timestamp'),
];

const EVENT_TYPES = ['session_start', 'level_start', 'level_complete', 'level_complete', 'ad_view', 'purchase', 'session_end'];
const VERSIONS = ['1.12.0', '1.12.1', '1.13.0', '2.0.0-beta'];
const PLATFORMS = ['ios', 'android', 'pc', 'console'];
const COUNTRIES = ['US', 'DE', 'BR', 'JP', 'FR', 'GB', 'IN', 'KR', 'MX', 'CA'];
const DEVICES = ['iPhone15,2', 'iPhone14,5', 'iPad13,4', 'SM-S918B', 'SM-A546B', 'Pixel 8', 'Pixel 7a', 'M2101K6G', 'PC', 'PS5', 'Xbox Series X'];
const OS_VERSIONS = ['17.1', '17.2', '16.6', '14', '13', '12', 'Windows 11', 'Windows 10'];

/** mulberry32: a tiny, fast, seedable 32-bit PRNG. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Rows in order from row 0; `next(n)` returns the next n. */
export class EventRows {
  readonly #random = mulberry32(SEED);
  #index = 0;

  next(count: number): ParquetRow[] {
    const r = this.#random;
    const pick = <T>(list: readonly T[]): T => list[Math.floor(r() * list.length)] as T;
    const rows: ParquetRow[] = new Array(count);
    for (let k = 0; k < count; k++) {
      const i = this.#index++;
      const type = pick(EVENT_TYPES);
      const level = type.startsWith('level');
      const purchase = type === 'purchase';
      const timestamp = BASE_MS + i * 3 + Math.floor(r() * 1000);
      rows[k] = {
        event_id: `${i.toString(16).padStart(8, '0')}-${Math.floor(r() * 2 ** 32).toString(16).padStart(8, '0')}`,
        user_id: `user-${Math.floor(r() * 200_000)}`,
        session_id: r() < 0.02 ? null : `sess-${Math.floor(r() * 1_000_000)}`,
        event_type: type,
        timestamp,
        game_version: pick(VERSIONS),
        platform: pick(PLATFORMS),
        country: pick(COUNTRIES),
        is_first_session: r() < 0.1,
        event_data_game_id: `game-${Math.floor(r() * 50)}`,
        event_data_amount: purchase ? Math.round(r() * 10_000) / 100 : null,
        event_data_currency: purchase ? pick(['USD', 'EUR', 'BRL']) : null,
        event_data_score: type === 'level_complete' ? Math.floor(r() * 1_000_000) : null,
        event_data_level: level ? 1 + Math.floor(r() * 100) : null,
        event_data_duration_ms: type === 'level_complete' || type === 'session_end' ? Math.floor(r() * 3_600_000) : null,
        event_data_item_id: purchase ? `sku-${Math.floor(r() * 500)}` : null,
        device_model: pick(DEVICES),
        os_version: pick(OS_VERSIONS),
        ab_group: r() < 0.3 ? null : pick(['A', 'B', 'control']),
        received_at: timestamp + 20 + Math.floor(r() * 2000),
      };
    }
    return rows;
  }
}

export interface Expected {
  rows: number;
  amountCount: number;
  amountSum: number;
  scoreSum: number;
  levelCount: number;
  firstSessions: number;
  minTimestamp: number;
  maxTimestamp: number;
}

/** The aggregates a reader must find in a file of `rows` rows. */
export function expectedFor(rows: number): Expected {
  const source = new EventRows();
  const e: Expected = { rows, amountCount: 0, amountSum: 0, scoreSum: 0, levelCount: 0, firstSessions: 0, minTimestamp: Infinity, maxTimestamp: -Infinity };
  for (let done = 0; done < rows; done += BATCH) {
    for (const row of source.next(Math.min(BATCH, rows - done))) {
      if (row.event_data_amount !== null) {
        e.amountCount += 1;
        e.amountSum += row.event_data_amount as number;
      }
      if (row.event_data_score !== null) e.scoreSum += row.event_data_score as number;
      if (row.event_data_level !== null) e.levelCount += 1;
      if (row.is_first_session) e.firstSessions += 1;
      e.minTimestamp = Math.min(e.minTimestamp, row.timestamp as number);
      e.maxTimestamp = Math.max(e.maxTimestamp, row.timestamp as number);
    }
  }
  return e;
}
