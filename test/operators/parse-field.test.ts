import { from } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { ConfigError, DecodeError } from '../../src/core/errors.ts';
import { jsonDeeperThan } from '../../src/operators/parse-json.ts';
import { parseField, type ParseFieldOptions } from '../../src/operators/parse-field.ts';
import { deadLetters, expectAllDone, record, testScheduler } from './record-helpers.ts';

const clientLog = { user_id: 'u1', event_value: '{"screen_info":{"w":1080,"h":1920},"tags":["a"]}' };

function run(options: Omit<ParseFieldOptions, 'id' | 'deadLetter'>, values: unknown[]) {
  const { deadLetter, letters } = deadLetters();
  const out: unknown[] = [];
  const records = values.map((v, i) => record(v, i));
  from(records).pipe(parseField({ id: 'event-value', deadLetter, ...options })).subscribe((e) => {
    out.push(e.value);
    e.lease.release();
  });
  expectAllDone(records);
  return { out, letters };
}

describe('parseField', () => {
  it('parses a string field into the object it holds, in marbles, leaving the input untouched', () => {
    const { deadLetter, letters } = deadLetters();
    const a = record(clientLog, 1);
    const b = record({ user_id: 'u2', event_value: '{"screen_info": oops}' }, 2);
    const c = record({ user_id: 'u3' }, 3);
    testScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold('-a-b-c-|', { a, b, c });
      expectObservable(source.pipe(parseField({ id: 'event-value', field: 'event_value', deadLetter }))).toBe('-a---c-|', {
        a: { ...a, value: { user_id: 'u1', event_value: { screen_info: { w: 1080, h: 1920 }, tags: ['a'] } } },
        c,
      });
      expectSubscriptions(source.subscriptions).toBe('^------!');
    });
    expect(a.value).toEqual(clientLog);
    expect(letters.map((l) => l.envelope)).toEqual([b]);
    expect(letters[0]?.error).toBeInstanceOf(DecodeError);
    expect(letters[0]?.error.code).toBe('TRIB_DECODE');
    expect(letters[0]?.stepId).toBe('event-value');
    expect(letters[0]?.error.message).toMatch(/^field event_value: malformed JSON \(21 bytes\): Unexpected token .*; starts "\{\\"screen_info\\": oops\}"$/);
    expect(letters[0]?.error.cause).toBeInstanceOf(SyntaxError);
  });

  it('reads a nested path and writes the result elsewhere when asked, copying only the path', () => {
    const value = { meta: { raw: '{"a":1}', other: 1 }, keep: { x: 1 } };
    const { out } = run({ field: 'meta.raw', into: 'parsed.meta' }, [value]);
    expect(out).toEqual([{ meta: { raw: '{"a":1}', other: 1 }, keep: { x: 1 }, parsed: { meta: { a: 1 } } }]);
    expect((out[0] as { keep: unknown }).keep).toBe(value.keep);
    expect(value).toEqual({ meta: { raw: '{"a":1}', other: 1 }, keep: { x: 1 } });
  });

  it('passes a record whose field is missing, null or already parsed', () => {
    const values = [{ a: 1 }, { event_value: null }, { event_value: { already: true } }, { event_value: [1] }];
    const { out, letters } = run({ field: 'event_value' }, values);
    expect(out).toEqual(values);
    expect(letters).toEqual([]);
  });

  it('dead-letters nesting deeper than maxDepth before parsing, and says so', () => {
    const deep = (n: number) => `${'['.repeat(n)}${']'.repeat(n)}`;
    const { out, letters } = run({ field: 'v', maxDepth: 3 }, [{ v: deep(3) }, { v: deep(4) }, { v: '{"s":"[[[[[[[[not nesting]]"}' }]);
    expect(out).toEqual([{ v: [[[]]] }, { v: { s: '[[[[[[[[not nesting]]' } }]);
    expect(letters.map((l) => l.error.message)).toEqual(['field v: JSON nested deeper than maxDepth 3 (8 bytes); starts "[[[[]]]]"']);
  });

  it('dead-letters a scalar, another type or a string over maxBytes, with the reason', () => {
    const { out, letters } = run({ field: 'v', maxBytes: 10 }, [{ v: '42' }, { v: 42 }, { v: '"just a string"' }, { v: '{"long":"0123456789"}' }, { v: 'null' }]);
    expect(out).toEqual([]);
    expect(letters.map((l) => l.error.message)).toEqual([
      'field v: expected a JSON object or array, got number (2 bytes); starts "42"',
      'field v: expected a string holding JSON, got number 42',
      'field v: string of 15 bytes exceeds maxBytes 10; starts "\\"just a string\\""',
      'field v: string of 21 bytes exceeds maxBytes 10; starts "{\\"long\\":\\"0123456789\\"}"',
      'field v: expected a JSON object or array, got null (4 bytes); starts "null"',
    ]);
  });

  it('propagates errors and unsubscribes', () => {
    const { deadLetter } = deadLetters();
    const a = record({ v: '{}' });
    testScheduler().run(({ cold, hot, expectObservable, expectSubscriptions }) => {
      const op = () => parseField({ id: 'p', field: 'v', deadLetter });
      expectObservable(cold('-a-#', { a }).pipe(op())).toBe('-a-#', { a: { ...a, value: { v: {} } } });
      const endless = hot('-a-a-a', { a });
      expectObservable(endless.pipe(op()), '^--!').toBe('-a-', { a: { ...a, value: { v: {} } } });
      expectSubscriptions(endless.subscriptions).toBe('^--!');
    });
  });

  it('counts nesting outside strings only', () => {
    expect(jsonDeeperThan('{"a":[{"b":"]]]}"}]}', 2)).toBe(true);
    expect(jsonDeeperThan('{"a":[{"b":"]]]}"}]}', 3)).toBe(false);
    expect(jsonDeeperThan('"\\"[["', 0)).toBe(false);
    expect(jsonDeeperThan('[[[[[[', 2)).toBe(true);
  });

  it.each<[Partial<ParseFieldOptions>, RegExp]>([
    [{ field: '' }, /step "p": option "field" must be a field path/],
    [{ field: 'a..b' }, /option "field" must be a field path/],
    [{ field: 'v', into: '$topic' }, /option "into" must be a field path/],
    [{ field: 'v', maxDepth: 0 }, /option "maxDepth" must be a positive integer, got 0/],
    [{ field: 'v', maxBytes: 1.5 }, /option "maxBytes" must be a positive integer/],
  ])('refuses %j with a ConfigError naming the step', (options, message) => {
    const { deadLetter } = deadLetters();
    const build = () => parseField({ id: 'p', field: 'v', deadLetter, ...options });
    expect(build).toThrow(ConfigError);
    expect(build).toThrow(message);
  });
});
