import type { GraphEdge, TopologyGraph } from './graph.ts';

/**
 * A layered (Sugiyama-style) layout, left to right, with no browser: longest-path layers (sources
 * first, sinks last), dummy vertices on edges that skip layers, barycenter ordering to cut
 * crossings, and vertical placement by isotonic regression (each vertex as near the mean of its
 * neighbours as the order and spacing allow).
 */

export interface Point {
  readonly x: number;
  readonly y: number;
}

export interface Box {
  readonly id: string;
  readonly x: number;
  readonly y: number;
  readonly width: number;
  readonly height: number;
}

export interface EdgeRoute {
  readonly edge: GraphEdge;
  /** Start on the source box's right side, through skipped columns, end on the target's left side. */
  readonly points: readonly Point[];
}

export interface Layout {
  readonly width: number;
  readonly height: number;
  readonly boxes: ReadonlyMap<string, Box>;
  readonly routes: readonly EdgeRoute[];
  /** Where each named output leaves its node: for the output's label. */
  readonly ports: readonly { readonly node: string; readonly output: string; readonly at: Point }[];
}

export interface LayoutOptions {
  readonly size: (id: string) => { readonly width: number; readonly height: number };
  readonly top?: number;
  readonly margin?: number;
  readonly columnGap?: number;
  readonly rowGap?: number;
}

interface Vertex {
  readonly id: string;
  readonly layer: number;
  readonly height: number;
  readonly dummy: boolean;
  y: number;
}

export function layoutGraph(graph: TopologyGraph, options: LayoutOptions): Layout {
  const { size, top = 20, margin = 20, columnGap = 72, rowGap = 18 } = options;
  const layerOf = assignLayers(graph);
  const vertices = new Map<string, Vertex>();
  for (const node of graph.nodes) vertices.set(node.id, { id: node.id, layer: layerOf.get(node.id) as number, height: size(node.id).height, dummy: false, y: 0 });

  // Edges that skip layers pass through one dummy vertex per skipped layer.
  const chains = graph.edges.map((edge, e) => {
    const chain = [edge.from];
    for (let l = (layerOf.get(edge.from) as number) + 1; l < (layerOf.get(edge.to) as number); l++) {
      const id = `\u0000${e}:${l}`;
      vertices.set(id, { id, layer: l, height: 0, dummy: true, y: 0 });
      chain.push(id);
    }
    chain.push(edge.to);
    return chain;
  });
  const preds = new Map<string, string[]>([...vertices.keys()].map((id) => [id, []]));
  const succs = new Map<string, string[]>([...vertices.keys()].map((id) => [id, []]));
  for (const chain of chains)
    for (let i = 1; i < chain.length; i++) {
      (succs.get(chain[i - 1] as string) as string[]).push(chain[i] as string);
      (preds.get(chain[i] as string) as string[]).push(chain[i - 1] as string);
    }

  const layers = orderLayers(vertices, preds, succs);
  placeVertically(layers, vertices, preds, succs, rowGap);

  // Columns: as wide as their widest box.
  const widths = layers.map((layer) => Math.max(0, ...layer.filter((id) => !(vertices.get(id) as Vertex).dummy).map((id) => size(id).width)));
  const lefts: number[] = [];
  widths.reduce((x, w, l) => ((lefts[l] = x), x + w + columnGap), margin);
  const minY = Math.min(...[...vertices.values()].map((v) => v.y - v.height / 2));
  for (const v of vertices.values()) v.y += top - minY;

  const boxes = new Map<string, Box>();
  for (const node of graph.nodes) {
    const v = vertices.get(node.id) as Vertex;
    const { width, height } = size(node.id);
    boxes.set(node.id, { id: node.id, x: (lefts[v.layer] as number) + ((widths[v.layer] as number) - width) / 2, y: v.y - height / 2, width, height });
  }

  const { starts, ends, ports } = assignPorts(graph, chains, vertices, boxes);
  const routes = graph.edges.map((edge, e): EdgeRoute => {
    const chain = chains[e] as string[];
    const points: Point[] = [starts[e] as Point];
    for (const id of chain.slice(1, -1)) {
      const v = vertices.get(id) as Vertex;
      points.push({ x: lefts[v.layer] as number, y: v.y }, { x: (lefts[v.layer] as number) + (widths[v.layer] as number), y: v.y });
    }
    points.push(ends[e] as Point);
    return { edge, points };
  });
  const width = (lefts.at(-1) ?? margin) + (widths.at(-1) ?? 0) + margin;
  const height = Math.max(...[...vertices.values()].map((v) => v.y + v.height / 2)) + margin;
  return { width, height, boxes, routes, ports };
}

