import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

const SRC = new URL('../../src/', import.meta.url).pathname;

/**
 * What each part of src/ may import: a folder, or a file at the top (`cli.ts`, `config.ts`,
 * `config-env.ts`). Imports flow one way, core <- operators, sources <- sinks <- runtime <- topology
 * <- cli, with the configuration entry point beside them:
 * - core holds the shared contracts and imports nothing of ours;
 * - operators, sources and sinks build on core; sinks also on the sources' Kafka connection options
 *   (`sources/connection.ts`), which the Kafka sink and producer connect with;
 * - the runtime wires sources to compiled pipelines and sinks (the Kafka producer the dead letters and
 *   changelogs share is `sinks/kafka-producer.ts`); it never sees an operator;
 * - config.ts and config-env.ts read the environment into clients and connections; only the topology
 *   and the CLI use them (a sink is given its client);
 * - the topology compiles a spec to all of the above; the CLI runs the topology's commands.
 */
const ALLOWED: Readonly<Record<string, readonly string[]>> = {
  core: [],
  operators: ['core'],
  sources: ['core'],
  sinks: ['core', 'sources'],
  runtime: ['core', 'sources', 'sinks'],
  'config-env.ts': ['core'],
  'config.ts': ['core', 'config-env.ts'],
  topology: ['core', 'operators', 'sources', 'sinks', 'runtime', 'config.ts', 'config-env.ts'],
  'cli.ts': ['core', 'operators', 'sources', 'sinks', 'runtime', 'config.ts', 'config-env.ts', 'topology'],
};

/** Relative module specifiers in a file's text: static imports and re-exports (type-only too), side-effect imports, dynamic `import('…')`. */
export function specifiers(text: string): string[] {
  const found: string[] = [];
  for (const m of text.matchAll(/(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)(['"`])(\.{1,2}\/[^'"`]+)\1/g)) found.push(m[2] as string);
  return found;
}

/** The part of src/ a path (relative to src/) belongs to: its top folder, or the file itself at the top. */
const partOf = (path: string): string => (path.includes('/') ? (path.split('/')[0] as string) : path);

/** Every import from one part of src/ into another: `from -> to` with the files that do it. */
function edges(): Map<string, Map<string, string[]>> {
  const graph = new Map<string, Map<string, string[]>>();
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.name.endsWith('.ts')) {
        const from = partOf(relative(SRC, path));
        for (const spec of specifiers(readFileSync(path, 'utf8'))) {
          const target = relative(SRC, join(dirname(path), spec));
          const to = partOf(target);
          if (to === from) continue;
          const targets = graph.get(from) ?? new Map<string, string[]>();
          targets.set(to, [...(targets.get(to) ?? []), `${relative(SRC, path)} -> ${target}`]);
          graph.set(from, targets);
        }
      }
    }
  };
  walk(SRC);
  return graph;
}

/** A cycle in `graph` (a list of nodes, first = last), or undefined. */
function cycleIn(graph: ReadonlyMap<string, Iterable<string>>): string[] | undefined {
  const state = new Map<string, 'open' | 'done'>();
  const path: string[] = [];
  const visit = (node: string): string[] | undefined => {
    if (state.get(node) === 'done') return undefined;
    if (state.get(node) === 'open') return [...path.slice(path.indexOf(node)), node];
    state.set(node, 'open');
    path.push(node);
    for (const next of graph.get(node) ?? []) {
      const cycle = visit(next);
      if (cycle !== undefined) return cycle;
    }
    path.pop();
    state.set(node, 'done');
    return undefined;
  };
  for (const node of graph.keys()) {
    const cycle = visit(node);
    if (cycle !== undefined) return cycle;
  }
  return undefined;
}

describe('layering', () => {
  const graph = edges();

  it('finds static, type-only, re-exported, side-effect and dynamic imports', () => {
    const text = [
      "import { a } from './a.ts';",
      "import type {\n  B,\n} from '../core/b.ts';",
      "export * from '../sinks/c.ts';",
      "import './d.ts';",
      "const e = await import('../topology/e.ts');",
      'const f = await import(`./f.ts`);',
      "import { g } from 'rxjs';",
    ].join('\n');
    expect(specifiers(text)).toEqual(['./a.ts', '../core/b.ts', '../sinks/c.ts', './d.ts', '../topology/e.ts', './f.ts']);
  });

  it('places every folder and top-level file of src/', () => {
    const parts = readdirSync(SRC, { withFileTypes: true })
      .filter((e) => e.isDirectory() || e.name.endsWith('.ts'))
      .map((e) => e.name);
    expect(parts.filter((p) => !(p in ALLOWED))).toEqual([]);
  });

  it('the allowed imports have no cycle', () => {
    expect(cycleIn(new Map(Object.entries(ALLOWED)))).toBeUndefined();
  });

  it.each(Object.keys(ALLOWED))('src/%s imports only what it may', (part) => {
    const stray = [...(graph.get(part) ?? [])].filter(([to]) => !(ALLOWED[part] as readonly string[]).includes(to)).flatMap(([, files]) => files);
    expect(stray).toEqual([]);
  });

  it('the parts of src/ import each other without a cycle', () => {
    expect(cycleIn(new Map([...graph].map(([from, to]) => [from, to.keys()])))).toBeUndefined();
  });
});
