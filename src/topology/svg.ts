import type { GraphNode, TopologyGraph } from './graph.ts';
import { DEAD_LETTERS } from './graph.ts';
import { layoutGraph, type Box, type Point } from './layout.ts';
import { truncate } from './mermaid.ts';

const FONT = 'Helvetica, Arial, sans-serif';

const STYLE: Readonly<Record<GraphNode['role'], { fill: string; stroke: string; text: string; dash?: string }>> = {
  source: { fill: '#e8f5e9', stroke: '#2e7d32', text: '#1b5e20' },
  step: { fill: '#e3f2fd', stroke: '#1565c0', text: '#0d47a1' },
  sink: { fill: '#fff3e0', stroke: '#ef6c00', text: '#e65100' },
  'dead-letters': { fill: '#ffebee', stroke: '#c62828', text: '#b71c1c', dash: '5 3' },
};

const TITLE_SIZE = 16;
const ID_SIZE = 13;
const DETAIL_SIZE = 11;
const HEADER = 52;

/**
 * The topology as a standalone SVG, laid out without a browser: one box per node (sources as
 * pills, steps as boxes, sinks as cylinders, the dead-letter topic dashed), each with its id and a
 * one-line description, and arrows labelled with named outputs.
 *
 * ```ts
 * writeFileSync('docs/topology.svg', toSvg(buildGraph(topology), { title: topology.name }));
 * ```
 */
