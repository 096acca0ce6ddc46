/** bin/tributary.cjs on the system Node running a topology: SIGTERM to the launcher reaches the CLI, which drains and exits 0. */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { eventually } from '../runtime/support.ts';
import { createTopic, uniqueName } from '../support/stack.ts';

const ROOT = join(import.meta.dirname, '..', '..');
const SYSTEM_NODE = '/usr/bin/node';
const dir = mkdtempSync(join(tmpdir(), 'tributary-bin-run-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe.skipIf(!existsSync(SYSTEM_NODE))('bin/tributary.cjs run', () => {
  it('forwards SIGTERM to the running topology, which drains and exits 0, and the launcher with it', async () => {
    const [input, output, dlq] = await Promise.all([createTopic({ prefix: 'bin-in' }), createTopic({ prefix: 'bin-out' }), createTopic({ prefix: 'bin-dlq', partitions: 1 })]);
    const file = join(dir, 'run.yaml');
    writeFileSync(
      file,
      [
        'name: bin-test',
        `sources: [{ id: in, topics: [${input}], group: ${uniqueName('bin')} }]`,
        'steps: [{ id: parse, kind: parse, from: in }]',
        `sinks: [{ id: out, kind: kafka, from: parse, topic: ${output} }]`,
        `deadLetters: { topic: ${dlq} }`,
      ].join('\n'),
    );
    const env = { PATH: '/usr/bin:/bin', TRIBUTARY_LOCAL: 'true', TRIBUTARY_HTTP_PORT: '0', LOG_LEVEL: 'info' };
    const child = spawn(SYSTEM_NODE, [join(ROOT, 'bin', 'tributary.cjs'), 'run', file], { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d));
    child.stderr.on('data', (d: Buffer) => (out += d));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    try {
      await eventually(() => /on port (\d+)/.test(out), 30_000);
      const port = Number(/on port (\d+)/.exec(out)?.[1]);
      await eventually(async () => (await fetch(`http://127.0.0.1:${port}/readyz`)).status === 200, 60_000, 200);
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
      expect(out).toMatch(/"msg":"stopped"/);
    } finally {
      child.kill('SIGKILL');
    }
  });
});
