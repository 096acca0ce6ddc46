import { describe, expect, it } from 'vitest';
import { decideRedrive, redriveFilter } from '../../../src/topology/commands/redrive.ts';
import { checkTopologyText } from '../../../src/topology/load.ts';
import type { ValidTopology } from '../../../src/topology/types.ts';

const { topology, problems } = checkTopologyText(
  `
name: t
sources: [{ id: events, topics: [src], group: g, eventTime: { field: timestamp } }]
deadLetters: { topic: dlq }
steps:
  - { id: parse, kind: parse, from: events }
  - { id: flat, kind: flatten, from: parse }
sinks:
  - { id: cold, kind: s3-parquet, from: flat, bucket: bucket-1, prefix: p }
  - { id: topic-out, kind: kafka, from: parse, topic: out }
`,
  'yaml',
);

const letter = (headers: Record<string, string>, timestamp = 1000) => ({
  topic: 'dlq',
  partition: 1,
  offset: 7,
  timestamp,
  key: Buffer.from('k'),
  value: Buffer.from('{"a":1}'),
  headers: { 'tributary.source.topic': 'src', 'tributary.source.partition': '2', 'tributary.source.offset': '40', 'tributary.step': 'parse', 'tributary.error.code': 'TRIB_DECODE', ...headers },
});

describe('decideRedrive', () => {
  const t = topology as ValidTopology;
  it('reads a valid topology', () => expect(problems).toEqual([]));
  const all = redriveFilter({ topology: '' });

  it('sends the key, value and non-tributary headers to the source partition, naming the dead letter', () => {
    expect(decideRedrive(letter({ trace: 'x' }), t, all)).toEqual({
      action: 'send',
      record: { topic: 'src', partition: 2, key: Buffer.from('k'), value: Buffer.from('{"a":1}'), headers: { trace: 'x', 'tributary.redriven-from': 'dlq:1:7' } },
    });
  });

  it('filters by step, code and dead-letter time [from, to)', () => {
    expect(decideRedrive(letter({}), t, redriveFilter({ topology: '', steps: ['validate'] })).action).toBe('filtered');
    expect(decideRedrive(letter({}), t, redriveFilter({ topology: '', codes: ['TRIB_VALIDATION,TRIB_DECODE'] })).action).toBe('send');
    const window = redriveFilter({ topology: '', from: '1000', to: '2000' });
    expect(decideRedrive(letter({}, 999), t, window).action).toBe('filtered');
    expect(decideRedrive(letter({}, 1000), t, window).action).toBe('send');
    expect(decideRedrive(letter({}, 2000), t, window).action).toBe('filtered');
  });

  it('skips, with the reason, what must not go back to the source topic', () => {
    const reason = (h: Record<string, string>) => {
      const d = decideRedrive(letter(h), t, all);
      return d.action === 'skip' ? d.reason : d.action;
    };
    expect(reason({ 'tributary.value.dropped': 'too big' })).toBe('value dropped (too big); the original is at src:2:40');
    expect(reason({ 'tributary.source.topic': 'g-window-repartition' })).toBe('g-window-repartition is not a source topic of the topology');
    expect(reason({ 'tributary.step': 'cold' })).toBe('its value was reshaped by "flat" before "cold"; the original is at src:2:40');
    expect(reason({ 'tributary.step': 'topic-out' })).toBe('send');
    expect(reason({ 'tributary.step': 'gone' })).toBe('step "gone" is not in the topology');
  });

  it('refuses --to before --from', () => {
    expect(() => redriveFilter({ topology: '', from: '2026-12-03T10', to: '2026-12-03T09' })).toThrow('--to must be after --from');
  });
});
