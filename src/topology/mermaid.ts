import type { GraphNode, TopologyGraph } from './graph.ts';
import { DEAD_LETTERS } from './graph.ts';

const SHAPES: Readonly<Record<GraphNode['role'], [string, string]>> = {
  source: ['([', '])'],
  step: ['[', ']'],
  sink: ['[(', ')]'],
  'dead-letters': ['[(', ')]'],
};

const CLASSES = [
  'classDef source fill:#e8f5e9,stroke:#2e7d32,color:#1b5e20',
  'classDef step fill:#e3f2fd,stroke:#1565c0,color:#0d47a1',
  'classDef sink fill:#fff3e0,stroke:#ef6c00,color:#e65100',
  'classDef deadLetters fill:#ffebee,stroke:#c62828,color:#b71c1c,stroke-dasharray:4 3',
];

/** Longest detail line shown; longer ones (filter predicates) end with `…`. */
export const MAX_DETAIL = 40;

/**
 * The topology as a Mermaid flowchart, left to right: sources as stadiums, steps as boxes, sinks
 * (and the dead-letter topic, dashed) as cylinders; named outputs label their edges.
 *
 * ```ts
 * writeFileSync('docs/topology.mmd', toMermaid(buildGraph(topology), { title: topology.name }));
 * ```
 */
export function toMermaid(graph: TopologyGraph, options: { title?: string } = {}): string {
  const ids = mermaidIds(graph.nodes.map((n) => n.id));
  const lines: string[] = [];
  if (options.title !== undefined) lines.push('---', `title: ${options.title}`, '---');
  lines.push('flowchart LR');
  for (const node of graph.nodes) {
    const [open, close] = SHAPES[node.role];
    lines.push(`  ${ids.get(node.id)}${open}"${escape(node.id === DEAD_LETTERS ? 'dead letters' : node.id)}<br/>${escape(truncate(node.detail))}"${close}`);
  }
  for (const edge of graph.edges) {
    const arrow = edge.deadLetter ? '-.->' : edge.output === undefined ? '-->' : `-->|${escape(edge.output)}|`;
    lines.push(`  ${ids.get(edge.from)} ${arrow} ${ids.get(edge.to)}`);
  }
  for (const c of CLASSES) lines.push(`  ${c}`);
  const byRole = (role: GraphNode['role']) => graph.nodes.filter((n) => n.role === role).map((n) => ids.get(n.id));
  for (const [role, cls] of [['source', 'source'], ['step', 'step'], ['sink', 'sink'], ['dead-letters', 'deadLetters']] as const) {
    const members = byRole(role);
    if (members.length > 0) lines.push(`  class ${members.join(',')} ${cls}`);
  }
  return `${lines.join('\n')}\n`;
}

export function truncate(text: string, max = MAX_DETAIL): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

/** Mermaid-safe node ids (`n_by_type`), unique even when two ids differ only in `-` and `_`. */
function mermaidIds(ids: readonly string[]): Map<string, string> {
  const out = new Map<string, string>();
  const used = new Set<string>();
  for (const id of ids) {
    const base = `n_${id.replace(/\W+/g, '_').replace(/^_+|_+$/g, '')}`;
    let candidate = base;
    for (let i = 2; used.has(candidate); i++) candidate = `${base}_${i}`;
    used.add(candidate);
    out.set(id, candidate);
  }
  return out;
}

/** Mermaid entity codes for the characters that would end or confuse a quoted label. */
function escape(text: string): string {
  return text.replaceAll('#', '#35;').replaceAll('"', '#quot;').replaceAll('<', '#lt;').replaceAll('>', '#gt;');
}
