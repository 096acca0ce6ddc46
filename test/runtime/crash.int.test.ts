/**
 * Crash safety: the pipeline runs in a child process with an at-least-once sink (a file, fsync
 * before ack) and an idempotent one (DynamoDB put keyed by record id). It is killed with SIGKILL at
 * a random moment three times and restarted; afterwards the file holds every record (duplicates
 * allowed, counted) and the table holds exactly N items.
 */
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { withTimeout } from '../../src/runtime/timeouts.ts';
import { countItems as countTableItems } from '../../src/sinks/dynamodb-table.ts';
import { brokers, createTable, createTopic, dynamoClient, uniqueName } from '../support/stack.ts';
import { readFileSink, startChild } from './children.ts';
import { eventually, jsonRecords, produce } from './support.ts';

const N = 4000;
const KILLS = 3;

const countItems = (table: string): Promise<number> => countTableItems(dynamoClient(), table);

/** `promise`, or (after `ms`, through the runtime's `withTimeout`) a rejection naming the stage. */
async function within<T>(promise: Promise<T>, ms: number, context: () => Promise<string>): Promise<T> {
  const late = new Error('late');
  return withTimeout(promise, ms, 'stage', () => late).catch(async (error: unknown) => {
    if (error !== late) throw error;
    throw new Error(`not within ${ms} ms: ${await context()}`);
  });
}

describe('crash safety', () => {
  it(`keeps every record through ${KILLS} SIGKILLs: at-least-once file complete, idempotent table exact`, async () => {
    const topic = await createTopic({ prefix: 'crash', partitions: 3 });
    const dlq = await createTopic({ prefix: 'crash-dlq', partitions: 1 });
    const table = await createTable({ prefix: 'crash' });
    const file = join(tmpdir(), `${uniqueName('crash')}.log`);
    await produce(brokers, topic, jsonRecords(N));
    const env = { TOPIC: topic, DLQ: dlq, GROUP: uniqueName('crash'), FILE: file, TABLE: table, COMMIT_MS: '500' };
    const distinct = () => new Set(readFileSink(file).lines.map((l) => l.split(':')[2])).size;
    const stuck = async (stage: string, output: string, target?: number) =>
      `${stage}: table ${await countItems(table)} items, file ${distinct()} distinct ids${target === undefined ? '' : `, waiting for ${target}`}; child output:\n${output.slice(-3000)}`;

    const kills: { itemsAtKill: number; delayMs: number }[] = [];
    for (let k = 1; k <= KILLS; k++) {
      const before = await countItems(table);
      const child = startChild('pipeline-child.ts', env);
      // Not `ready` (its first write): when the run before was killed after committing everything,
      // this one has nothing to write, and waiting for it hung the test now and then.
      await within(child.started, 45_000, async () => stuck(`run ${k} starting`, child.output()));
      // Kill around the k-th quarter of the work (by the slower, idempotent sink), and only after this
      // run made progress of its own, at a random moment.
      const target = Math.min(N - 200, Math.max((k * N) / (KILLS + 1) - 500, before + 300));
      await eventually(async () => (await countItems(table)) >= target, 60_000, 50, async () => stuck(`run ${k} before its kill`, child.output(), target));
      const delayMs = Math.floor(Math.random() * 400);
      await new Promise((r) => setTimeout(r, delayMs));
      child.process.kill('SIGKILL');
      const { signal } = await within(child.exit, 20_000, async () => stuck(`run ${k} exiting after SIGKILL`, child.output()));
      expect(signal).toBe('SIGKILL');
      kills.push({ itemsAtKill: await countItems(table), delayMs });
    }

    const last = startChild('pipeline-child.ts', env);
    await within(last.started, 45_000, async () => stuck('the last run starting', last.output()));
    await eventually(async () => distinct() >= N && (await countItems(table)) >= N, 90_000, 250, async () => stuck('the last run', last.output(), N));
    last.process.kill('SIGTERM');
    expect((await within(last.exit, 40_000, async () => stuck('the last run stopping after SIGTERM', last.output()))).code).toBe(0);

    const { lines, torn } = readFileSink(file);
    const ids = new Set(lines.map((l) => l.split(':')[2]));
    const duplicates = lines.length - ids.size;
    console.log(`crash test: ${N} records, kills at ${JSON.stringify(kills)}; file lines ${lines.length}, duplicates ${duplicates}, torn ${torn}`);
    expect(ids.size).toBe(N);
    for (let i = 0; i < N; i++) expect(ids.has(`e${i}`)).toBe(true);
    expect(await countItems(table)).toBe(N);
    // Its own timeout, above the sum of every wait's bound (3 x (45 + 60 + 20) + 45 + 90 + 40 s), so a
    // stuck wait fails with its stage and the child's output rather than as a test timeout.
  }, 600_000);
});
