import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { rmSync } from 'node:fs';
import { ConfigError } from '../../src/core/errors.ts';
import { checkTopologyFile, checkTopologyText, formatLocated, loadTopologyFile } from '../../src/topology/load.ts';
import { shopSpec } from './fixtures.ts';

const dir = mkdtempSync(join(tmpdir(), 'tributary-load-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const gameEvents = readFileSync(new URL('../../topologies/game-events.yaml', import.meta.url), 'utf8');
const lineOf = (text: string, needle: string) => text.split('\n').findIndex((l) => l.includes(needle)) + 1;

describe('checkTopologyText', () => {
  it('places each problem on its YAML line', () => {
    const broken = gameEvents.replace('within: 60s', 'within: sixty').replace('grace: 30s', 'grace: -30s').replace('from: by-type.scores', 'from: by-type.score');
    const { topology, problems } = checkTopologyText(broken, 'yaml', { env: {} });
    expect(topology).toBeUndefined();
    expect(problems.map(formatLocated)).toEqual([
      `/steps/game-minute/grace: must not be negative (got "-30s") (line ${lineOf(broken, 'grace: -30s')})`,
      `/steps/fraud-velocity/within: must be a duration like "60s" (line ${lineOf(broken, 'within: sixty')})`,
      `/sinks/leaderboard/from: step "by-type" has no output "score" (outputs: logins, logouts, purchases, scores, refunds) (line ${lineOf(broken, 'by-type.score')})`,
    ]);
  });

  it('places a missing key on the line of the object that lacks it', () => {
    const text = 'name: shop\nsources:\n  - id: tx\n    topics: [t]\nsinks:\n  - id: out\n    kind: kafka\n    from: tx\n';
    const { problems } = checkTopologyText(text, 'yaml', { env: {} });
    expect(problems.map(formatLocated)).toEqual(['/sinks/out/topic: is required (line 6)']);
  });

  it('reports YAML syntax errors and duplicate keys with their lines', () => {
    expect(checkTopologyText('name: x\nname: y\n', 'yaml').problems.map(formatLocated)).toEqual(['/: invalid YAML: Map keys must be unique (line 2)']);
    const unclosed = checkTopologyText('name: x\nsources:\n  - id: a\n    topics: [a\n', 'yaml').problems;
    expect(unclosed).toHaveLength(1);
    expect(unclosed[0]?.message).toMatch(/^invalid YAML: /);
  });

  it('reads JSON, with lines, and refuses what is not JSON', () => {
    const text = JSON.stringify({ ...shopSpec(), deadLetters: { topic: 'bad topic' } }, null, 2);
    expect(checkTopologyText(text, 'json', { env: {} }).problems.map(formatLocated)).toEqual([
      `/deadLetters/topic: must be a Kafka topic name (letters, digits, ".", "_" and "-") (got "bad topic") (line ${lineOf(text, '"bad topic"')})`,
    ]);
    expect(checkTopologyText('name: shop', 'json').problems[0]?.message).toMatch(/^invalid JSON: /);
  });
});

describe('loadTopologyFile', () => {
  it('loads .yaml, .json and .ts files to the same topology', async () => {
    writeFileSync(join(dir, 'shop.yaml'), JSON.stringify(shopSpec())); // JSON is YAML too
    writeFileSync(join(dir, 'shop.json'), JSON.stringify(shopSpec(), null, 2));
    writeFileSync(join(dir, 'shop.ts'), `export default ${JSON.stringify(shopSpec())};\n`);
    const [yaml, json, ts] = await Promise.all(['shop.yaml', 'shop.json', 'shop.ts'].map((f) => loadTopologyFile(join(dir, f), { env: {} })));
    expect(yaml?.name).toBe('shop');
    expect(json).toEqual(yaml);
    expect(ts).toEqual(yaml);
  });

  it('throws a ConfigError carrying every problem', async () => {
    writeFileSync(join(dir, 'bad.yaml'), 'name: Bad Name\nsources: []\n');
    const error = await loadTopologyFile(join(dir, 'bad.yaml')).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).problems).toEqual([
      '/name: must be a name of letters, digits, "-" and "_" starting with a letter (got "Bad Name") (line 1)',
      '/sources: must not be empty (line 2)',
      '/sinks: is required (line 1)',
    ]);
  });

  it('refuses other file types and modules without a topology', async () => {
    writeFileSync(join(dir, 'empty.ts'), 'export const nothing = 1;\n');
    expect((await checkTopologyFile(join(dir, 'empty.ts'))).problems[0]?.message).toBe(`${join(dir, 'empty.ts')} exports no topology (write export default defineTopology({ ... }))`);
    expect((await checkTopologyFile(join(dir, 'shop.toml'))).problems[0]?.message).toBe(`${join(dir, 'shop.toml')}: unknown file type ".toml" (expected .yaml, .yml, .json or .ts)`);
  });
});