/** Sources in layer 0, each step one past its deepest input, sinks last. */
function assignLayers(graph: TopologyGraph): Map<string, number> {
  const layer = new Map<string, number>();
  const incoming = new Map<string, string[]>(graph.nodes.map((n) => [n.id, []]));
  for (const e of graph.edges) incoming.get(e.to)?.push(e.from);
  const visit = (id: string, seen: Set<string>): number => {
    const known = layer.get(id);
    if (known !== undefined) return known;
    if (seen.has(id)) return 0; // a cycle: validation rejects these, stay finite anyway
    seen.add(id);
    const inputs = incoming.get(id) ?? [];
    const l = inputs.length === 0 ? 0 : 1 + Math.max(...inputs.map((i) => visit(i, seen)));
    layer.set(id, l);
    return l;
  };
  const steps = graph.nodes.filter((n) => n.role === 'step' || n.role === 'source');
  for (const n of steps) visit(n.id, new Set());
  const last = 1 + Math.max(0, ...steps.map((n) => layer.get(n.id) as number));
  for (const n of graph.nodes) if (n.role === 'sink') layer.set(n.id, last);
  // The dead-letter topic sits just after the steps that feed it, keeping its dashed edges short.
  for (const n of graph.nodes) if (n.role === 'dead-letters') layer.set(n.id, 1 + Math.max(0, ...(incoming.get(n.id) ?? []).map((i) => layer.get(i) ?? 0)));
  return layer;
}

/** Barycenter sweeps, down then up, keeping the order with the fewest crossings. */
function orderLayers(vertices: ReadonlyMap<string, Vertex>, preds: ReadonlyMap<string, string[]>, succs: ReadonlyMap<string, string[]>): string[][] {
  const count = 1 + Math.max(...[...vertices.values()].map((v) => v.layer));
  let layers: string[][] = Array.from({ length: count }, () => []);
  for (const v of vertices.values()) (layers[v.layer] as string[]).push(v.id);
  let best = layers.map((l) => [...l]);
  let bestCrossings = crossings(best, succs);
  for (let iteration = 0; iteration < 24 && bestCrossings > 0; iteration++) {
    const down = iteration % 2 === 0;
    for (let k = 1; k < count; k++) {
      const l = down ? k : count - 1 - k;
      const neighbours = down ? preds : succs;
      const position = new Map((layers[down ? l - 1 : l + 1] as string[]).map((id, i) => [id, i]));
      const current = layers[l] as string[];
      const score = new Map(current.map((id, i) => {
        const ns = (neighbours.get(id) as string[]).map((n) => position.get(n) as number);
        return [id, ns.length === 0 ? i : ns.reduce((a, b) => a + b, 0) / ns.length];
      }));
      layers[l] = [...current].sort((a, b) => (score.get(a) as number) - (score.get(b) as number));
    }
    const c = crossings(layers, succs);
    if (c < bestCrossings) {
      best = layers.map((l) => [...l]);
      bestCrossings = c;
    }
  }
  layers = best;
  return layers;
}

function crossings(layers: readonly string[][], succs: ReadonlyMap<string, string[]>): number {
  let total = 0;
  for (let l = 0; l + 1 < layers.length; l++) {
    const next = new Map((layers[l + 1] as string[]).map((id, i) => [id, i]));
    const edges: [number, number][] = [];
    (layers[l] as string[]).forEach((id, i) => {
      for (const s of succs.get(id) as string[]) edges.push([i, next.get(s) as number]);
    });
    for (let a = 0; a < edges.length; a++)
      for (let b = a + 1; b < edges.length; b++) {
        const [u1, v1] = edges[a] as [number, number];
        const [u2, v2] = edges[b] as [number, number];
        if ((u1 - u2) * (v1 - v2) < 0) total++;
      }
  }
  return total;
}

