import { ConfigError } from '../core/errors.ts';

/** Local date and hour of an instant, as the path segments of an hourly partition. */
export type HourPartition = string;

const QUARTER_HOUR_MS = 900_000;
const HOUR_MS = 3_600_000;
const CACHE_LIMIT = 4096;

/**
 * Returns a function mapping epoch ms to `year=YYYY/month=MM/day=dd/hour=HH` in `timeZone` (an IANA
 * name, default UTC). Results are cached per quarter hour, the finest offset any zone uses today.
 *
 * @example
 * hourPartitioner('UTC')(Date.UTC(2025, 0, 2, 3, 4)); // 'year=2025/month=01/day=02/hour=03'
 * hourPartitioner('Asia/Kolkata')(Date.UTC(2025, 0, 2, 3, 4)); // 'year=2025/month=01/day=02/hour=08'
 */
export function hourPartitioner(timeZone = 'UTC', stepId?: string): (epochMs: number) => HourPartition {
  if (timeZone === 'UTC') {
    // Records come mostly in time order: remember the last hour.
    let start = 0;
    let end = 0;
    let last = '';
    return (ms) => {
      if (ms < start || ms >= end) {
        start = ms - (((ms % HOUR_MS) + HOUR_MS) % HOUR_MS);
        end = start + HOUR_MS;
        last = utcPartition(start);
      }
      return last;
    };
  }
  let format: Intl.DateTimeFormat;
  try {
    format = new Intl.DateTimeFormat('en-US', {
      timeZone,
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      hourCycle: 'h23',
    });
  } catch (error) {
    throw new ConfigError(`timeZone '${timeZone}' is not an IANA time zone`, { cause: error, ...(stepId ? { stepId } : {}) });
  }
  const cache = new Map<number, HourPartition>();
  return (ms) => {
    const slot = Math.floor(ms / QUARTER_HOUR_MS);
    let partition = cache.get(slot);
    if (partition === undefined) {
      const parts: Record<string, string> = {};
      for (const { type, value } of format.formatToParts(ms)) parts[type] = value;
      partition = `year=${parts.year}/month=${parts.month}/day=${parts.day}/hour=${parts.hour}`;
      if (cache.size >= CACHE_LIMIT) cache.clear();
      cache.set(slot, partition);
    }
    return partition;
  };
}

const pad2 = (n: number) => (n < 10 ? `0${n}` : String(n));

function utcPartition(ms: number): HourPartition {
  const d = new Date(ms);
  return `year=${d.getUTCFullYear()}/month=${pad2(d.getUTCMonth() + 1)}/day=${pad2(d.getUTCDate())}/hour=${pad2(d.getUTCHours())}`;
}

/** First and last offset of the records in one object, both included. */
export interface OffsetRange {
  readonly first: number;
  readonly last: number;
}

const pad20 = (n: number) => String(n).padStart(20, '0');

/**
 * The object key of a file: `<prefix>/<topic>/<hour>/<topic>+<partition>+<first>+<last>.parquet`,
 * offsets zero-padded to 20 digits so that keys sort by offset. The name says which offsets the file
 * covers, so a restarted sink can tell from a listing which replayed records are already durable.
 *
 * @example
 * objectKey('raw', 'games', 'year=2025/month=06/day=01/hour=10', 3, 7, 9);
 * // 'raw/games/year=2025/month=06/day=01/hour=10/games+3+00000000000000000007+00000000000000000009.parquet'
 */
export function objectKey(prefix: string, topic: string, hour: HourPartition, partition: number, first: number, last: number): string {
  return `${partitionPrefix(prefix, topic, hour, partition)}${pad20(first)}+${pad20(last)}.parquet`;
}

/** The key prefix shared by every object of one topic-partition and hour (ends with `+`). */
export function partitionPrefix(prefix: string, topic: string, hour: HourPartition, partition: number): string {
  const trimmed = prefix.replace(/^\/+|\/+$/g, '');
  const path = `${topic}/${hour}/${topic}+${partition}+`;
  return trimmed === '' ? path : `${trimmed}/${path}`;
}

const RANGE_NAME = /^(\d{20})\+(\d{20})\.parquet$/;

/**
 * The offsets an object key names, if it is `<keyPrefix><first>+<last>.parquet`; undefined for any
 * other name, the older `<first>.parquet` names included (recovery does not recognise those).
 */
export function parseRange(key: string, keyPrefix: string): OffsetRange | undefined {
  if (!key.startsWith(keyPrefix)) return undefined;
  const match = RANGE_NAME.exec(key.slice(keyPrefix.length));
  if (match === null) return undefined;
  const first = Number(match[1]);
  const last = Number(match[2]);
  return Number.isSafeInteger(last) && first <= last ? { first, last } : undefined;
}
