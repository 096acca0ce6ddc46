/**
 * `tributary run` as the container runs it (the image's entry point is `node src/cli.ts run <file>`):
 * checked configuration, the HTTP server on the port it logs, EMF lines on stdout, progress on
 * a terminal only, and SIGTERM: readiness goes 503, the process drains and exits 0.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { eventually, jsonRecords, produce } from './runtime/support.ts';
import { brokers, createTopic, uniqueName } from './support/stack.ts';

const ROOT = join(import.meta.dirname, '..');
const dir = mkdtempSync(join(tmpdir(), 'tributary-run-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('tributary run in the container entry point', () => {
  it('serves health, readiness and metrics, writes EMF, and exits 0 on SIGTERM after draining', async () => {
    const [input, output, dlq] = await Promise.all([
      createTopic({ prefix: 'run-in', partitions: 2 }),
      createTopic({ prefix: 'run-out', partitions: 2 }),
      createTopic({ prefix: 'run-dlq', partitions: 1 }),
    ]);
    await produce(brokers, input, jsonRecords(500));
    const file = join(dir, 'run.yaml');
    writeFileSync(
      file,
      [
        'name: run-test',
        `sources: [{ id: scores, topics: [${input}], group: ${uniqueName('run')} }]`,
        'steps: [{ id: parse, kind: parse, from: scores }]',
        `sinks: [{ id: out, kind: kafka, from: parse, topic: ${output} }]`,
        `deadLetters: { topic: ${dlq} }`,
      ].join('\n'),
    );
    const env = { PATH: process.env.PATH ?? '', TRIBUTARY_LOCAL: 'true', TRIBUTARY_HTTP_PORT: '0', TRIBUTARY_EMF: 'yes', TRIBUTARY_EMF_INTERVAL_MS: '500', LOG_LEVEL: 'info' };
    const child = spawn(join(ROOT, 'node_modules/.bin/node'), ['src/cli.ts', 'run', file], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d));
    child.stderr.on('data', (d: Buffer) => (out += d));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    try {
      await eventually(() => /on port (\d+)/.test(out), 30_000);
      const port = Number(/on port (\d+)/.exec(out)?.[1]);
      const get = (path: string) => fetch(`http://127.0.0.1:${port}${path}`);
      expect((await get('/healthz')).status).toBe(200);
      await eventually(async () => (await get('/readyz')).status === 200, 60_000, 200);
      await eventually(async () => /tributary_records_out_total\{step="parse".*\} 500/.test(await (await get('/metrics')).text()), 30_000, 200);
      await eventually(() => out.split('\n').some((l) => l.includes('"CloudWatchMetrics"') && l.includes('"RecordsPerSecond"')), 10_000);
      const emf = JSON.parse(out.split('\n').find((l) => l.includes('"CloudWatchMetrics"')) as string);
      expect(emf._aws.CloudWatchMetrics[0].Metrics.map((m: { Name: string }) => m.Name)).toContain('ConsumerLag');
      // No progress line when stdout is not a terminal.
      expect(out).not.toContain('\r\x1b[2K');

      const signalled = Date.now();
      child.kill('SIGTERM');
      // Not ready from the signal on (503 while draining), until the server closes with the process.
      await eventually(async () => {
        const during = await get('/readyz').catch(() => undefined);
        return during === undefined || during.status === 503;
      }, 10_000, 20);
      expect(await exited).toBe(0);
      expect(Date.now() - signalled).toBeLessThan(25_000);
      expect(out).toMatch(/"msg":"stopped"/);
    } finally {
      child.kill('SIGKILL');
    }
  });
});
