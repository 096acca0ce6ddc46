import { createHash } from 'node:crypto';
import { ConfigError } from '../core/errors.ts';
import { fieldPath } from '../core/expression.ts';

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
  return rangeKey(partitionPrefix(prefix, topic, hour, partition), first, last);
}

/** The key prefix shared by every object of one topic-partition and hour (ends with `+`). */
export function partitionPrefix(prefix: string, topic: string, hour: HourPartition, partition: number): string {
  return directoryPrefix(prefix, `${topic}/${hour}`, topic, partition);
}

/**
 * The key prefix shared by every object of one topic-partition in directory `dir` (a path below
 * `prefix`, such as `games/platform=ios/year=2025/month=06/day=01/hour=10`); ends with `+`. Every
 * sink writing range-named objects (Parquet, raw) lists and names its objects through it.
 */
export function directoryPrefix(prefix: string, dir: string, topic: string, partition: number): string {
  const trimmed = prefix.replace(/^\/+|\/+$/g, '');
  const path = `${dir}/${topic}+${partition}+`;
  return trimmed === '' ? path : `${trimmed}/${path}`;
}

/** `<keyPrefix><first:020>+<last:020><extension>`: the name recovery reads back with `parseRange`. */
export function rangeKey(keyPrefix: string, first: number, last: number, extension = '.parquet'): string {
  return `${keyPrefix}${pad20(first)}+${pad20(last)}${extension}`;
}

const RANGE_NAME = /^(\d{20})\+(\d{20})(\..+)$/;

/**
 * The offsets an object key names, if it is `<keyPrefix><first>+<last><extension>`; undefined for
 * any other name, the older `<first>.parquet` names included (recovery does not recognise those).
 */
export function parseRange(key: string, keyPrefix: string, extension = '.parquet'): OffsetRange | undefined {
  if (!key.startsWith(keyPrefix)) return undefined;
  const match = RANGE_NAME.exec(key.slice(keyPrefix.length));
  if (match === null || match[3] !== extension) return undefined;
  const first = Number(match[1]);
  const last = Number(match[2]);
  return Number.isSafeInteger(last) && first <= last ? { first, last } : undefined;
}

/** The partition of records whose `partitionBy` field is missing, null or empty. */
export const MISSING_PARTITION = '__missing__';

const MAX_VALUE_BYTES = 128;
const SAFE = /^[A-Za-z0-9_.-]+$/;

/**
 * A field value as a Hive partition value safe in an S3 key: letters, digits, `_`, `.` and `-` stay;
 * any other byte of its UTF-8 form is written `%XX` (as Hive escapes); a missing, null or empty value
 * is `__missing__`; `.` and `..` are escaped; an object or array is its JSON. A value whose escaped
 * form exceeds 128 bytes keeps its first 96 and a hash of the whole, so that distinct values stay apart.
 *
 * @example
 * partitionValue('ios'); // 'ios'
 * partitionValue('Android TV/beta'); // 'Android%20TV%2Fbeta'
 * partitionValue(undefined); // '__missing__'
 */
export function partitionValue(value: unknown): string {
  if (value === undefined || value === null || value === '') return MISSING_PARTITION;
  const text = typeof value === 'string' ? value : typeof value === 'object' ? JSON.stringify(value) : String(value);
  let safe: string;
  if (SAFE.test(text) && text !== '.' && text !== '..') safe = text;
  else {
    safe = '';
    for (const byte of Buffer.from(text, 'utf8')) {
      const c = String.fromCharCode(byte);
      safe += byte < 0x80 && /[A-Za-z0-9_.-]/.test(c) && text !== '.' && text !== '..' ? c : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
    }
  }
  if (safe.length <= MAX_VALUE_BYTES) return safe;
  return `${safe.slice(0, 96)}~${createHash('sha256').update(text).digest('hex').slice(0, 16)}`;
}

/** The directory name of a `partitionBy` field: its path with `.` as `_`, like the flattened column. */
export function partitionName(field: string): string {
  return field.replaceAll('.', '_');
}

/**
 * Maps a record's value to the Hive-style directories of `fields` (`platform=ios/`), placed between
 * the topic and the hour; `''` when there are no fields.
 *
 * @example
 * partitionDirectories(['platform'])({ platform: 'ios' }); // 'platform=ios/'
 * partitionDirectories(['platform'])({}); // 'platform=__missing__/'
 */
export function partitionDirectories(fields: readonly string[]): (value: unknown) => string {
  if (fields.length === 0) return () => '';
  const parts = fields.map((field) => ({ name: partitionName(field), get: fieldPath(field) }));
  return (value) => {
    let dir = '';
    for (const { name, get } of parts) dir += `${name}=${partitionValue(get(value))}/`;
    return dir;
  };
}
