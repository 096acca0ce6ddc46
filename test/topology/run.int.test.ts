/**
 * `runTopology`'s terminal view against the real broker, with fake terminals: on a TTY the progress
 * line is drawn on stdout and the JSON logs go to `tributary.log`; with EMF on, stdout carries only
 * whole EMF lines and the line is drawn on stderr.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runTopology } from '../../src/topology/run.ts';
import type { Terminal } from '../../src/topology/ops.ts';
import { validateTopology } from '../../src/topology/validate.ts';
import { eventually, jsonRecords, produce } from '../runtime/support.ts';
import { brokers, createTopic, uniqueName } from '../support/stack.ts';

const dir = mkdtempSync(join(tmpdir(), 'tributary-terminal-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

class FakeTty implements Terminal {
  readonly isTTY = true;
  readonly columns = 200;
  readonly chunks: string[] = [];
  write(text: string): boolean {
    this.chunks.push(text);
    return true;
  }
  get text(): string {
    return this.chunks.join('');
  }
}

async function topics() {
  const [input, output, dlq] = await Promise.all([
    createTopic({ prefix: 'term-in', partitions: 2 }),
    createTopic({ prefix: 'term-out', partitions: 2 }),
    createTopic({ prefix: 'term-dlq', partitions: 1 }),
  ]);
  await produce(brokers, input, jsonRecords(100));
  return validateTopology(
    {
      name: 'terminal-test',
      sources: [{ id: 'scores', topics: [input], group: uniqueName('term') }],
      steps: [{ id: 'parse', kind: 'parse', from: 'scores' }],
      sinks: [{ id: 'out', kind: 'kafka', from: 'parse', topic: output }],
      deadLetters: { topic: dlq },
    },
    { env: {} },
  );
}

const env = { TRIBUTARY_LOCAL: '1', TRIBUTARY_HTTP_PORT: '0', LOG_LEVEL: 'info' };

describe('runTopology on a terminal', () => {
  it('draws the progress line on a TTY stdout and writes the JSON logs to tributary.log', async () => {
    const topology = await topics();
    const stdout = new FakeTty();
    const stderr = new FakeTty();
    const stop = new AbortController();
    const cwd = process.cwd();
    process.chdir(dir);
    try {
      const exit = runTopology(topology, env, { terminal: stdout, stderr, signal: stop.signal });
      await eventually(() => stdout.text.includes('wrote: out 100'), 60_000);
      stop.abort();
      expect(await exit).toBe(0);
    } finally {
      process.chdir(cwd);
    }
    expect(stdout.text).toContain('\r\x1b[2K');
    expect(stdout.text).toMatch(/ready \| [\d.k]+ rec\/s \| read 100 \|/);
    // No log line on the terminal: they are in tributary.log, in the working directory.
    expect(stdout.text).not.toContain('"msg"');
    expect(stderr.text).toBe('');
    await eventually(() => readFileSync(join(dir, 'tributary.log'), 'utf8').includes('"msg":"stopped"'), 10_000);
    const lines = readFileSync(join(dir, 'tributary.log'), 'utf8').trim().split('\n');
    for (const line of lines) expect(JSON.parse(line)).toHaveProperty('msg');
  });

  it('with EMF on, keeps stdout to whole EMF lines and draws the progress line on stderr', async () => {
    const topology = await topics();
    const stdout = new FakeTty();
    const stderr = new FakeTty();
    const stop = new AbortController();
    const exit = runTopology(topology, { ...env, TRIBUTARY_EMF: '1', TRIBUTARY_EMF_INTERVAL_MS: '200', TRIBUTARY_LOG_FILE: join(dir, 'emf.log') }, { terminal: stdout, stderr, signal: stop.signal });
    await eventually(() => stderr.text.includes('wrote: out 100'), 60_000);
    await eventually(() => stdout.chunks.length >= 2, 10_000);
    stop.abort();
    expect(await exit).toBe(0);
    expect(stderr.text).toContain('\r\x1b[2K');
    expect(stdout.text).not.toContain('\r');
    for (const chunk of stdout.chunks) {
      expect(chunk.endsWith('\n')).toBe(true);
      expect(JSON.parse(chunk)._aws.CloudWatchMetrics[0].Metrics.map((m: { Name: string }) => m.Name)).toContain('ConsumerLag');
    }
  });
});
