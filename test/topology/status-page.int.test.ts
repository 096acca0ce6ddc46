/**
 * The status page in a real headless Chromium (Debian's `chromium`, driven by playwright-core): a
 * small topology runs against the real broker; the page loads, draws the topology, and its counters
 * under the steps and sinks rise while records flow. The screenshot is kept in test-results/.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { startOps } from '../../src/topology/ops.ts';
import { startTopology } from '../../src/topology/run.ts';
import { validateTopology } from '../../src/topology/validate.ts';
import { eventually, jsonRecords, produce } from '../runtime/support.ts';
import { brokers, createTopic, uniqueName } from '../support/stack.ts';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const ARTIFACTS = join(import.meta.dirname, '..', '..', 'test-results');

describe('the status page', () => {
  it('renders the topology in Chromium and its counters rise while records flow', async () => {
    const [input, output, dlq] = await Promise.all([
      createTopic({ prefix: 'page-in', partitions: 3 }),
      createTopic({ prefix: 'page-out', partitions: 3 }),
      createTopic({ prefix: 'page-dlq', partitions: 1 }),
    ]);
    const topology = validateTopology(
      {
        name: 'status-page',
        sources: [{ id: 'scores', topics: [input], group: uniqueName('page') }],
        steps: [
          { id: 'parse', kind: 'parse', from: 'scores' },
          { id: 'big', kind: 'filter', from: 'parse', when: 'points >= 50' },
        ],
        sinks: [{ id: 'big-scores', kind: 'kafka', from: 'big', topic: output }],
        deadLetters: { topic: dlq },
      },
      { env: {} },
    );
    await produce(brokers, input, jsonRecords(1000));
    const started = startTopology(topology, { TRIBUTARY_LOCAL: '1', LOG_LEVEL: 'warn', TRIBUTARY_COMMIT_INTERVAL_MS: '1000' });
    started.done.catch(() => {});
    const ops = await startOps(topology, started.runtime, { httpPort: 0, httpHost: '127.0.0.1' });
    let browser: Browser | undefined;
    try {
      browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
      const page = await browser.newPage({ viewport: { width: 1400, height: 700 } });
      const errors: string[] = [];
      page.on('pageerror', (error) => errors.push(error.message));
      await page.goto(`http://127.0.0.1:${ops.server?.port}/`);
      expect(await page.title()).toBe('status-page · Tributary');
      // The graph: every source, step and sink of the topology drawn as a node.
      const nodes = await page.locator('#graph svg g.node').evaluateAll((gs) => gs.map((g) => (g as { getAttribute(name: string): string | null }).getAttribute('data-id')));
      expect(nodes).toEqual(expect.arrayContaining(['scores', 'parse', 'big', 'big-scores']));
      const counter = async (id: string, word: string) => {
        const text = (await page.locator(`g.node[data-id="${id}"] text.live`).textContent().catch(() => '')) ?? '';
        const match = new RegExp(`${word} ([\\d.]+)(k?)`).exec(text);
        return match === null ? 0 : Number(match[1]) * (match[2] === 'k' ? 1000 : 1);
      };
      await eventually(async () => (await counter('parse', 'in')) === 1000, 60_000, 250);
      await eventually(async () => (await counter('scores', 'read')) === 1000, 10_000, 250);
      await eventually(async () => (await counter('big-scores', 'wrote')) === 500, 60_000, 250);
      // Records read per topic are published once a second, the step counters as they count.
      await eventually(async () => (await page.locator('#read').textContent()) === '1000', 10_000, 250);
      await eventually(async () => (await page.locator('#ready').textContent()) === 'ready', 30_000, 250);

      await produce(brokers, input, jsonRecords(3000, 1000));
      await eventually(async () => (await counter('parse', 'in')) === 4000, 60_000, 250);
      await eventually(async () => (await counter('big-scores', 'wrote')) === 2000, 60_000, 250);
      await eventually(async () => (await page.locator('#read').textContent()) === '4000', 10_000, 250);
      expect(await counter('scores', 'read')).toBe(4000);
      // The in-flight bar is drawn to scale: nothing is in flight once everything is written.
      await eventually(async () => (await page.locator('#inflight-bar').evaluate((e) => (e as { style: { width: string } }).style.width)) === '0%', 10_000, 250);
      mkdirSync(ARTIFACTS, { recursive: true });
      await page.screenshot({ path: join(ARTIFACTS, 'status-page.png'), fullPage: true });
      expect(errors).toEqual([]);
    } finally {
      await browser?.close();
      await started.runtime.shutdown('test over');
      await started.done.catch(() => {});
      await ops.close();
      started.close();
    }
  });
});
