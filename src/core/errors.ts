/**
 * Every error Tributary raises. Codes share the `TRIB_` prefix; `retriable` says whether the same
 * operation may succeed if tried again. Enumerable fields and `toJSON` make an error survive
 * `JSON.stringify` (logs, dead-letter headers).
 */
export const ERROR_CODES = [
  'TRIB_CONFIG',
  'TRIB_DECODE',
  'TRIB_VALIDATION',
  'TRIB_EVENT_TIME_FUTURE',
  'TRIB_EVENT_TIME_TOO_OLD',
  'TRIB_OPERATOR',
  'TRIB_STATE_LIMIT',
  'TRIB_SCHEMA_LIMIT',
  'TRIB_SINK_PERMANENT',
  'TRIB_SINK_RETRIABLE',
  'TRIB_SINK_OVERLOAD',
  'TRIB_SOURCE',
  'TRIB_UNAVAILABLE',
  'TRIB_STACK',
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

export interface ErrorOptions {
  readonly cause?: unknown;
  /** The topology step the error belongs to. */
  readonly stepId?: string;
  /**
   * The message without record content (no field values, no text of the value), for logs. An error
   * about a record sets it when its message quotes the record; logs show it instead of the message
   * unless `TRIBUTARY_LOG_RECORD_CONTENT=1` (dead-letter headers always carry the full message).
   */
  readonly summary?: string;
}

export class TributaryError extends Error {
  readonly code: ErrorCode;
  readonly retriable: boolean;
  readonly stepId: string | undefined;
  /** See `ErrorOptions.summary`; `undefined` when the message quotes no record content or none was given. */
  readonly summary: string | undefined;

  constructor(code: ErrorCode, message: string, retriable: boolean, options: ErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.retriable = retriable;
    this.stepId = options.stepId;
    this.summary = options.summary;
    Object.defineProperty(this, 'message', { value: message, enumerable: true, writable: true, configurable: true });
  }

  toJSON(): Record<string, unknown> {
    const cause = this.cause;
    return {
      name: this.name,
      code: this.code,
      message: this.message,
      retriable: this.retriable,
      ...(this.stepId === undefined ? {} : { stepId: this.stepId }),
      ...(cause === undefined ? {} : { cause: cause instanceof Error ? describeError(cause) : cause }),
    };
  }
}

/** A topology or option is invalid; raised once, before anything connects. */
export class ConfigError extends TributaryError {
  /** Each problem as `path: message`. */
  readonly problems: readonly string[];
  constructor(problems: string | readonly string[], options: ErrorOptions = {}) {
    const list = typeof problems === 'string' ? [problems] : problems;
    super('TRIB_CONFIG', list.join('\n'), false, options);
    this.problems = list;
  }
}

/** A record's bytes could not be decoded (malformed JSON, oversized value). */
export class DecodeError extends TributaryError {
  constructor(message: string, options: ErrorOptions = {}) {
    super('TRIB_DECODE', message, false, options);
  }
}

/** A decoded record does not match its schema (missing field, wrong type, unknown event type). */
export class ValidationError extends TributaryError {
  constructor(message: string, options: ErrorOptions = {}) {
    super('TRIB_VALIDATION', message, false, options);
  }
}

/**
 * A record's event time lies more than `maxFutureSkew` ahead of the wall clock: it would open a
 * window no watermark closes for years (pinning its partition's offsets) and an S3 partition in the
 * future.
 */
export class EventTimeFutureError extends TributaryError {
  constructor(message: string, options: ErrorOptions = {}) {
    super('TRIB_EVENT_TIME_FUTURE', message, false, options);
  }
}

/** A record's event time lies before `minTimestamp` (default 2000-01-01): a clock reset, an epoch in seconds. */
export class EventTimeTooOldError extends TributaryError {
  constructor(message: string, options: ErrorOptions = {}) {
    super('TRIB_EVENT_TIME_TOO_OLD', message, false, options);
  }
}

/** An operator rejected a record permanently. */
export class OperatorError extends TributaryError {
  constructor(message: string, options: ErrorOptions = {}) {
    super('TRIB_OPERATOR', message, false, options);
  }
}

/** A bounded state (open windows, keys) is full. */
export class StateLimitError extends TributaryError {
  constructor(message: string, options: ErrorOptions = {}) {
    super('TRIB_STATE_LIMIT', message, false, options);
  }
}

/** A record would grow a schema past its bound (the Parquet sink's `maxColumns`). */
export class SchemaLimitError extends TributaryError {
  constructor(message: string, options: ErrorOptions = {}) {
    super('TRIB_SCHEMA_LIMIT', message, false, options);
  }
}

/** A sink refused a record for good (item too large, validation): the record goes to dead letters. */
export class SinkPermanentError extends TributaryError {
  constructor(message: string, options: ErrorOptions = {}) {
    super('TRIB_SINK_PERMANENT', message, false, options);
  }
}

/** A sink write failed in a way that may succeed later (network, throttling after retries ran out). */
export class SinkRetriableError extends TributaryError {
  constructor(message: string, options: ErrorOptions = {}) {
    super('TRIB_SINK_RETRIABLE', message, true, options);
  }
}

/** A sink is overloaded: the runtime pauses the source for `retryAfterMs` instead of buffering. */
export class SinkOverloadError extends TributaryError {
  readonly retryAfterMs: number;
  constructor(message: string, retryAfterMs: number, options: ErrorOptions = {}) {
    super('TRIB_SINK_OVERLOAD', message, true, options);
    this.retryAfterMs = retryAfterMs;
  }
  override toJSON(): Record<string, unknown> {
    return { ...super.toJSON(), retryAfterMs: this.retryAfterMs };
  }
}

/** The Kafka source failed (connection, authentication, group). */
export class SourceError extends TributaryError {
  constructor(message: string, retriable: boolean, options: ErrorOptions = {}) {
    super('TRIB_SOURCE', message, retriable, options);
  }
}

/**
 * A service (Kafka, S3, DynamoDB) stayed unavailable longer than its outage timeout: the process
 * gives up, so that it is restarted, rather than stall without a word.
 */
export class UnavailableError extends TributaryError {
  readonly dependency: string;
  readonly unavailableForMs: number;
  constructor(dependency: string, unavailableForMs: number, options: ErrorOptions = {}) {
    const cause = options.cause instanceof Error ? `: ${options.cause.message}` : '';
    super('TRIB_UNAVAILABLE', `${dependency} unavailable for ${Math.round(unavailableForMs / 1000)} s, longer than its outage timeout; giving up${cause}`, false, options);
    this.dependency = dependency;
    this.unavailableForMs = unavailableForMs;
  }
  override toJSON(): Record<string, unknown> {
    return { ...super.toJSON(), dependency: this.dependency, unavailableForMs: this.unavailableForMs };
  }
}

/** The local stack could not start (Java missing, port taken). */
export class StackError extends TributaryError {
  constructor(message: string, options: ErrorOptions = {}) {
    super('TRIB_STACK', message, false, options);
  }
}

/** Any thrown value as a plain object, for logs and dead-letter headers. */
export function describeError(error: unknown): Record<string, unknown> {
  if (error instanceof TributaryError) return error.toJSON();
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return { name: error.name, message: error.message, ...(code === undefined ? {} : { code }) };
  }
  return { message: String(error) };
}
