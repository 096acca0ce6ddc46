import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { main } from '../../../src/cli.ts';
import { captureIo } from './io.ts';

describe('tributary test', () => {
  it('runs the cases beside the topology by default and exits 0 when they pass', async () => {
    const io = captureIo();
    expect(await main(['test', 'topologies/game-events.yaml'], io)).toBe(0);
    expect(io.err).toBe('');
    expect(io.out).toMatch(/^ok {3}topologies\/game-events\.test\.yaml: a login opens a session/);
    expect(io.out.trim().split('\n').at(-1)).toMatch(/^\d+ cases: (\d+) passed, 0 failed$/);
  }, 60_000);

  it('prints FAIL with what differs and exits 1 when a case fails; exits 2 without a cases file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tributary-test-cmd-'));
    const cases = join(dir, 'wrong.test.yaml');
    await writeFile(
      cases,
      `cases:
  - name: a purchase that is not one
    input:
      transaction-events:
        - { event_id: p1, user_id: u1, event_type: purchase, timestamp: 2026-12-03T10:00:00Z, event_data: { amount: 5, currency: USD, transaction_id: t1, item_id: i1 } }
    expect:
      sinks:
        transactions: [{ event_id: p1, event_data: { amount: 6 } }]
`,
    );
    const io = captureIo();
    expect(await main(['test', 'topologies/game-events.yaml', cases], io)).toBe(1);
    expect(io.out).toContain(`FAIL ${cases}: a purchase that is not one\n       sink transactions: expected #1 {"event_id":"p1","event_data":{"amount":6}} not found (closest: event_data.amount: expected 6, got 5;`);
    expect(io.out.trim().split('\n').at(-1)).toBe('1 case: 0 passed, 1 failed');
    const missing = captureIo();
    expect(await main(['test', 'topologies/game-events.yaml', join(dir, 'none.yaml')], missing)).toBe(2);
    expect(missing.err).toMatch(/^no cases file .*none\.yaml\n\nUsage: tributary test/);
  }, 60_000);
});
