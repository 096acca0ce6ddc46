import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { SINK_KINDS, STEP_KINDS } from '../../src/topology/kinds/index.ts';
import { defaultOf } from '../../src/topology/kinds/kind.ts';
import { checkTopology } from '../../src/topology/validate.ts';
import { shopSpec } from './fixtures.ts';

const problems = (spec: unknown) => checkTopology(spec, { env: {} }).problems.map((p) => `${p.path}: ${p.message}`);

function withStep(step: Record<string, unknown>) {
  const spec = structuredClone(shopSpec()) as unknown as { steps: unknown[]; sinks: { from: string }[] };
  spec.steps.push({ id: 'some', from: 'parse', ...step });
  spec.sinks.push({ id: 'out', kind: 'kafka', from: 'some', topic: 'sampled' } as never);
  return spec;
}

describe('kinds', () => {
  it('each declares a doc for every option, and defaults its own check accepts or takes as they are', () => {
    for (const kind of [...STEP_KINDS, ...SINK_KINDS]) {
      expect(kind.doc.length, kind.kind).toBeGreaterThan(10);
      for (const [key, decl] of Object.entries(kind.options)) {
        expect(decl.doc.length, `${kind.kind}.${key}`).toBeGreaterThan(3);
        if ('default' in decl && decl.default !== undefined) expect(defaultOf(decl), `${kind.kind}.${key}`).not.toBeUndefined();
      }
    }
  });

  it('a default declared once is what validation fills in (dedup ttl 1h, DynamoDB concurrency)', () => {
    const { topology } = checkTopology(withStep({ kind: 'dedup' }), { env: {} });
    expect(topology?.steps.find((s) => s.id === 'some')).toMatchObject({ key: ['event_id'], ttlMs: 3_600_000, maxKeys: 250_000, duplicates: 'drop' });
    expect(topology?.sinks.find((s) => s.id === 'counts')).toMatchObject({ concurrency: 8, shards: 1, mode: 'put' });
  });

  it('gives a DynamoDB sink of single-item requests 32 in flight by default, one of BatchWriteItem requests 8, and takes a given one', () => {
    const sinkWith = (more: Record<string, unknown>) => {
      const spec = structuredClone(shopSpec()) as unknown as { sinks: Record<string, unknown>[] };
      const counts = spec.sinks.find((s) => s.id === 'counts') as Record<string, unknown>;
      Object.assign(counts, more);
      return checkTopology(spec, { env: {} }).topology?.sinks.find((s) => s.id === 'counts');
    };
    expect(sinkWith({ mode: 'update' })).toMatchObject({ mode: 'update', concurrency: 32 });
    expect(sinkWith({ mode: 'put' })).toMatchObject({ mode: 'put', concurrency: 8 });
    expect(sinkWith({ mode: 'update', concurrency: 4 })).toMatchObject({ concurrency: 4 });
  });

  it('sample, added as a module and one registration line, validates like any kind', () => {
    expect(problems(withStep({ kind: 'sample', rate: 0.1 }))).toEqual([]);
    expect(problems(withStep({ kind: 'sample' }))).toEqual(['/steps/some/rate: is required']);
    expect(problems(withStep({ kind: 'sample', rate: 2, colour: 'red' }))).toEqual(['/steps/some/rate: must be at most 1 (got 2)', '/steps/some/colour: unknown key (allowed: id, kind, from, rate, key)']);
    const { topology } = checkTopology(withStep({ kind: 'sample', rate: 0.25, key: 'user_id' }), { env: {} });
    expect(topology?.steps.find((s) => s.id === 'some')).toMatchObject({ kind: 'sample', rate: 0.25, key: ['user_id'] });
  });

  it('the README names every kind', () => {
    const readme = readFileSync('README.md', 'utf8');
    for (const kind of [...STEP_KINDS, ...SINK_KINDS]) expect(readme, kind.kind).toContain(`\`${kind.kind}\``);
  });
});