/** Each vertex as near the mean of its neighbours' heights as order and spacing allow. */
function placeVertically(layers: readonly string[][], vertices: ReadonlyMap<string, Vertex>, preds: ReadonlyMap<string, string[]>, succs: ReadonlyMap<string, string[]>, rowGap: number): void {
  const gap = (a: Vertex, b: Vertex) => a.height / 2 + b.height / 2 + (a.dummy || b.dummy ? rowGap / 2 : rowGap);
  for (const layer of layers) {
    let y = 0;
    layer.forEach((id, i) => {
      const v = vertices.get(id) as Vertex;
      if (i > 0) y += gap(vertices.get(layer[i - 1] as string) as Vertex, v);
      v.y = y;
    });
  }
  for (let iteration = 0; iteration < 40; iteration++) {
    const down = iteration % 2 === 0;
    const both = iteration >= 6;
    for (let k = 0; k < layers.length; k++) {
      const layer = (layers[down ? k : layers.length - 1 - k] as string[]).map((id) => vertices.get(id) as Vertex);
      const desired = layer.map((v) => {
        const before = preds.get(v.id) as string[];
        const after = succs.get(v.id) as string[];
        let ns = both ? [...before, ...after] : down ? before : after;
        if (ns.length === 0) ns = down ? after : before;
        return ns.length === 0 ? v.y : ns.reduce((sum, n) => sum + (vertices.get(n) as Vertex).y, 0) / ns.length;
      });
      const placed = isotonic(desired, layer.map((v, i) => (i === 0 ? 0 : gap(layer[i - 1] as Vertex, v))));
      layer.forEach((v, i) => (v.y = placed[i] as number));
    }
  }
}

/** Least-squares positions near `desired` with `y[i] - y[i-1] >= gaps[i]` (pool adjacent violators). */
function isotonic(desired: readonly number[], gaps: readonly number[]): number[] {
  const offsets: number[] = [];
  gaps.reduce((sum, g, i) => ((offsets[i] = sum + g), sum + g), 0);
  const blocks: { mean: number; size: number }[] = [];
  desired.forEach((d, i) => {
    blocks.push({ mean: d - (offsets[i] as number), size: 1 });
    while (blocks.length > 1 && (blocks.at(-2) as { mean: number }).mean > (blocks.at(-1) as { mean: number }).mean) {
      const b = blocks.pop() as { mean: number; size: number };
      const a = blocks.at(-1) as { mean: number; size: number };
      a.mean = (a.mean * a.size + b.mean * b.size) / (a.size + b.size);
      a.size += b.size;
    }
  });
  const out: number[] = [];
  for (const b of blocks) for (let k = 0; k < b.size; k++) out.push(b.mean + (offsets[out.length] as number));
  return out;
}

/** Spreads edge ends along box sides in the order of where they go, one port per named output. */
function assignPorts(graph: TopologyGraph, chains: readonly string[][], vertices: ReadonlyMap<string, Vertex>, boxes: ReadonlyMap<string, Box>) {
  const starts: Point[] = [];
  const ends: Point[] = [];
  const ports: { node: string; output: string; at: Point }[] = [];
  const yOf = (id: string) => (vertices.get(id) as Vertex).y;
  const spread = (box: Box, i: number, n: number) => box.y + box.height * (n === 1 ? 0.5 : n === 2 ? 0.3 + 0.4 * i : 0.15 + (0.7 * i) / (n - 1));
  for (const box of boxes.values()) {
    const out = graph.edges.map((edge, e) => ({ edge, e })).filter(({ edge }) => edge.from === box.id);
    const groups = new Map<string, number[]>();
    for (const { edge, e } of out) groups.set(edge.output ?? '', [...(groups.get(edge.output ?? '') ?? []), e]);
    const mean = (es: number[]) => es.reduce((s, e) => s + yOf((chains[e] as string[])[1] as string), 0) / es.length;
    const sorted = [...groups].sort((a, b) => mean(a[1]) - mean(b[1]));
    sorted.forEach(([output, es], i) => {
      const at = { x: box.x + box.width, y: spread(box, i, sorted.length) };
      for (const e of es) starts[e] = at;
      if (output !== '') ports.push({ node: box.id, output, at });
    });
    const into = graph.edges.map((edge, e) => e).filter((e) => graph.edges[e]?.to === box.id);
    into.sort((a, b) => yOf((chains[a] as string[]).at(-2) as string) - yOf((chains[b] as string[]).at(-2) as string));
    into.forEach((e, i) => (ends[e] = { x: box.x, y: spread(box, i, into.length) }));
  }
  return { starts, ends, ports };
}
