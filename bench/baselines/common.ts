/**
 * What every baseline shares: the result shape, counting a topic's records, and running a
 * measurement in a separate Node process so that rivals do not share a heap or an event loop.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import { Admin } from '@platformatic/kafka';

export interface BaselineResult {
  name: string;
  /** Records processed (everything read from the topics, malformed and duplicates included). */
  events: number;
  /** From the first record to the last one done (start-up and group join excluded). */
  seconds: number;
  eventsPerSec: number;
  /** Peak resident set size of the process that measured, in MiB. */
  rssPeakMb?: number;
  /** Seconds from start to the first record (connect, group join, JVM start...). */
  startupSeconds?: number;
  /** Anything else the baseline wants to say (writes made, valid events...). */
  detail?: Record<string, unknown>;
}

/** A name no other run uses. */
export const uniqueId = (prefix: string) => `${prefix}-${randomBytes(4).toString('hex')}`;

/** Records currently in the topics: the sum over partitions of end offset minus start offset. */
export async function countRecords(brokers: readonly string[], topics: readonly string[]): Promise<number> {
  const admin = new Admin({ clientId: uniqueId('bench-count'), bootstrapBrokers: [...brokers] });
  try {
    const metadata = await admin.metadata({ topics: [...topics] });
    const named = (timestamp: bigint) =>
      [...metadata.topics.entries()].map(([name, t]) => ({
        name,
        partitions: Array.from({ length: t.partitionsCount }, (_, partitionIndex) => ({ partitionIndex, timestamp })),
      }));
    const [latest, earliest] = await Promise.all([admin.listOffsets({ topics: named(-1n) }), admin.listOffsets({ topics: named(-2n) })]);
    const sum = (listed: typeof latest) => listed.reduce((n, t) => n + t.partitions.reduce((m, p) => m + Number(p.offset), 0), 0);
    return sum(latest) - sum(earliest);
  } finally {
    await admin.close();
  }
}

/** Deletes a consumer group the measurement made (best effort: a group with members stays). */
export async function deleteGroup(brokers: readonly string[], groupId: string): Promise<void> {
  const admin = new Admin({ clientId: uniqueId('bench-clean'), bootstrapBrokers: [...brokers] });
  try {
    await admin.deleteGroups({ groups: [groupId] });
  } catch {
    // left for the broker's offsets retention
  } finally {
    await admin.close();
  }
}

/** Peak RSS of this process so far, in MiB. */
export const rssPeakMb = () => Math.round(process.resourceUsage().maxRSS / 1024);

/** Wraps a measurement's timing into a result. */
export function result(name: string, events: number, timing: { startedMs: number; firstMs: number; endMs: number }, detail?: Record<string, unknown>): BaselineResult {
  const seconds = (timing.endMs - timing.firstMs) / 1000;
  return {
    name,
    events,
    seconds,
    eventsPerSec: events / seconds,
    rssPeakMb: rssPeakMb(),
    startupSeconds: (timing.firstMs - timing.startedMs) / 1000,
    ...(detail === undefined ? {} : { detail }),
  };
}

const CHILD = fileURLToPath(new URL('./child.ts', import.meta.url));

/**
 * Runs `exportName(options)` from `moduleUrl` in a fresh Node process (this Node binary) and
 * returns its result. Options travel as JSON.
 */
export function runInChild<O>(moduleUrl: string, exportName: string, options: O, timeoutMs = 30 * 60_000): Promise<BaselineResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CHILD, moduleUrl, exportName, JSON.stringify(options)], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      const line = out.split('\n').find((l) => l.startsWith('RESULT '));
      if (code !== 0 || line === undefined) reject(new Error(`${exportName} exited with ${code}: ${out.slice(-2000)}`));
      else resolve(JSON.parse(line.slice('RESULT '.length)) as BaselineResult);
    });
  });
}
