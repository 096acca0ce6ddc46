import { from } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { ConfigError, OperatorError } from '../../src/core/errors.ts';
import { rename, snakeCase, type RenameOptions } from '../../src/operators/rename.ts';
import { deadLetters, expectAllDone, record, testScheduler } from './record-helpers.ts';

function run(options: Omit<RenameOptions, 'id' | 'deadLetter'>, values: unknown[]) {
  const { deadLetter, letters } = deadLetters();
  const out: unknown[] = [];
  const records = values.map((v, i) => record(v, i));
  from(records).pipe(rename({ id: 'names', deadLetter, ...options })).subscribe((e) => {
    out.push(e.value);
    e.lease.release();
  });
  expectAllDone(records);
  return { out, letters };
}

describe('snakeCase', () => {
  it.each([
    ['Screen Info', 'screen_info'],
    ['screenWidthPx', 'screen_width_px'],
    ['HTTPStatus', 'http_status'],
    ['level2Score', 'level2_score'],
    ['Level 2 Score', 'level_2_score'],
    ['user-id', 'user_id'],
    ['  App  Version ', 'app_version'],
    ['event_value', 'event_value'],
    ['ÉcranLargeur', 'écran_largeur'],
    ['!!!', '!!!'],
  ])('%j -> %j', (name, expected) => expect(snakeCase(name)).toBe(expected));
});

describe('rename', () => {
  it('renames top-level names from the map and normalizes the others at every depth, in marbles', () => {
    const { deadLetter, letters } = deadLetters();
    const value = { uid: 'u1', 'Screen Info': { screenWidth: 1080, 'Device Model': 'X' }, Events: [{ eventName: 'tap' }, 3], event_type: 'log' };
    const a = record(value, 1);
    testScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold('-a-|', { a });
      expectObservable(source.pipe(rename({ id: 'names', fields: { uid: 'user_id' }, normalize: 'snake_case', deadLetter }))).toBe('-a-|', {
        a: { ...a, value: { user_id: 'u1', screen_info: { screen_width: 1080, device_model: 'X' }, events: [{ event_name: 'tap' }, 3], event_type: 'log' } },
      });
      expectSubscriptions(source.subscriptions).toBe('^--!');
    });
    expect(letters).toEqual([]);
    expect(value['Screen Info']).toEqual({ screenWidth: 1080, 'Device Model': 'X' });
  });

  it('with a map alone, renames exact top-level names only and keeps nested ones', () => {
    const { out } = run({ fields: { 'User ID': 'user_id', nested: 'data' } }, [{ 'User ID': 'u1', nested: { 'User ID': 'x' }, other: 1 }, 'not an object']);
    expect(out).toEqual([{ user_id: 'u1', data: { 'User ID': 'x' }, other: 1 }, 'not an object']);
  });

  it('dead-letters a record where two names would become one, naming both', () => {
    const { out, letters } = run({ normalize: 'snake_case' }, [{ userId: 'a', user_id: 'b' }, { data: { 'Item Id': 1, itemId: 2 } }, { ok: 1 }]);
    expect(out).toEqual([{ ok: 1 }]);
    expect(letters.map((l) => [l.error instanceof OperatorError, l.error.code, l.stepId, l.error.message])).toEqual([
      [true, 'TRIB_OPERATOR', 'names', 'rename: "userId" and "user_id" both become "user_id"'],
      [true, 'TRIB_OPERATOR', 'names', 'rename: "data.Item Id" and "data.itemId" both become "data.item_id"'],
    ]);
  });

  it('keeps a __proto__ name a plain field', () => {
    const { out } = run({ fields: { 'A b': 'a_b' } }, [JSON.parse('{"__proto__":{"polluted":true},"A b":1}')]);
    expect(Object.getPrototypeOf(out[0])).toBe(Object.prototype);
    expect(Object.keys(out[0] as object)).toEqual(['__proto__', 'a_b']);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('propagates errors and unsubscribes', () => {
    const { deadLetter } = deadLetters();
    const a = record({ A: 1 });
    testScheduler().run(({ cold, hot, expectObservable, expectSubscriptions }) => {
      const op = () => rename({ id: 'names', normalize: 'snake_case', deadLetter });
      expectObservable(cold('-a-#', { a }).pipe(op())).toBe('-a-#', { a: { ...a, value: { a: 1 } } });
      const endless = hot('-a-a-a', { a });
      expectObservable(endless.pipe(op()), '^--!').toBe('-a-', { a: { ...a, value: { a: 1 } } });
      expectSubscriptions(endless.subscriptions).toBe('^--!');
    });
  });

  it.each<[Partial<RenameOptions>, RegExp]>([
    [{}, /step "names": give "fields" \(a map of names\) or "normalize", or both/],
    [{ normalize: 'camelCase' as 'snake_case' }, /option "normalize" must be "snake_case"/],
    [{ fields: { a: 'x', b: 'x' } }, /fields: "a" and "b" both become "x"/],
    [{ fields: { a: '' } }, /fields: "a" -> "" is not a usable rename/],
  ])('refuses %j with a ConfigError naming the step', (options, message) => {
    const { deadLetter } = deadLetters();
    const build = () => rename({ id: 'names', deadLetter, ...options });
    expect(build).toThrow(ConfigError);
    expect(build).toThrow(message);
  });
});
