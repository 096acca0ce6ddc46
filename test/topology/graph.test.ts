import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { buildGraph, DEAD_LETTERS, findCycles, formatDuration } from '../../src/topology/graph.ts';
import { validateTopology } from '../../src/topology/validate.ts';

const topology = validateTopology(parse(readFileSync(new URL('../../topologies/game-events.yaml', import.meta.url), 'utf8')), { env: {} });

describe('buildGraph', () => {
  const graph = buildGraph(topology);
  const edges = graph.edges.map((e) => `${e.from}${e.output ? `.${e.output}` : ''} -> ${e.to}${e.deadLetter ? ' (dead letters)' : ''}`);

  it('has one node per source, step and sink, plus the dead-letter topic', () => {
    expect(graph.nodes.map((n) => `${n.role}:${n.id}`)).toEqual([
      'source:game-events',
      'source:user-activity',
      'source:transaction-events',
      'source:dead-letter-topic',
      ...topology.steps.map((s) => `step:${s.id}`),
      ...topology.sinks.map((s) => `sink:${s.id}`),
      'step:game-minute (repartition)',
      `dead-letters:${DEAD_LETTERS}`,
    ]);
    expect(graph.nodes.find((n) => n.id === 'game-minute (repartition)')?.detail).toBe('kafka · tributary-game-events-game-minute-repartition by game_id');
    expect(graph.nodes.find((n) => n.id === 'game-minute')?.detail).toBe('window · tumbling 1m by game_id');
    expect(graph.nodes.find((n) => n.id === 'leaderboard')?.detail).toBe('dynamodb · leaderboard (max best_score)');
    expect(graph.nodes.find((n) => n.id === DEAD_LETTERS)?.detail).toBe('kafka · tributary-dead-letters');
  });

  it('wires the platform: decode, fan out, fraud fan-in, named outputs, dead letters', () => {
    expect(edges).toEqual(
      expect.arrayContaining([
        'game-events -> parse',
        'user-activity -> parse',
        'transaction-events -> parse',
        'parse -> validate',
        'validate -> dedup',
        'dedup -> by-type',
        'dedup -> with-game',
        'dedup -> flatten',
        'by-type.logins -> user-sessions',
        'by-type.logouts -> session-close',
        'by-type.logins -> logins-in-game',
        'by-type.logouts -> logouts-in-game',
        'logins-in-game -> concurrent-users-in',
        'logouts-in-game -> concurrent-users-out',
        'by-type.purchases -> transactions',
        'by-type.scores -> leaderboard',
        'by-type.purchases -> fraud-velocity',
        'by-type.refunds -> fraud-refund',
        'with-game -> game-minute (repartition)',
        'game-minute (repartition) -> game-minute',
        'game-minute -> game-metrics',
        'game-minute.late -> late-events',
        'fraud-devices -> fraud-alerts',
        'fraud-refund -> fraud-alerts-table',
        'flatten -> cold-storage',
        'game-events -> raw-tier',
        'transaction-events -> raw-tier',
        'dead-letter-topic -> error-archive',
        `parse -> ${DEAD_LETTERS} (dead letters)`,
        `validate -> ${DEAD_LETTERS} (dead letters)`,
        `${DEAD_LETTERS} -> dead-letter-topic (dead letters)`,
      ]),
    );
    expect(edges).toHaveLength(41);
    expect(edges).not.toContain('with-game -> game-minute');
  });

  it('leaves the dead-letter node out on request', () => {
    const bare = buildGraph(topology, { deadLetters: false });
    expect(bare.nodes.some((n) => n.id === DEAD_LETTERS)).toBe(false);
    expect(bare.edges.some((e) => e.deadLetter)).toBe(false);
  });
});

describe('findCycles', () => {
  it('finds none in a DAG', () => {
    expect(findCycles(['a', 'b', 'c'], [['a', 'b'], ['b', 'c'], ['a', 'c']])).toEqual([]);
  });

  it('finds one cycle per strongly connected component, from its first member', () => {
    const ids = ['a', 'b', 'c', 'd', 'e', 'f'];
    const edges: [string, string][] = [['a', 'b'], ['b', 'c'], ['c', 'a'], ['c', 'd'], ['e', 'e'], ['d', 'f']];
    expect(findCycles(ids, edges)).toEqual([
      ['a', 'b', 'c', 'a'],
      ['e', 'e'],
    ]);
  });

  it('gives the shortest way back', () => {
    expect(findCycles(['x', 'y', 'z'], [['x', 'y'], ['y', 'z'], ['z', 'x'], ['y', 'x']])).toEqual([['x', 'y', 'x']]);
  });
});

describe('formatDuration', () => {
  it.each([
    [0, '0s'],
    [250, '250ms'],
    [60_000, '1m'],
    [90_000, '90s'],
    [86_400_000, '24h'],
    [30 * 86_400_000, '30d'],
  ])('%d -> %s', (ms, text) => expect(formatDuration(ms)).toBe(text));
});
