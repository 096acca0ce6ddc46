import { describe, expect, it } from 'vitest';
import {
  ConfigError,
  DecodeError,
  describeError,
  ERROR_CODES,
  EventTimeFutureError,
  EventTimeTooOldError,
  OperatorError,
  SchemaLimitError,
  SinkOverloadError,
  SinkPermanentError,
  SinkRetriableError,
  SourceError,
  StackError,
  StateLimitError,
  TributaryError,
  UnavailableError,
  ValidationError,
} from '../../src/core/errors.ts';

/** One instance of every error class, with the code and retriability it must report. */
const CATALOGUE: [TributaryError, string, boolean][] = [
  [new ConfigError('x'), 'TRIB_CONFIG', false],
  [new DecodeError('x'), 'TRIB_DECODE', false],
  [new ValidationError('x'), 'TRIB_VALIDATION', false],
  [new EventTimeFutureError('x'), 'TRIB_EVENT_TIME_FUTURE', false],
  [new EventTimeTooOldError('x'), 'TRIB_EVENT_TIME_TOO_OLD', false],
  [new OperatorError('x'), 'TRIB_OPERATOR', false],
  [new StateLimitError('x'), 'TRIB_STATE_LIMIT', false],
  [new SchemaLimitError('x'), 'TRIB_SCHEMA_LIMIT', false],
  [new SinkPermanentError('x'), 'TRIB_SINK_PERMANENT', false],
  [new SinkRetriableError('x'), 'TRIB_SINK_RETRIABLE', true],
  [new SinkOverloadError('x', 10), 'TRIB_SINK_OVERLOAD', true],
  [new SourceError('x', true), 'TRIB_SOURCE', true],
  [new StackError('x'), 'TRIB_STACK', false],
  [new UnavailableError('s3', 1000), 'TRIB_UNAVAILABLE', false],
];

describe('the error catalogue', () => {
  it.each(CATALOGUE.map(([error, code, retriable]) => [error.name, error, code, retriable] as const))('%s reports %s', (name, error, code, retriable) => {
    expect(error.code).toBe(code);
    expect(error.retriable).toBe(retriable);
    expect(error.name).toBe(name);
    expect(error).toBeInstanceOf(TributaryError);
  });

  it('lists every code once, and every code has a class', () => {
    expect(new Set(ERROR_CODES).size).toBe(ERROR_CODES.length);
    expect(CATALOGUE.map(([, code]) => code).sort()).toEqual([...ERROR_CODES].sort());
  });

  it('survives JSON.stringify with its code, step and cause; the summary stays out of the JSON', () => {
    const error = new ValidationError('amount: expected number, got string "abc"', { stepId: 'validate', summary: 'amount: expected number, got string', cause: new Error('inner') });
    expect(JSON.parse(JSON.stringify(error))).toEqual({
      name: 'ValidationError',
      code: 'TRIB_VALIDATION',
      message: 'amount: expected number, got string "abc"',
      retriable: false,
      stepId: 'validate',
      cause: { name: 'Error', message: 'inner' },
    });
    expect(error.summary).toBe('amount: expected number, got string');
    expect(new DecodeError('no content here').summary).toBeUndefined();
    expect(describeError(new SinkOverloadError('busy', 250))).toMatchObject({ code: 'TRIB_SINK_OVERLOAD', retryAfterMs: 250 });
  });
});
