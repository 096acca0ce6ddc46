import { describe, expect, it } from 'vitest';
import { compileEventSchema, type EventSchema } from '../../src/operators/event-schema.ts';
import { baseEvent, purchaseEvent, SCHEMA } from './record-helpers.ts';

const schema = SCHEMA;
const base = baseEvent;
const purchase = purchaseEvent;
const level = { ...base, event_type: 'level_complete', timestamp: 1_709_812_800_000, platform: null, event_data: { level: 3, perfect: false } };

describe('compileEventSchema', () => {
  const { check, problems } = compileEventSchema(schema);

  it('accepts valid events of each type', () => {
    expect(problems).toEqual([]);
    expect(check(purchase)).toBeUndefined();
    expect(check(level)).toBeUndefined();
  });

  it('lists every problem with its path', () => {
    expect(check({ ...purchase, user_id: 7, timestamp: 'soon', event_data: { amount: 'abc', items: 'x' } })).toEqual([
      'user_id: expected string, got number 7',
      'timestamp: expected timestamp, got string "soon"',
      'event_data.amount: expected number, got string "abc"',
      'event_data.currency: expected string, got missing',
      'event_data.items: expected array, got string "x"',
    ]);
    expect(check({ ...level, event_data: { level: 3.5, perfect: 'no' } })).toEqual([
      'event_data.level: expected integer, got number 3.5',
      'event_data.perfect: expected boolean, got string "no"',
    ]);
    expect(check({ ...level, event_data: [] })).toEqual([
      'event_data.level: expected integer, got missing',
      'event_data.perfect: expected boolean, got missing',
      'event_data: expected object, got array',
    ]);
  });

  it('rejects unknown or missing event types unless told to pass unknown ones', () => {
    expect(check({ ...base, event_type: 'logout' })).toEqual(['event_type: unknown event type "logout" (known: purchase, level_complete)']);
    expect(check({ ...base, event_id: undefined })).toEqual([
      'event_type: expected string (one of purchase, level_complete), got missing',
      'event_id: expected string, got missing',
      'event_type: expected string, got missing',
    ]);
    const pass = compileEventSchema({ ...schema, unknownEventTypes: 'pass' }).check;
    expect(pass({ ...base, event_type: 'logout' })).toBeUndefined();
    expect(pass({ ...base, event_type: 'logout', user_id: null })).toEqual(['user_id: expected string, got null']);
    expect(check([1])).toEqual(['(value): expected object, got array']);
  });

  it('uses another discriminator, or none without events', () => {
    const byKind = compileEventSchema({ discriminator: 'meta.kind', events: { a: { x: 'number' } } }).check;
    expect(byKind({ meta: { kind: 'a' }, x: 1 })).toBeUndefined();
    expect(byKind({ meta: { kind: 'a' } })).toEqual(['x: expected number, got missing']);
    const commonOnly = compileEventSchema({ common: { x: 'number' } }).check;
    expect(commonOnly({ x: 1, event_type: 'whatever' })).toBeUndefined();
  });

  it('reports the problems of the schema itself', () => {
    const { problems: found } = compileEventSchema({
      common: { a: 'strin' as 'string', 'b..c': 'number' },
      events: { x: { y: 'date?' as 'string' } },
      unknownEventTypes: 'drop' as 'pass',
      extra: 1,
    } as EventSchema);
    expect(found).toEqual([
      'schema.extra: unknown key (known: discriminator, common, events, unknownEventTypes)',
      "schema.unknownEventTypes: must be 'reject' or 'pass'",
      'schema.common.a: unknown type "strin" (known: string, number, integer, boolean, timestamp, object, array, with ? for optional)',
      'schema.common: field path "b..c" has an empty segment',
      'schema.events.x.y: unknown type "date?" (known: string, number, integer, boolean, timestamp, object, array, with ? for optional)',
    ]);
  });
});
