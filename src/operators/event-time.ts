import { asyncScheduler, type OperatorFunction, type SchedulerLike } from 'rxjs';
import { EventTimeFutureError, EventTimeTooOldError, ValidationError } from '../core/errors.ts';
import type { Envelope } from '../core/envelope.ts';
import type { DeadLetter } from '../core/sink.ts';
import { compileField } from '../core/expression.ts';
import { checkStepId, compileFor, perRecord, rewrap, stepConfigError } from './per-record.ts';

const ISO_8601 = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?)?(Z|[+-]\d{2}(?::?\d{2})?)?$/i;

/**
 * Reads a timestamp as epoch ms: a finite number is taken as epoch ms; a string must be ISO-8601
 * (`2024-03-07T12:00:00Z`, `2024-03-07T12:00:00.123+01:00`, `2024-03-07 12:00:00`, `2024-03-07`).
 * A string without a zone is read as UTC, never as the machine's local time.
 * @returns epoch ms, or `undefined` when the value is not a timestamp
 */
export function parseTimestampMs(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) ? value : undefined;
  if (typeof value !== 'string') return undefined;
  if (value.length === 24) {
    const fast = canonicalUtcMs(value);
    if (fast !== undefined) return fast;
  }
  const m = ISO_8601.exec(value);
  if (m === null) return undefined;
  const ms = utcMs(
    Number(m[1]),
    Number(m[2]),
    Number(m[3]),
    Number(m[4] ?? 0),
    Number(m[5] ?? 0),
    Number(m[6] ?? 0),
    m[7] === undefined ? 0 : Number(`${m[7]}00`.slice(0, 3)),
  );
  return ms === undefined ? undefined : ms - zoneOffsetMs(m[8]);
}

/** The common shape `2024-03-07T12:00:00.123Z`, read without a regex (the hot path of validation). */
function canonicalUtcMs(s: string): number | undefined {
  if (s.charCodeAt(4) !== 45 || s.charCodeAt(7) !== 45 || s.charCodeAt(10) !== 84 || s.charCodeAt(13) !== 58 ||
      s.charCodeAt(16) !== 58 || s.charCodeAt(19) !== 46 || s.charCodeAt(23) !== 90) return undefined;
  return utcMs(digits(s, 0, 4), digits(s, 5, 2), digits(s, 8, 2), digits(s, 11, 2), digits(s, 14, 2), digits(s, 17, 2), digits(s, 20, 3));
}

/** The decimal number in `s` from `at`, `length` digits long; NaN if one is not a digit. */
function digits(s: string, at: number, length: number): number {
  let x = 0;
  for (let i = at; i < at + length; i++) {
    const c = s.charCodeAt(i) - 48;
    if (c < 0 || c > 9) return Number.NaN;
    x = x * 10 + c;
  }
  return x;
}

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
const DAY_MS = 86_400_000;

function utcMs(year: number, month: number, day: number, hour: number, minute: number, second: number, ms: number): number | undefined {
  // NaN (a non-digit) fails every comparison here.
  if (!(month >= 1 && month <= 12 && day >= 1 && hour <= 23 && minute <= 59 && second <= 59 && ms >= 0)) return undefined;
  const leap = month === 2 && year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  if (day > (DAYS_IN_MONTH[month - 1] as number) + (leap ? 1 : 0)) return undefined;
  return daysFromCivil(year, month, day) * DAY_MS + ((hour * 60 + minute) * 60 + second) * 1000 + ms;
}

/** Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil), faster than Date.UTC. */
function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yearOfEra = y - era * 400;
  const dayOfYear = Math.floor((153 * (month > 2 ? month - 3 : month + 9) + 2) / 5) + day - 1;
  return era * 146_097 + yearOfEra * 365 + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100) + dayOfYear - 719_468;
}

function zoneOffsetMs(zone: string | undefined): number {
  if (zone === undefined || zone === 'Z' || zone === 'z') return 0;
  const digits = zone.slice(1).replace(':', '');
  const minutes = Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2) || '0');
  return (zone[0] === '-' ? -1 : 1) * minutes * 60_000;
}

/** Default `maxFutureSkewMs`: one hour ahead of the wall clock. */
export const DEFAULT_MAX_FUTURE_SKEW_MS = 3_600_000;
/** Default `minTimestampMs`: 2000-01-01T00:00:00Z. */
export const DEFAULT_MIN_TIMESTAMP_MS = Date.UTC(2000, 0, 1);
/** No event time is taken past the end of year 9999, whatever the bounds: partitions and keys have four-digit years. */
export const LATEST_EVENT_TIME_MS = Date.UTC(9999, 11, 31, 23, 59, 59, 999);

export interface WithEventTimeOptions {
  /** The step id (errors, logs, metric labels). */
  readonly id: string;
  /** A field path holding epoch ms or an ISO-8601 string, or `'kafka'` for the record timestamp. */
  readonly from: { readonly field: string } | 'kafka';
  /** Takes records whose time cannot be read or is out of bounds, and their leases. */
  readonly deadLetter: DeadLetter;
  /**
   * Events dated more than this ahead of the wall clock go to dead letters (`EventTimeFutureError`):
   * one would open a window no watermark closes for years, holding its partition's offsets. Default 1 hour.
   */
  readonly maxFutureSkewMs?: number;
  /** Events dated before this (epoch ms, at least 0) go to dead letters (`EventTimeTooOldError`). Default 2000-01-01T00:00:00Z. */
  readonly minTimestampMs?: number;
  /** The wall clock (`now()`), default `asyncScheduler`. */
  readonly scheduler?: SchedulerLike;
}

