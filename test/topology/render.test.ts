import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { buildGraph, type TopologyGraph } from '../../src/topology/graph.ts';
import { toMermaid } from '../../src/topology/mermaid.ts';
import { toSvg } from '../../src/topology/svg.ts';
import { validateTopology } from '../../src/topology/validate.ts';
import { xmlProblems } from './xml.ts';

const topology = validateTopology(parse(readFileSync(new URL('../../topologies/game-events.yaml', import.meta.url), 'utf8')), { env: {} });
const graph = buildGraph(topology);

describe('toMermaid', () => {
  const text = toMermaid(graph, { title: 'game-events' });

  it('draws a left-to-right flowchart with shapes by role', () => {
    expect(text.startsWith('---\ntitle: game-events\n---\nflowchart LR\n')).toBe(true);
    expect(text).toContain('  n_game_events(["game-events<br/>kafka · game-events"])');
    expect(text).toContain('  n_dedup["dedup<br/>dedup · event_id for 1h"]');
    expect(text).toContain('  n_cold_storage[("cold-storage<br/>s3-parquet · events/ by platform, hour")]');
    expect(text).toContain('  n_dead_letters[("dead letters<br/>kafka · tributary-dead-letters")]');
  });

  it('has the expected edges, named outputs as labels, dead letters dashed', () => {
    for (const edge of [
      'n_game_events --> n_parse',
      'n_parse --> n_validate',
      'n_dedup --> n_by_type',
      'n_by_type -->|logins| n_user_sessions',
      'n_by_type -->|scores| n_leaderboard',
      'n_game_minute -->|late| n_late_events',
      'n_fraud_refund --> n_fraud_alerts_table',
      'n_flatten --> n_cold_storage',
      'n_validate -.-> n_dead_letters',
    ])
      expect(text).toContain(`  ${edge}\n`);
    expect(text.split('\n').filter((l) => /-->|-\.->/.test(l))).toHaveLength(graph.edges.length);
  });

  it('escapes what would break a label and keeps ids unique', () => {
    const tricky: TopologyGraph = {
      nodes: [
        { id: 'a-b', role: 'step', kind: 'filter', detail: `filter · amount > 5 and name == "x" #1` },
        { id: 'a_b', role: 'sink', kind: 'kafka', detail: 'kafka · t' },
      ],
      edges: [{ from: 'a-b', to: 'a_b' }],
    };
    const out = toMermaid(tricky);
    expect(out).toContain('n_a_b["a-b<br/>filter · amount #gt; 5 and name == #quot;x#quot; #35;1"]');
    expect(out).toContain('n_a_b_2[("a_b<br/>kafka · t")]');
    expect(out).toContain('n_a_b --> n_a_b_2');
  });
});

describe('toSvg', () => {
  const svg = toSvg(graph, { title: 'game-events' });

  it('is well-formed XML', () => {
    expect(xmlProblems(svg)).toEqual([]);
    expect(xmlProblems('<svg><g></svg>')).not.toEqual([]); // the checker can fail
  });

  it('has one box per node, with its id and description, and one path per edge', () => {
    const boxes = [...svg.matchAll(/<g class="node (source|step|sink|dead-letters)" data-id="([^"]+)">/g)].map((m) => `${m[1]}:${m[2]}`);
    expect(boxes).toHaveLength(graph.nodes.length);
    expect(new Set(boxes)).toEqual(new Set(graph.nodes.map((n) => `${n.role}:${n.id}`)));
    expect(svg).toContain('>fraud-velocity</text>');
    expect(svg).toContain('>fraud · velocity &gt; 5 in 1m</text>');
    const edgesGroup = svg.slice(svg.indexOf('<g class="edges"'), svg.indexOf('<g class="nodes"'));
    expect(edgesGroup.match(/<path /g)).toHaveLength(graph.edges.length);
    expect(svg.match(/<text [^>]*>(logins|purchases|scores|refunds|late)<\/text>/g)).toHaveLength(5);
  });

  it('lays boxes out without overlaps, sources left of steps left of sinks', () => {
    const boxes = [...svg.matchAll(/data-id="([^"]+)">\n<(?:rect x="([\d.]+)" y="([\d.]+)" width="([\d.]+)" height="([\d.]+)"|path d="M([\d.]+),([\d.]+) A([\d.]+),6)/g)].map((m) =>
      m[2] !== undefined
        ? { id: m[1] as string, x: Number(m[2]), y: Number(m[3]), w: Number(m[4]), h: Number(m[5]) }
        : { id: m[1] as string, x: Number(m[6]), y: Number(m[7]) - 6, w: Number(m[8]) * 2, h: 54 },
    );
    expect(boxes).toHaveLength(graph.nodes.length);
    for (const a of boxes)
      for (const b of boxes)
        if (a !== b) expect(a.x + a.w <= b.x || b.x + b.w <= a.x || a.y + a.h <= b.y || b.y + b.h <= a.y, `${a.id} overlaps ${b.id}`).toBe(true);
    const x = (id: string) => (boxes.find((b) => b.id === id) as { x: number }).x;
    expect(x('game-events')).toBeLessThan(x('parse'));
    expect(x('parse')).toBeLessThan(x('validate'));
    expect(x('fraud-refund')).toBeLessThan(x('fraud-alerts'));
    expect(x('dedup')).toBeLessThan(x('cold-storage'));
  });
});
