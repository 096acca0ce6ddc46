import { readFile } from 'node:fs/promises';
import { extname, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { isNode, LineCounter, parseDocument, type Document } from 'yaml';
import { ConfigError } from '../core/errors.ts';
import type { Key, Problem } from './schema.ts';
import { formatProblem } from './schema.ts';
import type { ValidTopology } from './types.ts';
import type { Env } from './units.ts';
import { checkTopology } from './validate.ts';

/** A problem with the line it sits on, when the spec came from a YAML or JSON file. */
export interface LocatedProblem extends Problem {
  readonly line?: number;
}

/** `path: message (line N)`. */
export function formatLocated(problem: LocatedProblem): string {
  return problem.line === undefined ? formatProblem(problem) : `${formatProblem(problem)} (line ${problem.line})`;
}

/**
 * Reads and validates a topology file: `.yaml`/`.yml`, `.json`, or `.ts`/`.js`/`.mjs` exporting
 * (by default) a `defineTopology({...})` object.
 *
 * ```ts
 * const topology = await loadTopologyFile('topologies/game-events.yaml');
 * ```
 * @throws ConfigError listing every problem as `path: message (line N)`
 */
export async function loadTopologyFile(file: string, options: { env?: Env } = {}): Promise<ValidTopology> {
  const { topology, problems } = await checkTopologyFile(file, options);
  if (topology === undefined) throw new ConfigError(problems.map(formatLocated));
  return topology;
}

/** Like `loadTopologyFile`, but returns the problems (with lines) instead of throwing. */
export async function checkTopologyFile(file: string, options: { env?: Env } = {}): Promise<{ topology: ValidTopology | undefined; problems: readonly LocatedProblem[] }> {
  const ext = extname(file).toLowerCase();
  if (['.ts', '.mts', '.js', '.mjs'].includes(ext)) {
    const module = (await import(pathToFileURL(resolve(file)).href)) as { default?: unknown; topology?: unknown };
    const spec = module.default ?? module.topology;
    if (spec === undefined) return { topology: undefined, problems: [{ path: '', keys: [], message: `${file} exports no topology (write export default defineTopology({ ... }))` }] };
    return checkTopology(spec, options);
  }
  if (!['.yaml', '.yml', '.json'].includes(ext))
    return { topology: undefined, problems: [{ path: '', keys: [], message: `${file}: unknown file type "${ext}" (expected .yaml, .yml, .json or .ts)` }] };
  return checkTopologyText(await readFile(file, 'utf8'), ext === '.json' ? 'json' : 'yaml', options);
}

/** Parses YAML or JSON text and validates it, placing each problem on its line. */
export function checkTopologyText(text: string, format: 'yaml' | 'json', options: { env?: Env } = {}): { topology: ValidTopology | undefined; problems: readonly LocatedProblem[] } {
  if (format === 'json') {
    try {
      JSON.parse(text);
    } catch (error) {
      return { topology: undefined, problems: [{ path: '', keys: [], message: `invalid JSON: ${(error as Error).message}` }] };
    }
  }
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    const problems = doc.errors.map((e): LocatedProblem => {
      const line = e.linePos?.[0].line ?? lines.linePos(e.pos[0]).line;
      return { path: '', keys: [], message: `invalid ${format === 'json' ? 'JSON' : 'YAML'}: ${e.message.split('\n')[0]?.replace(/ at line \d+, column \d+:?$/, '')}`, line };
    });
    return { topology: undefined, problems };
  }
  const { topology, problems } = checkTopology(doc.toJS({ maxAliasCount: 100 }), options);
  return { topology, problems: problems.map((p) => ({ ...p, line: lineOf(doc, lines, p.keys) })) };
}

/** The line of the value at `keys`, or of its nearest ancestor that exists. */
function lineOf(doc: Document, lines: LineCounter, keys: readonly Key[]): number | undefined {
  for (let n = keys.length; n >= 0; n--) {
    const node = n === 0 ? doc.contents : doc.getIn(keys.slice(0, n), true);
    if (isNode(node) && node.range) return lines.linePos(node.range[0]).line;
  }
  return undefined;
}
