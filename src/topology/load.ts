import { readFile } from 'node:fs/promises';
import { extname, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { isNode, LineCounter, parseDocument, type Document } from 'yaml';
import { ConfigError } from '../core/errors.ts';
import type { Key, Problem } from './schema.ts';
import { formatProblem } from './schema.ts';
import type { ValidTopology } from './types.ts';
import { checkTopology, type ValidateOptions } from './validate.ts';

/** A problem with the line and column it sits on, when the spec came from a YAML or JSON file. */
export interface LocatedProblem extends Problem {
  readonly line?: number;
  readonly column?: number;
}

/** `path: message (line N)`. */
export function formatLocated(problem: LocatedProblem): string {
  return problem.line === undefined ? formatProblem(problem) : `${formatProblem(problem)} (line ${problem.line})`;
}

/** `file:line:col: path: message`, the form editors and CI annotations read (`file: ...` without a line). */
export function formatAt(file: string, problem: LocatedProblem): string {
  const where = problem.line === undefined ? file : `${file}:${problem.line}:${problem.column ?? 1}`;
  return `${where}: ${problem.path === '' ? problem.message : formatProblem(problem)}`;
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
export async function loadTopologyFile(file: string, options: ValidateOptions = {}): Promise<ValidTopology> {
  const { topology, problems } = await checkTopologyFile(file, options);
  if (topology === undefined) throw new ConfigError(problems.map(formatLocated));
  return topology;
}

export interface Checked {
  readonly topology: ValidTopology | undefined;
  readonly problems: readonly LocatedProblem[];
  /** Places other findings about the same file (lint's warnings) on their lines; absent for `.ts` files. */
  readonly locate?: (found: readonly Problem[]) => LocatedProblem[];
}

/** Like `loadTopologyFile`, but returns the problems (with lines) instead of throwing. */
export async function checkTopologyFile(file: string, options: ValidateOptions = {}): Promise<Checked> {
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
export function checkTopologyText(text: string, format: 'yaml' | 'json', options: ValidateOptions = {}): Checked {
  if (format === 'json') {
    try {
      JSON.parse(text);
    } catch (error) {
      const message = (error as Error).message;
      const m = /\(line (\d+) column (\d+)\)$/.exec(message);
      const at = m ? { line: Number(m[1]), column: Number(m[2]) } : {};
      return { topology: undefined, problems: [{ path: '', keys: [], message: `invalid JSON: ${message.replace(/ in JSON at position \d+.*$/, '')}`, ...at }] };
    }
  }
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  const [error] = doc.errors;
  if (error !== undefined) {
    // One message: after the first syntax error, the parser's further errors are mostly its consequences.
    const { line, col } = error.linePos?.[0] ?? lines.linePos(error.pos[0]);
    return { topology: undefined, problems: [{ path: '', keys: [], message: `invalid ${format === 'json' ? 'JSON' : 'YAML'}: ${error.message.split('\n')[0]?.replace(/ at line \d+, column \d+:?$/, '')}`, line, column: col }] };
  }
  const { topology, problems } = checkTopology(doc.toJS({ maxAliasCount: 100 }), options);
  const locate = (found: readonly Problem[]) => found.map((p) => ({ ...p, ...positionOf(doc, lines, p.keys) }));
  return { topology, problems: locate(problems), locate };
}

/** The position of the value at `keys` (of its key, for a key that is there but unknown), or of its nearest ancestor that exists. */
function positionOf(doc: Document, lines: LineCounter, keys: readonly Key[]): { line?: number; column?: number } {
  for (let n = keys.length; n >= 0; n--) {
    const node = n === 0 ? doc.contents : doc.getIn(keys.slice(0, n), true);
    if (isNode(node) && node.range) {
      const { line, col } = lines.linePos(node.range[0]);
      return { line, column: col };
    }
  }
  return {};
}