export function toSvg(graph: TopologyGraph, options: { title?: string } = {}): string {
  const nodes = new Map(graph.nodes.map((n) => [n.id, n]));
  const outputs = new Map<string, Set<string>>();
  for (const e of graph.edges) outputs.set(e.from, (outputs.get(e.from) ?? new Set()).add(e.output ?? ''));
  const size = (id: string) => {
    const n = nodes.get(id) as GraphNode;
    const width = Math.max(textWidth(label(n), ID_SIZE, true), textWidth(truncate(n.detail), DETAIL_SIZE)) + 28;
    // Room for one labelled port every 15 px when a node has several named outputs.
    const ports = outputs.get(id)?.size ?? 0;
    const height = Math.max(n.role === 'sink' || n.role === 'dead-letters' ? 54 : 46, ports > 2 ? Math.ceil((ports - 1) * 15 / 0.7) + 4 : 0);
    return { width: Math.max(130, Math.ceil(width)), height };
  };
  const layout = layoutGraph(graph, { size, top: HEADER + 12 });
  const width = Math.ceil(Math.max(layout.width, 560));
  const height = Math.ceil(layout.height);
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="${FONT}">`,
    `<title>${xml(options.title ?? 'topology')}</title>`,
    '<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#607d8b"/></marker>',
    '<marker id="arrow-dead" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#c62828"/></marker></defs>',
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
    ...header(options.title, width),
    '<g class="edges" fill="none">',
  ];
  for (const { edge, points } of layout.routes) {
    const color = edge.deadLetter ? '#c62828' : '#607d8b';
    const dash = edge.deadLetter ? ' stroke-dasharray="5 3"' : '';
    out.push(`<path d="${curve(points)}" stroke="${color}" stroke-width="1.4"${dash} marker-end="url(#${edge.deadLetter ? 'arrow-dead' : 'arrow'})"/>`);
  }
  out.push('</g>', '<g class="nodes">');
  for (const box of layout.boxes.values()) out.push(...node(nodes.get(box.id) as GraphNode, box));
  out.push('</g>', '<g class="labels">');
  for (const port of layout.ports)
    out.push(
      `<text x="${n(port.at.x + 6)}" y="${n(port.at.y - 4)}" font-size="10.5" fill="#37474f" stroke="#ffffff" stroke-width="3" paint-order="stroke">${xml(port.output)}</text>`,
    );
  out.push('</g>', '</svg>');
  return `${out.join('\n')}\n`;
}

function label(node: GraphNode): string {
  return node.id === DEAD_LETTERS ? 'dead letters' : node.id;
}

function header(title: string | undefined, width: number): string[] {
  const out: string[] = [];
  if (title !== undefined) out.push(`<text x="20" y="30" font-size="${TITLE_SIZE}" font-weight="bold" fill="#263238">${xml(title)}</text>`);
  const items: [GraphNode['role'], string][] = [['source', 'source'], ['step', 'step'], ['sink', 'sink'], ['dead-letters', 'dead letters']];
  let x = width - 20 - items.reduce((sum, [, text]) => sum + 34 + textWidth(text, 11), 0);
  for (const [role, text] of items) {
    const s = STYLE[role];
    const dash = s.dash ? ` stroke-dasharray="${s.dash}"` : '';
    out.push(`<rect x="${n(x)}" y="18" width="22" height="14" rx="${role === 'source' ? 7 : 3}" fill="${s.fill}" stroke="${s.stroke}"${dash}/>`);
    out.push(`<text x="${n(x + 27)}" y="29" font-size="11" fill="#455a64">${xml(text)}</text>`);
    x += 34 + textWidth(text, 11);
  }
  return out;
}

function node(graphNode: GraphNode, box: Box): string[] {
  const s = STYLE[graphNode.role];
  const dash = s.dash ? ` stroke-dasharray="${s.dash}"` : '';
  const paint = `fill="${s.fill}" stroke="${s.stroke}" stroke-width="1.5"${dash}`;
  const { x, y, width: w, height: h } = box;
  const cylinder = graphNode.role === 'sink' || graphNode.role === 'dead-letters';
  const e = 6; // the cylinder's ellipse half-height
  const shape = cylinder
    ? `<path d="M${n(x)},${n(y + e)} A${n(w / 2)},${e} 0 0,1 ${n(x + w)},${n(y + e)} V${n(y + h - e)} A${n(w / 2)},${e} 0 0,1 ${n(x)},${n(y + h - e)} Z" ${paint}/>` +
      `<path d="M${n(x)},${n(y + e)} A${n(w / 2)},${e} 0 0,0 ${n(x + w)},${n(y + e)}" fill="none" stroke="${s.stroke}" stroke-width="1.5"${dash}/>`
    : `<rect x="${n(x)}" y="${n(y)}" width="${n(w)}" height="${n(h)}" rx="${graphNode.role === 'source' ? n(h / 2) : 6}" ${paint}/>`;
  const cx = n(x + w / 2);
  const middle = y + h / 2 + (cylinder ? e / 2 : 0);
  return [
    `<g class="node ${graphNode.role}" data-id="${xml(graphNode.id)}">`,
    shape,
    `<text x="${cx}" y="${n(middle - 3)}" text-anchor="middle" font-size="${ID_SIZE}" font-weight="bold" fill="${s.text}">${xml(label(graphNode))}</text>`,
    `<text x="${cx}" y="${n(middle + 12)}" text-anchor="middle" font-size="${DETAIL_SIZE}" fill="#546e7a">${xml(truncate(graphNode.detail))}</text>`,
    '</g>',
  ];
}

/** Horizontal-tangent cubic curves between points; straight across columns an edge skips. */
function curve(points: readonly Point[]): string {
  const [first, ...rest] = points as [Point, ...Point[]];
  let d = `M${n(first.x)},${n(first.y)}`;
  let prev = first;
  rest.forEach((p, i) => {
    const last = i === rest.length - 1;
    const q = last ? { x: p.x - 2, y: p.y } : p; // leave room for the arrow head
    if (i % 2 === 1 && !last) d += ` L${n(q.x)},${n(q.y)}`;
    else {
      const dx = Math.max(16, (q.x - prev.x) / 2);
      d += ` C${n(prev.x + dx)},${n(prev.y)} ${n(q.x - dx)},${n(q.y)} ${n(q.x)},${n(q.y)}`;
    }
    prev = q;
  });
  return d;
}

/** An estimate of text width in a Helvetica-like font, with no font metrics at hand. */
export function textWidth(text: string, fontSize: number, bold = false): number {
  let em = 0;
  for (const ch of text) {
    if ('il.,:;|!\'`'.includes(ch)) em += 0.26;
    else if ('fjtrI()[] -'.includes(ch)) em += 0.36;
    else if ('mwMW@%'.includes(ch)) em += 0.86;
    else if (ch >= 'A' && ch <= 'Z') em += 0.68;
    else if (ch === '…' || ch === '→') em += 1;
    else em += 0.56;
  }
  return em * fontSize * (bold ? 1.07 : 1);
}

function n(x: number): string {
  return String(Math.round(x * 10) / 10);
}

function xml(text: string): string {
  return text.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;').replaceAll('"', '&quot;').replaceAll("'", '&apos;');
}
