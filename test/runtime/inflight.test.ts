import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/core/errors.ts';
import { InflightGate } from '../../src/runtime/inflight.ts';

function gate(limits: ConstructorParameters<typeof InflightGate>[0]) {
  const log: string[] = [];
  const g = new InflightGate(limits, { onClose: (reason) => log.push(`close:${reason}`), onOpen: () => log.push('open') });
  return { g, log };
}

describe('InflightGate', () => {
  it('closes at the record bound and opens below the low-water mark', () => {
    const { g, log } = gate({ maxInflightRecords: 10, maxInflightBytes: 1e9 });
    for (let i = 0; i < 9; i++) g.add(1);
    expect(g.closed).toBe(false);
    g.add(1);
    expect(g.closed).toBe(true);
    expect(log).toEqual(['close:records']);
    g.remove(4, 4);
    expect(g.closed).toBe(true);
    g.remove(1, 1);
    expect(g.closed).toBe(false);
    expect(log).toEqual(['close:records', 'open']);
  });

  it('scales both bounds under memory pressure: closes past the lowered bound, opens under its low-water mark', () => {
    const { g, log } = gate({ maxInflightRecords: 100, maxInflightBytes: 1000 });
    for (let i = 0; i < 40; i++) g.add(1);
    g.setScale(0.25);
    expect([g.limitRecords, g.limitBytes, g.scale]).toEqual([25, 250, 0.25]);
    expect(log).toEqual(['close:memory']);
    g.remove(27, 27);
    expect(g.closed).toBe(true);
    g.remove(1, 1);
    expect(g.closed).toBe(false);
    for (let i = 0; i < 12; i++) g.add(1);
    expect(g.closed).toBe(false);
    g.add(1);
    expect(log).toEqual(['close:memory', 'open', 'close:records']);
    g.setScale(1);
    expect(g.closed).toBe(false);
    expect([g.limitRecords, g.maxRecords]).toEqual([100, 100]);
    g.setScale(0.001);
    expect(g.limitRecords).toBe(1);
    expect(() => g.setScale(0)).toThrow(RangeError);
    expect(() => g.setScale(1.5)).toThrow(RangeError);
  });

  it('closes at the byte bound', () => {
    const { g, log } = gate({ maxInflightRecords: 1000, maxInflightBytes: 100, resumeRatio: 0.25 });
    g.add(60);
    g.add(60);
    expect(log).toEqual(['close:bytes']);
    g.remove(1, 60);
    expect(g.closed).toBe(true);
    g.remove(1, 60);
    expect(log).toEqual(['close:bytes', 'open']);
  });

  it('stays closed while a hold is in force, whatever the counts', () => {
    const { g, log } = gate({ maxInflightRecords: 10 });
    g.hold('sink:a');
    g.hold('sink:a');
    g.hold('sink:b');
    expect(log).toEqual(['close:sink:a']);
    g.add(1);
    g.remove(1, 1);
    g.unhold('sink:a');
    expect(g.closed).toBe(true);
    g.unhold('sink:b');
    expect(g.closed).toBe(false);
    expect(log).toEqual(['close:sink:a', 'open']);
    expect(g.holds).toEqual([]);
  });

  it('does not open when a hold is released above the low-water mark', () => {
    const { g } = gate({ maxInflightRecords: 10 });
    for (let i = 0; i < 8; i++) g.add(1);
    g.hold('x');
    g.unhold('x');
    expect(g.closed).toBe(true);
    for (let i = 0; i < 3; i++) g.remove(1, 1);
    expect(g.closed).toBe(false);
  });

  it('rejects invalid limits', () => {
    expect(() => gate({ maxInflightRecords: 0 })).toThrow(ConfigError);
    expect(() => gate({ resumeRatio: 1 })).toThrow(/resumeRatio/);
  });
});
