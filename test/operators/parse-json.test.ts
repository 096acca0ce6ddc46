import { from } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { ConfigError, DecodeError } from '../../src/core/errors.ts';
import { firstInvalidUtf8, jsonDeeperThan, parseJson } from '../../src/operators/parse-json.ts';
import { deadLetters, expectAllDone, record, testScheduler } from './record-helpers.ts';

const bytes = (text: string) => Buffer.from(text, 'utf8');

describe('parseJson', () => {
  it('decodes objects and dead-letters what is not one, in marbles', () => {
    const { deadLetter, letters } = deadLetters();
    const a = record<Buffer | null>(bytes('{"event_id":"e1","event_data":{"amount":5}}'), 1);
    const b = record<Buffer | null>(bytes('{"event_id": x}'), 2);
    const c = record<Buffer | null>(null, 3);
    const d = record<Buffer | null>(bytes('[1,2]'), 4);
    const e = record<Buffer | null>(bytes('{"ok":true}'), 5);
    testScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold('-a-b-c-d-e-|', { a, b, c, d, e });
      expectObservable(source.pipe(parseJson({ id: 'decode', deadLetter }))).toBe('-a-------e-|', {
        a: { ...a, value: { event_id: 'e1', event_data: { amount: 5 } } },
        e: { ...e, value: { ok: true } },
      });
      expectSubscriptions(source.subscriptions).toBe('^----------!');
    });
    expect(letters.map((l) => l.envelope)).toEqual([b, c, d]);
    expect(letters.every((l) => l.error instanceof DecodeError && l.stepId === 'decode' && l.error.stepId === 'decode')).toBe(true);
    expect(letters[1]?.error.message).toContain('null');
    expect(letters[2]?.error.message).toContain('expected a JSON object, got an array');
  });

  it('gives the byte length, the parser position and the start of the text', () => {
    const { deadLetter, letters } = deadLetters();
    const text = `{"event_id":"e1","note":"${'x'.repeat(100)}" oops}`;
    from([record<Buffer | null>(bytes(text))]).pipe(parseJson({ id: 'decode', deadLetter })).subscribe();
    const message = letters[0]?.error.message ?? '';
    expect(message).toContain(`malformed JSON (${Buffer.byteLength(text)} bytes)`);
    expect(message).toMatch(/at position \d+/);
    expect(message).toContain('starts "{\\"event_id\\":\\"e1\\"');
    expect(message).toContain('…');
    expect(letters[0]?.error.cause).toBeInstanceOf(SyntaxError);
  });

  it('refuses values over maxBytes without parsing them', () => {
    const { deadLetter, letters } = deadLetters();
    const out: unknown[] = [];
    from([record<Buffer | null>(bytes('{"a":"0123456789"}')), record<Buffer | null>(bytes('{"a":1}'))])
      .pipe(parseJson({ id: 'decode', maxBytes: 10, deadLetter }))
      .subscribe((e) => out.push(e.value));
    expect(out).toEqual([{ a: 1 }]);
    expect(letters[0]?.error.message).toContain('value of 18 bytes exceeds maxBytes 10');
  });

  it('propagates errors and unsubscribes', () => {
    const { deadLetter } = deadLetters();
    const a = record<Buffer | null>(bytes('{}'));
    testScheduler().run(({ cold, hot, expectObservable, expectSubscriptions }) => {
      const failing = cold('-a-#', { a }, new Error('boom'));
      expectObservable(failing.pipe(parseJson({ id: 'decode', deadLetter }))).toBe('-a-#', { a: { ...a, value: {} } }, new Error('boom'));
      const endless = hot('-a-a-a-a', { a });
      expectObservable(endless.pipe(parseJson({ id: 'decode', deadLetter })), '^---!').toBe('-a-a', { a: { ...a, value: {} } });
      expectSubscriptions(endless.subscriptions).toBe('^---!');
    });
  });

  it('moves each lease exactly once', () => {
    const { deadLetter } = deadLetters();
    const records = ['{"a":1}', 'nope', '{"b":2}', '3'].map((t, i) => record<Buffer | null>(bytes(t), i));
    from(records).pipe(parseJson({ id: 'decode', deadLetter })).subscribe((e) => e.lease.release());
    expectAllDone(records);
  });

  it('checks its options once, naming the step', () => {
    const { deadLetter } = deadLetters();
    expect(() => parseJson({ id: 'decode', maxBytes: 0, deadLetter })).toThrow(ConfigError);
    expect(() => parseJson({ id: 'decode', maxBytes: 0, deadLetter })).toThrow(/step "decode": option "maxBytes"/);
    expect(() => parseJson({ id: '', deadLetter })).toThrow(/"id"/);
    expect(() => parseJson({ id: 'decode', maxDepth: 0, deadLetter })).toThrow(/step "decode": option "maxDepth"/);
  });
});

