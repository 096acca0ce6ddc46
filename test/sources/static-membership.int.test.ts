/**
 * Static membership (@platformatic/kafka, classic protocol): a member with a `groupInstanceId` killed
 * with SIGKILL is replaced by the next process with that id, which gets its partitions back at once,
 * without a rebalance and without waiting for the session timeout (30 s here); a graceful stop
 * still leaves the group, so the others take its partitions promptly.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { eventually, jsonRecords, produce } from '../runtime/support.ts';
import { brokers, createTopic, uniqueName } from '../support/stack.ts';

const SESSION_TIMEOUT_MS = 30_000;

interface Member {
  kill(signal: NodeJS.Signals): void;
  readonly exit: Promise<number | null>;
  /** Lines `<kind> <ms> <rest>` printed so far. */
  lines(kind: string): { at: number; rest: string }[];
  /** The partitions owned now, from its assigned and revoked lines. */
  owned(): Set<number>;
}

function startMember(env: Record<string, string>): Member {
  const child = spawn(join('node_modules', '.bin', 'node'), [join('test', 'sources', 'fixtures', 'member-child.ts')], {
    env: { ...process.env, VITEST: '', LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk));
  const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  onTestFinished(() => void child.kill('SIGKILL'));
  const lines = (kind: string) =>
    output
      .split('\n')
      .filter((l) => l.startsWith(`${kind} `))
      .map((l) => {
        const [, at, rest = ''] = /^\S+ (\d+) ?(.*)$/.exec(l) ?? [];
        return { at: Number(at), rest };
      });
  const owned = () => {
    const set = new Set<number>();
    for (const line of output.split('\n')) {
      const [kind, , list] = line.split(' ');
      if (kind === 'assigned') for (const p of JSON.parse(list ?? '[]') as number[]) set.add(p);
      if (kind === 'revoked') for (const p of JSON.parse(list ?? '[]') as number[]) set.delete(p);
    }
    return set;
  };
  return { kill: (signal) => void child.kill(signal), exit, lines, owned };
}

describe('static membership (platformatic, classic protocol)', () => {
  it('a member killed with SIGKILL is replaced by the next with its id, with its partitions, well under the session timeout', async () => {
    const topic = await createTopic({ prefix: 'static', partitions: 4 });
    const dlq = await createTopic({ prefix: 'static-dlq', partitions: 1 });
    await produce(brokers, topic, jsonRecords(2000));
    const env = { TOPIC: topic, DLQ: dlq, GROUP: uniqueName('static') };
    const other = startMember(env);
    await eventually(() => other.owned().size === 4, 60_000, 50);
    const first = startMember({ ...env, GROUP_INSTANCE_ID: 'slot-1' });
    await eventually(() => first.owned().size === 2 && other.owned().size === 2, 60_000, 50);
    const partitions = [...first.owned()].sort();

    first.kill('SIGKILL');
    const killed = Date.now();
    await first.exit;
    const second = startMember({ ...env, GROUP_INSTANCE_ID: 'slot-1' });
    await eventually(() => second.owned().size === 2, SESSION_TIMEOUT_MS, 20);
    const [boot] = second.lines('boot');
    const [assigned] = second.lines('assigned');
    const rejoinMs = (assigned?.at ?? 0) - killed;
    console.log(
      `static rejoin after SIGKILL: ${rejoinMs} ms from the kill to the assignment ` +
        `(${(assigned?.at ?? 0) - (boot?.at ?? 0)} ms once the process had loaded; session timeout ${SESSION_TIMEOUT_MS} ms)`,
    );
    expect([...second.owned()].sort()).toEqual(partitions);
    expect(rejoinMs).toBeLessThan(15_000);
    // No rebalance: the other member kept its partitions throughout.
    expect(other.lines('revoked').filter((l) => l.at >= killed)).toEqual([]);

    // A graceful stop leaves the group: the other member takes the partitions without waiting for the session timeout.
    second.kill('SIGTERM');
    const stopped = Date.now();
    expect(await second.exit).toBe(0);
    await eventually(() => other.owned().size === 4, SESSION_TIMEOUT_MS, 20);
    const handoverMs = (other.lines('assigned').at(-1)?.at ?? 0) - stopped;
    console.log(`static member's graceful stop: the other member had all partitions ${handoverMs} ms after SIGTERM`);
    expect(handoverMs).toBeLessThan(15_000);
    other.kill('SIGTERM');
    expect(await other.exit).toBe(0);
  });
});
