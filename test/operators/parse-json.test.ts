import { from } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { ConfigError, DecodeError } from '../../src/core/errors.ts';
import { parseJson } from '../../src/operators/parse-json.ts';
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
  });
});
