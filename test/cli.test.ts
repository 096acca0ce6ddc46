import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { xmlProblems } from './topology/xml.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
const node = join(root, 'node_modules/.bin/node');
const dir = mkdtempSync(join(tmpdir(), 'tributary-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Runs `node src/cli.ts ...args` on Node 24; resolves with its exit code and output. */
function cli(args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(node, ['src/cli.ts', ...args], { cwd: root, env: { PATH: process.env.PATH ?? '', ...env } }, (error, stdout, stderr) => {
      resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

/** Each test spawns Node a few times; other helpers' tests share the two cores. */
const SPAWNS = { timeout: 60_000 };

const gameEvents = readFileSync(join(root, 'topologies/game-events.yaml'), 'utf8');

describe('tributary validate', SPAWNS, () => {
  it('exits 0 with a one-line summary for a valid topology', async () => {
    const result = await cli(['validate', 'topologies/game-events.yaml']);
    expect(result).toEqual({ code: 0, stdout: 'topologies/game-events.yaml: valid topology "game-events": 4 sources, 13 steps, 13 sinks\n', stderr: '' });
  });

  it('exits 1 and lists every problem, one per line, as file:line:col: path: message', async () => {
    const file = join(dir, 'bad.yaml');
    const text = gameEvents.replace('within: 60s', 'within: sixty').replace('table: ${TABLE_PREFIX:-}leaderboard', 'table: ${LEADERBOARD_TABLE}');
    writeFileSync(file, text);
    // file:line:col of the value
    const at = (value: string) => {
      const lines = text.split('\n');
      const i = lines.findIndex((l) => l.includes(value));
      return `${file}:${i + 1}:${(lines[i] as string).indexOf(value) + 1}`;
    };
    const result = await cli(['validate', file]);
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr.split('\n')).toEqual([
      `${at('sixty')}: /steps/fraud-velocity/within: must be a duration like "60s"`,
      `${at('${LEADERBOARD_TABLE}')}: /sinks/leaderboard/table: environment variable LEADERBOARD_TABLE is not set (write \${LEADERBOARD_TABLE:-default} to give a default)`,
      '',
    ]);
    expect((await cli(['validate', file], { LEADERBOARD_TABLE: 'scores' })).stderr.split('\n')).toHaveLength(2); // the variable set, one problem left
  });

  it('exits 1 on a file it cannot read, 2 on a usage error', async () => {
    expect(await cli(['validate', join(dir, 'missing.yaml')])).toMatchObject({ code: 1, stderr: expect.stringContaining('cannot read') });
    const usage = await cli(['frobnicate', 'x.yaml']);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toMatch(/^unknown command "frobnicate"\n\nUsage: tributary <command>/);
    expect((await cli(['validate'])).code).toBe(2);
  });
});

describe('tributary graph', SPAWNS, () => {
  it('prints Mermaid by default', async () => {
    const result = await cli(['graph', 'topologies/game-events.yaml']);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('flowchart LR\n');
    expect(result.stdout).toContain('  n_game_minute -->|late| n_late_events\n');
  });

  it('writes an SVG with --format svg --out, or from the .svg extension alone', async () => {
    const out = join(dir, 'picture', 'topology.svg');
    const result = await cli(['graph', 'topologies/game-events.yaml', '--format', 'svg', '--out', out]);
    expect(result).toEqual({ code: 0, stdout: '', stderr: `wrote ${out}\n` });
    const svg = readFileSync(out, 'utf8');
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(xmlProblems(svg)).toEqual([]);
    const inferred = join(dir, 'inferred.svg');
    expect((await cli(['graph', 'topologies/game-events.yaml', '-o', inferred])).code).toBe(0);
    expect(readFileSync(inferred, 'utf8')).toBe(svg);
  });

  it('refuses an unknown format', async () => {
    expect(await cli(['graph', 'topologies/game-events.yaml', '--format', 'png'])).toMatchObject({ code: 2, stderr: expect.stringMatching(/^--format must be mermaid or svg \(got "png"\)\n\nUsage: tributary graph /) });
  });
});

describe('tributary run', SPAWNS, () => {
  it('validates before running anything', async () => {
    const file = join(dir, 'run-bad.yaml');
    writeFileSync(file, 'name: shop\nsources: []\nsinks: []\n');
    expect(await cli(['run', file])).toEqual({ code: 1, stdout: '', stderr: `${file}:2:10: /sources: must not be empty\n${file}:3:8: /sinks: must not be empty\n` });
  });

  it('refuses to start without TRIBUTARY_BROKERS unless --local, naming every configuration problem at once', async () => {
    const result = await cli(['run', 'topologies/game-events.yaml'], { TRIBUTARY_KAFKA_TLS: 'maybe', TRIBUTARY_HTTP_PORT: 'x' });
    expect(result.code).toBe(1);
    expect(result.stderr.trim().split('\n').toSorted()).toEqual([
      'TRIBUTARY_BROKERS: required (host:port, comma-separated); set TRIBUTARY_LOCAL=1 or pass --local to use the local stack',
      'TRIBUTARY_HTTP_PORT: must be a port number 0-65535 or off, got "x"',
      'TRIBUTARY_KAFKA_TLS: must be one of 1/true/yes or 0/false/no, got "maybe"',
    ]);
  });

  it('--print-config shows the effective settings with secrets masked and exits', async () => {
    const env = { TRIBUTARY_BROKERS: 'b-1:9096', TRIBUTARY_KAFKA_TLS: 'true', TRIBUTARY_KAFKA_SASL_MECHANISM: 'SCRAM-SHA-512', TRIBUTARY_KAFKA_SASL_USERNAME: 'app', TRIBUTARY_KAFKA_SASL_PASSWORD: 's3cr3t-pw' };
    const result = await cli(['run', 'topologies/game-events.yaml', '--print-config'], env);
    expect(result.code).toBe(0);
    expect(result.stdout).not.toContain('s3cr3t-pw');
    expect(result.stdout).toMatch(/^TRIBUTARY_KAFKA_SASL_PASSWORD\s+\*{8} \(set\)$/m);
    expect(result.stdout).toMatch(/^TRIBUTARY_BROKERS\s+b-1:9096$/m);
    expect(result.stderr).toBe('');
    const local = await cli(['run', 'topologies/game-events.yaml', '--print-config', '--local']);
    expect(local.code).toBe(0);
    expect(local.stdout).toMatch(/^TRIBUTARY_LOCAL\s+true \(--local\)$/m);
  });
});