/**
 * Sets `eventTimeMs` on each envelope, from a field of the value or from the Kafka record timestamp.
 *
 * ```ts
 * events$.pipe(withEventTime({ id: 'time', from: { field: 'timestamp' }, deadLetter }));
 * ```
 *
 * A record whose field is missing or not a timestamp (see `parseTimestampMs`), or whose Kafka
 * timestamp is negative (none was set), goes to `deadLetter` with a ValidationError; one dated
 * before `minTimestampMs` with an EventTimeTooOldError, one more than `maxFutureSkewMs` ahead of the
 * scheduler's clock (or past year 9999) with an EventTimeFutureError.
 * @returns the same records, with `eventTimeMs` set
 */
export function withEventTime<T>(options: WithEventTimeOptions): OperatorFunction<Envelope<T>, Envelope<T>> {
  const { id, from, deadLetter, maxFutureSkewMs = DEFAULT_MAX_FUTURE_SKEW_MS, minTimestampMs = DEFAULT_MIN_TIMESTAMP_MS, scheduler = asyncScheduler } = options;
  checkStepId(id, 'withEventTime');
  if (typeof deadLetter !== 'function') throw stepConfigError(id, 'option "deadLetter" must be a function');
  if (!(Number.isFinite(maxFutureSkewMs) && maxFutureSkewMs >= 0)) throw stepConfigError(id, `option "maxFutureSkewMs" must be a finite number >= 0, got ${maxFutureSkewMs}`);
  if (!(Number.isFinite(minTimestampMs) && minTimestampMs >= 0 && minTimestampMs <= LATEST_EVENT_TIME_MS))
    throw stepConfigError(id, `option "minTimestampMs" must be epoch ms from 0 (1970-01-01) to the end of year 9999, got ${minTimestampMs}`);
  const name = from === 'kafka' ? '$timestamp' : typeof from === 'object' && from !== null ? from.field : '';
  /** The error for an event time out of bounds, or undefined when it is within them. */
  const outOfBounds = (ms: number): ValidationError | EventTimeFutureError | EventTimeTooOldError | undefined => {
    if (ms < minTimestampMs) {
      const summary = `${name}: event time before minTimestamp ${iso(minTimestampMs)}`;
      return new EventTimeTooOldError(`${name}: event time ${iso(ms)} is before minTimestamp ${iso(minTimestampMs)}`, { stepId: id, summary });
    }
    const now = scheduler.now();
    const latest = Math.min(now + maxFutureSkewMs, LATEST_EVENT_TIME_MS);
    if (ms <= latest) return undefined;
    const summary = `${name}: event time more than ${maxFutureSkewMs} ms ahead of the wall clock (maxFutureSkew)`;
    return new EventTimeFutureError(`${name}: event time ${iso(ms)} is more than ${maxFutureSkewMs} ms ahead of the wall clock ${iso(now)}`, { stepId: id, summary });
  };
  if (from === 'kafka') {
    return perRecord<Envelope<T>, Envelope<T>>((envelope, subscriber) => {
      const ms = envelope.meta.timestamp;
      if (!(Number.isFinite(ms) && ms >= 0)) {
        const message = `$timestamp: the Kafka record has no timestamp (${ms})`;
        return deadLetter(envelope, new ValidationError(message, { stepId: id, summary: message }), id);
      }
      const refused = outOfBounds(ms);
      if (refused === undefined) subscriber.next(rewrap(envelope, envelope.value, ms));
      else deadLetter(envelope, refused, id);
    });
  }
  if (typeof from !== 'object' || from === null || typeof from.field !== 'string' || from.field === '')
    throw stepConfigError(id, `option "from" must be 'kafka' or { field: '<path>' }`);
  const path = from.field;
  const get = compileFor(id, 'from.field', () => compileField(path));
  return perRecord<Envelope<T>, Envelope<T>>((envelope, subscriber) => {
    const raw = get(envelope.value, envelope.meta);
    const ms = parseTimestampMs(raw);
    if (ms === undefined) {
      const expected = `${path}: expected a timestamp (epoch ms or ISO-8601), got`;
      return deadLetter(envelope, new ValidationError(`${expected} ${describeValue(raw)}`, { stepId: id, summary: `${expected} ${describeValue(raw, false)}` }), id);
    }
    const refused = outOfBounds(ms);
    if (refused === undefined) subscriber.next(rewrap(envelope, envelope.value, ms));
    else deadLetter(envelope, refused, id);
  });
}

/** ISO-8601 of epoch ms, or the number itself when no Date can hold it. */
function iso(ms: number): string {
  return Math.abs(ms) <= 8.64e15 ? new Date(ms).toISOString() : String(ms);
}

/**
 * A short rendering of a value for error messages: `string "abc"`, `number 12`, `missing`; with
 * `content` false, its kind alone (`string`, `number`), for logs that must not carry record content.
 */
export function describeValue(value: unknown, content = true): string {
  if (value === undefined) return 'missing';
  if (value === null) return 'null';
  if (!content && (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean')) return typeof value;
  if (typeof value === 'string') return `string ${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value)}`;
  if (typeof value === 'number' || typeof value === 'boolean') return `${typeof value} ${value}`;
  if (Array.isArray(value)) return 'array';
  return typeof value;
}