/** `{"a":{"a":…}}`, `levels` objects deep. */
const nestedText = (levels: number) => `${'{"a":'.repeat(levels)}1${'}'.repeat(levels)}`;

describe('parseJson on hostile input', () => {
  it('dead-letters a record nested 10,000 levels deep and goes on (regression: the crash loop)', () => {
    const { deadLetter, letters } = deadLetters();
    const deep = record<Buffer | null>(bytes(nestedText(10_000)), 1);
    const arrays = record<Buffer | null>(bytes(`{"a":${'['.repeat(5_000)}${']'.repeat(5_000)}}`), 2);
    const ok = record<Buffer | null>(bytes('{"ok":1}'), 3);
    testScheduler().run(({ cold, expectObservable }) => {
      const source = cold('-d-a-o-|', { d: deep, a: arrays, o: ok });
      expectObservable(source.pipe(parseJson({ id: 'parse', deadLetter }))).toBe('-----o-|', { o: { ...ok, value: { ok: 1 } } });
    });
    expect(letters.map((l) => [l.envelope, l.error.code, l.error.message])).toEqual([
      [deep, 'TRIB_DECODE', `JSON nested deeper than maxDepth 64 (${nestedText(10_000).length} bytes)`],
      [arrays, 'TRIB_DECODE', expect.stringContaining('nested deeper than maxDepth 64')],
    ]);
  });

  it('takes maxDepth levels and refuses one more; brackets inside strings do not count', () => {
    const { deadLetter, letters } = deadLetters();
    const out: unknown[] = [];
    const inputs = [nestedText(64), nestedText(65), nestedText(3), `{"s":"${'[{'.repeat(100)}\\\"{"}`];
    from(inputs.map((t, i) => record<Buffer | null>(bytes(t), i)))
      .pipe(parseJson({ id: 'parse', deadLetter }))
      .subscribe((e) => out.push(e.meta.offset));
    expect(out).toEqual([0, 2, 3]);
    expect(letters.map((l) => l.envelope.meta.offset)).toEqual([1]);
    expect(jsonDeeperThan(nestedText(3), 2)).toBe(true);
    expect(jsonDeeperThan(nestedText(3), 3)).toBe(false);
    // More brackets than maxDepth, but in strings or side by side: scanned, not deep.
    expect(jsonDeeperThan(`{"a":"${'{'.repeat(10)}","b":[${'[],'.repeat(10)}1]}`, 3)).toBe(false);
    expect(jsonDeeperThan(`{"a":"\\"","b":{"c":{"d":{}}}}`, 3)).toBe(true);
  });

  it('refuses invalid UTF-8 instead of reading it as U+FFFD (regression: distinct ids collided in dedup)', () => {
    const { deadLetter, letters } = deadLetters();
    const out: unknown[] = [];
    const withByte = (b: number) => Buffer.concat([bytes('{"event_id":"id-'), Buffer.from([b]), bytes('"}')]);
    const a = record<Buffer | null>(withByte(0xff), 1);
    const b = record<Buffer | null>(withByte(0xfe), 2);
    const overlong = record<Buffer | null>(Buffer.concat([bytes('{"x":"'), Buffer.from([0xc0, 0xaf]), bytes('"}')]), 3);
    const surrogate = record<Buffer | null>(Buffer.concat([bytes('{"x":"'), Buffer.from([0xed, 0xa0, 0x80]), bytes('"}')]), 4);
    const good = record<Buffer | null>(bytes('{"event_id":"id-é😀"}'), 5);
    from([a, b, overlong, surrogate, good]).pipe(parseJson({ id: 'parse', deadLetter })).subscribe((e) => out.push(e.value));
    expect(out).toEqual([{ event_id: 'id-é😀' }]);
    expect(letters.map((l) => l.error.message)).toEqual([
      'value is not valid UTF-8 (19 bytes, first invalid byte at 16)',
      'value is not valid UTF-8 (19 bytes, first invalid byte at 16)',
      'value is not valid UTF-8 (10 bytes, first invalid byte at 6)',
      'value is not valid UTF-8 (11 bytes, first invalid byte at 6)',
    ]);
    expect(letters.every((l) => l.error instanceof DecodeError)).toBe(true);
  });

  it('finds the first invalid UTF-8 sequence where TextDecoder finds one', () => {
    const decoder = new TextDecoder('utf-8', { fatal: true });
    let seed = 7;
    const next = () => (seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31);
    for (let n = 0; n < 2000; n++) {
      const sample = Buffer.from(Array.from({ length: 1 + (next() % 12) }, () => (next() % 3 === 0 ? next() % 256 : 0x41)));
      let valid = true;
      try {
        decoder.decode(sample);
      } catch {
        valid = false;
      }
      expect(firstInvalidUtf8(sample) === -1, sample.toString('hex')).toBe(valid);
    }
  });

  it('refuses "__proto__" keys and constructor.prototype anywhere, however the key is spelt (prototype poisoning)', () => {
    const { deadLetter, letters } = deadLetters();
    const out: unknown[] = [];
    const inputs = [
      '{"__proto__":{"polluted":true}}',
      '{"a":[1,{"b":{"__proto__":1}}]}',
      '{"\u005f\u005fproto\u005f\u005f":{"x":1}}',
      '{"event_data":{"constructor":{"prototype":{"x":1}}}}',
      '{"constructor":"a plain field","name":"\u00e9","proto":"ok"}',
    ];
    from(inputs.map((t, i) => record<Buffer | null>(bytes(t), i)))
      .pipe(parseJson({ id: 'parse', deadLetter }))
      .subscribe((e) => out.push(e.value));
    expect(out).toEqual([{ constructor: 'a plain field', name: 'é', proto: 'ok' }]);
    expect(letters.map((l) => l.error.message)).toEqual([
      'a "__proto__" key (prototype poisoning) at __proto__',
      'a "__proto__" key (prototype poisoning) at a[1].b.__proto__',
      'a "__proto__" key (prototype poisoning) at __proto__',
      'a "constructor.prototype" key (prototype poisoning) at event_data.constructor.prototype',
    ]);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('keeps the record out of the summary that logs show', () => {
    const { deadLetter, letters } = deadLetters();
    const secret = 'ann@example.com';
    const inputs = [`{"email":"${secret}" oops}`, `"${secret}"`, `{"email":"${secret}","pad":"${'x'.repeat(100)}"}`];
    from(inputs.map((t, i) => record<Buffer | null>(bytes(t), i)))
      .pipe(parseJson({ id: 'parse', maxBytes: 80, deadLetter }))
      .subscribe();
    expect(letters).toHaveLength(3);
    for (const letter of letters) {
      expect(letter.error.message).toContain(secret);
      expect(letter.error.summary).toBeDefined();
      expect(letter.error.summary).not.toContain(secret);
    }
    expect(letters.map((l) => l.error.summary)).toEqual([
      'malformed JSON (32 bytes) at position 27',
      'expected a JSON object, got string (17 bytes)',
      'value of 136 bytes exceeds maxBytes 80',
    ]);
  });
});
