import { repartitionTopic } from '../core/state.ts';
import { lastSegment } from './kinds/common.ts';
import { sinkKind, stepKind } from './kinds/index.ts';
import { repartitionKeyOf } from './repartition.ts';
import type { ValidTopology } from './types.ts';

export { formatDuration } from './kinds/common.ts';

export type NodeRole = 'source' | 'step' | 'sink' | 'dead-letters';

export interface GraphNode {
  readonly id: string;
  readonly role: NodeRole;
  /** `kafka` for sources and the dead-letter topic, else the step or sink kind. */
  readonly kind: string;
  /** One short line: `window · tumbling 1m`, `dynamodb · user_sessions`. */
  readonly detail: string;
}

export interface GraphEdge {
  readonly from: string;
  readonly to: string;
  /** The named output the edge leaves from (`late`, a route output). */
  readonly output?: string;
  /** Records that failed `from` (parse, validate) on their way to the dead-letter topic. */
  readonly deadLetter?: boolean;
}

export interface TopologyGraph {
  readonly nodes: readonly GraphNode[];
  readonly edges: readonly GraphEdge[];
}

/** The id of the dead-letter node; never a valid step id, so it cannot collide. */
export const DEAD_LETTERS = '(dead letters)';

/**
 * The topology as nodes and edges, for pictures: sources, steps and sinks in spec order, then the
 * dead-letter topic fed by the steps that send records there (parse, validate, parse-field, rename).
 */
export function buildGraph(topology: ValidTopology, options: { deadLetters?: boolean } = {}): TopologyGraph {
  const nodes: GraphNode[] = [
    ...topology.sources.map((s): GraphNode => ({ id: s.id, role: 'source', kind: 'kafka', detail: `kafka · ${s.topics.join(', ')}` })),
    ...topology.steps.map((s): GraphNode => ({ id: s.id, role: 'step', kind: s.kind, detail: detail(s.kind, stepKind(s).describe(s)) })),
    ...topology.sinks.map((s): GraphNode => ({ id: s.id, role: 'sink', kind: s.kind, detail: detail(s.kind, sinkKind(s).describe(s)) })),
  ];
  const edges: GraphEdge[] = [];
  const group = topology.sources[0]?.group ?? '';
  const steps = new Set<unknown>(topology.steps);
  for (const node of [...topology.steps, ...topology.sinks]) {
    // A repartitioned step reads its inputs back from its repartition topic (the compiler inserts it).
    let to = node.id;
    const key = steps.has(node) ? repartitionKeyOf(node as (typeof topology.steps)[number]) : undefined;
    if (key !== undefined) {
      to = `${node.id} (repartition)`;
      const by = key.length > 0 ? `by ${key.map(lastSegment).join(', ')}` : 'one partition';
      nodes.push({ id: to, role: 'step', kind: 'repartition', detail: `kafka · ${repartitionTopic(group, node.id)} ${by}` });
      edges.push({ from: to, to: node.id });
    }
    for (const input of node.from) edges.push(input.output === undefined ? { from: input.id, to } : { from: input.id, to, output: input.output });
  }
  const failing = topology.steps.filter((s) => stepKind(s).deadLetters === true);
  if (options.deadLetters !== false && failing.length > 0) {
    nodes.push({ id: DEAD_LETTERS, role: 'dead-letters', kind: 'kafka', detail: `kafka · ${topology.deadLetters.topic}` });
    for (const s of failing) edges.push({ from: s.id, to: DEAD_LETTERS, deadLetter: true });
    // A source reading the dead-letter topic back (to archive it) is fed by it.
    for (const s of topology.sources) if (s.topics.includes(topology.deadLetters.topic)) edges.push({ from: DEAD_LETTERS, to: s.id, deadLetter: true });
  }
  return { nodes, edges };
}

function detail(kind: string, summary: string): string {
  return `${kind} · ${summary}`.replace(/ · $/, '');
}

/**
 * Every cycle among `ids` (one per strongly connected component), each as a path that starts and
 * ends at its member listed first in `ids`: `['a', 'b', 'a']`.
 */
export function findCycles(ids: readonly string[], edges: readonly (readonly [string, string])[]): string[][] {
  const next = new Map<string, string[]>(ids.map((id) => [id, []]));
  for (const [from, to] of edges) next.get(from)?.push(to);
  const order = new Map(ids.map((id, i) => [id, i]));
  const components = stronglyConnected(ids, next);
  const cycles: string[][] = [];
  for (const component of components) {
    const members = new Set(component);
    const start = component.reduce((a, b) => ((order.get(a) as number) <= (order.get(b) as number) ? a : b));
    const selfLoop = next.get(start)?.includes(start);
    if (component.length === 1 && !selfLoop) continue;
    cycles.push(selfLoop && component.length === 1 ? [start, start] : pathBack(start, members, next));
  }
  return cycles.sort((a, b) => (order.get(a[0] as string) as number) - (order.get(b[0] as string) as number));
}

/** Breadth-first: the shortest path from `start` back to itself inside the component. */
function pathBack(start: string, members: ReadonlySet<string>, next: ReadonlyMap<string, string[]>): string[] {
  const parent = new Map<string, string>();
  const queue = [start];
  for (let i = 0; i < queue.length; i++) {
    const node = queue[i] as string;
    for (const to of next.get(node) ?? []) {
      if (!members.has(to)) continue;
      if (to === start) {
        const path: string[] = [];
        for (let at: string | undefined = node; at !== undefined; at = at === start ? undefined : parent.get(at)) path.push(at);
        return [...path.reverse(), start];
      }
      if (!parent.has(to) && to !== start) {
        parent.set(to, node);
        queue.push(to);
      }
    }
  }
  return [start, start];
}

/** Tarjan's algorithm, iterative. */
function stronglyConnected(ids: readonly string[], next: ReadonlyMap<string, string[]>): string[][] {
  let counter = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const onStack = new Set<string>();
  const stack: string[] = [];
  const out: string[][] = [];
  for (const root of ids) {
    if (index.has(root)) continue;
    const work: [string, number][] = [[root, 0]];
    while (work.length > 0) {
      const frame = work[work.length - 1] as [string, number];
      const [v, i] = frame;
      if (i === 0) {
        index.set(v, counter);
        low.set(v, counter++);
        stack.push(v);
        onStack.add(v);
      }
      const targets = next.get(v) ?? [];
      if (i < targets.length) {
        frame[1]++;
        const w = targets[i] as string;
        if (!index.has(w)) work.push([w, 0]);
        else if (onStack.has(w)) low.set(v, Math.min(low.get(v) as number, index.get(w) as number));
        continue;
      }
      work.pop();
      const parent = work[work.length - 1];
      if (parent) low.set(parent[0], Math.min(low.get(parent[0]) as number, low.get(v) as number));
      if (low.get(v) === index.get(v)) {
        const component: string[] = [];
        let w: string;
        do {
          w = stack.pop() as string;
          onStack.delete(w);
          component.push(w);
        } while (w !== v);
        out.push(component);
      }
    }
  }
  return out;
}
