import { describe, expect, it } from 'vitest';
import { validateTopology } from '../../src/topology/validate.ts';
import { lintWarnings } from '../../src/topology/warnings.ts';
import { shopSpec } from './fixtures.ts';

const warnings = (spec: unknown) => lintWarnings(validateTopology(spec, { env: {} })).map((w) => `${w.path} [${w.keys.join(',')}]: ${w.message}`);

/** The shop topology with `steps` added and `sinks` reading from `reads` (a kafka sink each). */
function shop(steps: Record<string, unknown>[], reads: string[]): Record<string, unknown> {
  const spec = structuredClone(shopSpec()) as unknown as { steps: Record<string, unknown>[]; sinks: Record<string, unknown>[] };
  spec.steps.push(...steps);
  spec.sinks.push(...reads.map((from, i) => ({ id: `extra-${i}`, kind: 'kafka', from, topic: `extra-${i}` })));
  return spec;
}

describe('lintWarnings', () => {
  it('finds nothing in a topology whose every output is read', () => {
    expect(warnings(shopSpec())).toEqual([]);
  });

  it('names a step nobody reads, by path and raw keys', () => {
    expect(warnings(shop([{ id: 'lonely', kind: 'filter', from: 'parse', when: 'true' }], []))).toEqual([
      '/steps/lonely [steps,4]: nobody reads the output of step "lonely" (no step or sink has from: lonely)',
    ]);
  });

  it('names each route output never read, the default output included', () => {
    const route = { id: 'by-size', kind: 'route', from: 'parse', routes: [{ output: 'big', when: 'amount > 100' }, { output: 'mid', when: 'amount > 10' }], default: 'rest' };
    expect(warnings(shop([route], ['by-size.mid']))).toEqual([
      '/steps/by-size/routes/0/output [steps,4,routes,0,output]: route output "big" is never read (no from: by-size.big)',
      '/steps/by-size/default [steps,4,default]: route output "rest" is never read (no from: by-size.rest)',
    ]);
    expect(warnings(shop([route], ['by-size.mid', 'by-size.big', 'by-size.rest']))).toEqual([]);
  });

  it('names routed duplicates never read, but not a window\'s late output (optional by design)', () => {
    const dedup = { id: 'once', kind: 'dedup', from: 'parse', duplicates: 'route' };
    expect(warnings(shop([dedup], ['once']))).toEqual(['/steps/once/duplicates [steps,4,duplicates]: duplicates are routed but output "duplicate" is never read (no from: once.duplicate)']);
    expect(warnings(shop([dedup], ['once', 'once.duplicate']))).toEqual([]);
  });
});
