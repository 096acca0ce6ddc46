import { readFileSync } from 'node:fs';
import { Ajv } from 'ajv';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { schemaText } from '../../src/topology/commands/schema.ts';
import { SINK_KINDS, STEP_KINDS } from '../../src/topology/kinds/index.ts';
import { checkTopology } from '../../src/topology/validate.ts';
import { shopSpec } from './fixtures.ts';

const FILE = 'schema/topology.schema.json';
const schema = JSON.parse(readFileSync(FILE, 'utf8')) as object;
const ajv = new Ajv({ allErrors: true, strict: false });
const matches = ajv.compile(schema);

type Item = Record<string, unknown>;
type Spec = Record<string, Item[]> & Record<string, unknown>;

const defaultTopology = (): Spec => parse(readFileSync('topologies/game-events.yaml', 'utf8')) as Spec;

/** Both verdicts on one spec: the schema's (shape only) and the validator's. */
function verdicts(spec: unknown): { schema: boolean; validator: boolean } {
  return { schema: matches(spec) === true, validator: checkTopology(spec, { env: {} }).problems.length === 0 };
}

/** Copies of `spec`, each with one item broken in one way the schema can see. */
function breakages(spec: Spec): { what: string; spec: Spec }[] {
  const out: { what: string; spec: Spec }[] = [];
  for (const section of ['sources', 'steps', 'sinks'] as const) {
    (spec[section] ?? []).forEach((item, i) => {
      const edit = (what: string, change: (copy: Item) => void) => {
        const copy = structuredClone(spec);
        change((copy[section] as Item[])[i] as Item);
        out.push({ what: `${section}/${String(item.id)}: ${what}`, spec: copy });
      };
      edit('an unknown key', (copy) => (copy.bogusKey = 1));
      edit('no id', (copy) => delete copy.id);
      if (section === 'sources') return;
      edit('no from', (copy) => delete copy.from);
      edit('an unknown kind', (copy) => (copy.kind = 'bogus'));
      const kind = (section === 'steps' ? STEP_KINDS : SINK_KINDS).find((k) => k.kind === item.kind);
      for (const [key, decl] of Object.entries(kind?.options ?? {})) {
        const d = decl as { required?: boolean; for?: readonly string[]; check: { schema: { enum?: unknown[] } } };
        if (d.required === true && d.for === undefined) edit(`no ${key}`, (copy) => delete copy[key]);
        if (d.check.schema.enum !== undefined && item[key] !== undefined) edit(`${key} not one of its words`, (copy) => (copy[key] = 'bogus'));
      }
    });
  }
  return out;
}

describe('topology JSON Schema', () => {
  it('is the one the kinds declare (regenerate with: node src/cli.ts schema --out schema/topology.schema.json)', () => {
    expect(readFileSync(FILE, 'utf8')).toBe(schemaText());
  });

  it('is referenced from the default topology for editors', () => {
    expect(readFileSync('topologies/game-events.yaml', 'utf8').split('\n')[0]).toBe('# yaml-language-server: $schema=../schema/topology.schema.json');
  });

  it('accepts the default topology and the test fixture, as the validator does', () => {
    for (const spec of [defaultTopology(), shopSpec()]) {
      expect(verdicts(spec)).toEqual({ schema: true, validator: true });
      expect(matches.errors ?? []).toEqual([]);
    }
  });

  it('refuses every unknown key, missing required key and unknown word the validator refuses', () => {
    const cases = [...breakages(defaultTopology()), ...breakages(shopSpec() as unknown as Spec)];
    expect(cases.length).toBeGreaterThan(100);
    const disagreements = cases.map(({ what, spec }) => ({ what, ...verdicts(spec) })).filter((v) => v.schema || v.validator);
    expect(disagreements).toEqual([]);
  }, 60_000);

  it('follows variants: keys of another fraud pattern or DynamoDB mode are refused, a variant\'s own required keys are required', () => {
    const withItem = (id: string, change: (item: Item) => void): Spec => {
      const spec = structuredClone(shopSpec()) as unknown as Spec;
      change([...(spec.steps ?? []), ...(spec.sinks ?? [])].find((i) => i.id === id) as Item);
      return spec;
    };
    const cases: [string, Spec][] = [
      ['factor on a velocity pattern', withItem('fraud-velocity', (s) => (s.factor = 3))],
      ['a velocity pattern without threshold', withItem('fraud-velocity', (s) => delete s.threshold)],
      ['an attribute with the default mode (put)', withItem('counts', (s) => (s.attribute = 'n'))],
      ['mode max without attribute and value', withItem('counts', (s) => (s.mode = 'max'))],
      ['mode latest without version', withItem('counts', (s) => (s.mode = 'latest'))],
      ['ifAbsent with mode add', withItem('counts', (s) => Object.assign(s, { mode: 'add', attribute: 'n', value: '1', ifAbsent: ['n'] }))],
    ];
    for (const [what, spec] of cases) expect({ what, ...verdicts(spec) }).toEqual({ what, schema: false, validator: false });
    const fine = withItem('counts', (s) => Object.assign(s, { mode: 'add', attribute: 'n', value: '1' }));
    expect(verdicts(fine)).toEqual({ schema: true, validator: true });
  });

  it('carries each option\'s doc and default, as declared', () => {
    const dedup = (schema as { definitions: Record<string, { properties: Record<string, { description?: string; default?: unknown }> }> }).definitions['step.dedup'];
    expect(dedup?.properties.ttl).toMatchObject({ default: '1h' });
    expect(dedup?.properties.maxKeys?.description).toMatch(/memory/);
  });
});
