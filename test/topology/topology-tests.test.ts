import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadTopologyFile } from '../../src/topology/load.ts';
import { loadTestCases, runTestCases } from '../../src/topology/topology-tests.ts';

const topology = await loadTopologyFile('topologies/game-events.yaml', { env: {} });

async function casesFile(yaml: string, extra: Record<string, string> = {}): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'tributary-cases-'));
  for (const [name, text] of Object.entries(extra)) await writeFile(join(dir, name), text);
  const file = join(dir, 'cases.yaml');
  await writeFile(file, yaml);
  return file;
}

const GAME_START = (id: string, time: string, user = 'u1') => `{ event_id: ${id}, user_id: ${user}, event_type: game_start, timestamp: ${time}, event_data: { game_id: g1 } }`;

describe('topology tests (tributary test)', () => {
  it('passes the default topology cases shipped next to it (each route, each fraud pattern, a window close, a late event, dead letters)', async () => {
    const results = await runTestCases(topology, await loadTestCases('topologies/game-events.test.yaml'));
    expect(results.length).toBeGreaterThanOrEqual(8);
    expect(results.filter((r) => r.failures.length > 0)).toEqual([]);
  }, 60_000);

  it('fails a case whose expectation is wrong, saying which field differs and what came instead', async () => {
    const file = await casesFile(`
cases:
  - name: wrong count
    input:
      game-events:
        - ${GAME_START('w1', '2026-12-03T10:00:10Z')}
        - ${GAME_START('w2', '2026-12-03T10:00:40Z', 'u2')}
    expect:
      sinks:
        game-metrics: [{ key: g1, events: 3 }]
        leaderboard: [{ event_id: w1 }]
`);
    const [result] = await runTestCases(topology, await loadTestCases(file));
    expect(result?.failures).toEqual([
      expect.stringMatching(/^sink game-metrics: expected #1 \{"key":"g1","events":3\} not found \(closest: events: expected 3, got 2; got \{.*"events":2/),
      'sink leaderboard: expected #1 {"event_id":"w1"} not found (nothing left to match)',
      'sink leaderboard: expected 1 record, got 0',
    ]);
  }, 60_000);

  it('checks that nothing else reached a sink, every dead letter, and metrics', async () => {
    const file = await casesFile(`
cases:
  - name: too much
    input:
      game-events:
        - raw: 'not json'
        - ${GAME_START('a', '2026-12-03T10:00:10Z')}
        - ${GAME_START('b', '2026-12-03T10:00:11Z')}
    expect:
      sinks:
        cold-storage: [{ event_id: a }]
      deadLetters: []
      metrics: [{ name: duplicates_total, labels: { step: dedup }, value: 1 }]
`);
    const [result] = await runTestCases(topology, await loadTestCases(file));
    expect(result?.failures).toEqual([
      'sink cold-storage: expected 1 record, got 2; unmatched: {"event_id":"b","user_id":"u1","event_type":"game_start","timestamp":"2026-12-03T10:00:11Z","event_data_game_id":"g1"}',
      expect.stringMatching(/^dead letters: expected 0 records, got 1; unmatched: \{"step":"parse","code":"TRIB_DECODE","message":"malformed JSON/),
      'metric duplicates_total{"step":"dedup"}: expected 1, got 0',
    ]);
  }, 60_000);

  it('reads JSONL files next to the cases, and names unknown sources and sinks', async () => {
    const file = await casesFile(
      `
cases:
  - name: from a file
    input:
      game-events:
        - file: events.jsonl
    expect:
      sinks:
        cold-storage: [{ event_id: f1 }, { event_id: f2 }]
  - name: unknown names
    input:
      nowhere: [{ a: 1 }]
    expect:
      sinks:
        nothing: []
`,
      {
        'events.jsonl': ['f1', 'f2'].map((id) => JSON.stringify({ event_id: id, user_id: 'u', event_type: 'game_start', timestamp: '2026-12-03T10:00:00Z', event_data: {} })).join('\n'),
      },
    );
    const [fromFile, unknown] = await runTestCases(topology, await loadTestCases(file));
    expect(fromFile?.failures).toEqual([]);
    expect(unknown?.failures).toEqual([
      'input: no source "nowhere" (sources: game-events, user-activity, transaction-events, dead-letter-topic)',
      expect.stringMatching(/^expect.sinks: no sink "nothing" \(sinks: user-sessions, /),
    ]);
  }, 60_000);
});
