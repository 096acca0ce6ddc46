/**
 * Exactness of the default topology under kill -9, restarts and several instances: the outputs of a
 * run with faults must equal the ground truth of its input, item by item. Each test runs
 * `tributary run topologies/game-events.yaml` as separate processes; see test/support/exactness*.ts.
 *
 *   npx vitest run test/topology/exactness.int.test.ts            # ~9 min, the six tests
 *   npx vitest run test/topology/exactness.int.test.ts -t crash   # one of them
 *
 * Each test prints what it measured and one line per comparison; instance logs stay in the printed
 * directory, and TRIBUTARY_KEEP_EXACTNESS=1 keeps the topics, tables and bucket.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { compare, formatDiffs, isExact, readBack, type TableDiff } from '../support/exactness-check.ts';
import { generateInput, rng, TOPICS } from '../support/exactness-input.ts';
import { ExactnessRun, Feeder, type Instance } from '../support/exactness.ts';

const MINUTE = 60_000;
const INPUT = generateInput({ seed: 20_261_203, records: 30_000, spanMs: 16 * MINUTE, epochMs: Date.UTC(2026, 10, 23, 10, 0), partitions: 3 });
/** Six segments of 5,000 records, each produced over 10 s: 500 records/s of input. */
const SEGMENTS = 6;
const SEGMENT_MS = 10_000;
const KILLS = SEGMENTS - 1;

async function setUp(name: string, env: Record<string, string> = {}): Promise<{ run: ExactnessRun; feeder: Feeder }> {
  const run = new ExactnessRun(env);
  await run.provision();
  run.log(`${name}: input ${JSON.stringify(INPUT.truth.stats)}; instance logs in ${run.logDir}`);
  return { run, feeder: new Feeder(INPUT.records, SEGMENTS, `${run.tag}-`, SEGMENT_MS) };
}

/** Waits for the whole input to be produced and committed, stops the instances, compares. */
async function finish(run: ExactnessRun, feeder: Feeder, name: string, measured: Record<string, unknown>): Promise<TableDiff[]> {
  await feeder.all();
  run.log(`input produced: ${feeder.produced} records`);
  await run.watch.complete(180_000);
  run.log('complete: every partition the group committed is committed to its end');
  const exits = await run.stopAll();
  const actual = await readBack({ tablePrefix: run.tablePrefix, bucket: run.tag, deadLetterTopic: run.topic('tributary-dead-letters'), lateTopic: run.topic('late-events'), alertTopic: run.topic('fraud-alerts'), inputTopics: TOPICS.map((t) => run.topic(t)) });
  const diffs = compare(INPUT.truth, actual);
  console.log(`\n=== ${name} ===\n${JSON.stringify({ ...measured, exitCodes: exits, parquetFiles: actual.parquetFiles }, null, 1)}\n${formatDiffs(diffs)}\n`);
  return diffs;
}

/** One logical instance, killed with SIGKILL after each of the first `KILLS` segments and restarted; compared at the end. */
async function crashAndRestart(name: string, env: Record<string, string> = {}): Promise<{ run: ExactnessRun; diffs: TableDiff[] }> {
  const { run, feeder } = await setUp(name, env);
  const random = rng(41);
  const restarts: Record<string, number | string | undefined>[] = [];
  let known = new Set<string>();
  for (let k = 0; k < SEGMENTS; k++) {
    const before = await run.watch.committed();
    const instance = run.spawn(`life-${k}`, 'crashing'); // one logical instance, restarted
    const firstCommit = run.watch.commitAfter(before, instance.exited);
    const assigned = await run.watch.newMember(known, 120_000);
    known = new Set([...known, ...assigned.members]);
    void feeder.start(k);
    const entry: Record<string, number | string | undefined> = { life: k, assignedAfterSpawnMs: Math.round(assigned.ms) };
    restarts.push(entry);
    if (k === KILLS) {
      void firstCommit.then((ms) => (entry.firstCommitAfterSpawnMs = ms && Math.round(ms)));
      break;
    }
    const runMs = 2000 + Math.floor(random() * 8000);
    await sleep(runMs);
    entry.lagAtKill = (await run.watch.lag()).lag;
    entry.killedAfterAssignmentMs = runMs;
    await run.kill(instance, 'SIGKILL');
    entry.firstCommitAfterSpawnMs = (await firstCommit)?.toFixed(0) ?? 'none before the kill';
  }
  const diffs = await finish(run, feeder, `${name}: ${KILLS} kills`, { kills: KILLS, restarts });
  return { run, diffs };
}

function expectExact(diffs: readonly TableDiff[]): void {
  expect(diffs.filter((d) => !isExact(d)).map((d) => d.table), `outputs differ from the ground truth:\n${formatDiffs(diffs)}`).toEqual([]);
}

describe('exactness of the default topology under faults (separate processes)', () => {
  it('control: one instance, no fault, gives exactly the ground truth', async () => {
    const { run, feeder } = await setUp('control');
    run.spawn('only');
    const joined = await run.watch.newMember(new Set(), 60_000);
    const diffs = await finish(run, feeder, 'control: one instance, no fault', { joinedAfterMs: Math.round(joined.ms) });
    expectExact(diffs);
  }, 300_000);

  it(`crash: one instance killed with SIGKILL ${KILLS} times mid-input and restarted`, async () => {
    const { diffs } = await crashAndRestart('crash');
    expectExact(diffs);
  }, 480_000);

  // On ECS the task's memory limit is always set, so the in-flight bound follows memory pressure
  // (memory-pressure.ts): here it starts at its floor (1,000 of 16,000 records: the limit leaves no
  // room above the starting RSS), so each restart's backlog pauses and resumes the source many
  // times at a bound the controller set, while the instance is killed.
  it(`crash under a memory limit: the in-flight bound scaled down by memory pressure, killed ${KILLS} times`, async () => {
    const { run, diffs } = await crashAndRestart('crash-memory', { TRIBUTARY_MEMORY_LIMIT_MB: '256', TRIBUTARY_MAX_INFLIGHT_RECORDS: '16000' });
    const logs = run.instanceLogs();
    const startedLower = logs.filter((l) => l.msg?.startsWith('memory limit: the in-flight bound starts lower')).length;
    const pausedAtBound = logs.filter((l) => l.msg === 'source paused' && l.reason !== undefined).length;
    console.log(`crash-memory: ${startedLower} lives started at a lower bound; the source paused ${pausedAtBound} times`);
    expect(startedLower).toBeGreaterThan(0);
    expect(pausedAtBound).toBeGreaterThan(0);
    expectExact(diffs);
  }, 480_000);

  it('three instances, no fault (windows of one key are computed by several processes)', async () => {
    const { run, feeder } = await setUp('three');
    for (const name of ['a', 'b', 'c']) run.spawn(name);
    const joined = await run.watch.newMember(new Set(), 90_000, 3);
    const diffs = await finish(run, feeder, 'three instances, no fault', { joinedAfterMs: Math.round(joined.ms) });
    expectExact(diffs);
  }, 300_000);

  it('scale-out: three instances, one killed with SIGKILL mid-input, a fourth started later', async () => {
    const { run, feeder } = await setUp('scale-out');
    const [a, b, c] = ['a', 'b', 'c'].map((n) => run.spawn(n)) as [Instance, Instance, Instance];
    const joined = await run.watch.newMember(new Set(), 90_000, 3);
    void feeder.all();
    await sleep(15_000);
    const lagAtKill = (await run.watch.lag()).lag;
    await run.kill(b, 'SIGKILL');
    await sleep(15_000);
    const known = (await run.watch.stableMembers()) ?? new Set<string>();
    run.spawn('d');
    const fourth = await run.watch.newMember(known, 120_000);
    const diffs = await finish(run, feeder, 'scale-out', { joinedAfterMs: Math.round(joined.ms), lagAtKill, fourthAssignedAfterMs: Math.round(fourth.ms), alive: [a, c].map((i) => i.alive) });
    expectExact(diffs);
  }, 420_000);

  it('rebalance storm: members join and leave gracefully every 5 s while the input flows', async () => {
    const { run, feeder } = await setUp('storm');
    const live = [run.spawn('s0'), run.spawn('s1')];
    await run.watch.newMember(new Set(), 90_000, 2);
    const produced = feeder.all();
    const stops: Promise<void>[] = [];
    const leaveExitCodes: Record<string, number | null> = {};
    let joins = 0;
    let leaves = 0;
    for (let step = 0; step < 12; step++) {
      await sleep(5000);
      // Join on even steps, leave (SIGTERM, the oldest) on odd ones; one to three members.
      if (step % 2 === 0 || live.length === 1) {
        live.push(run.spawn(`s${2 + joins++}`));
      } else {
        const leaving = live.shift() as Instance;
        stops.push(run.kill(leaving, 'SIGTERM').then((r) => void (leaveExitCodes[leaving.name] = r.code)));
        leaves++;
      }
    }
    await produced;
    await Promise.all(stops);
    const diffs = await finish(run, feeder, 'rebalance storm', { joins, leaves, leaveExitCodes });
    expectExact(diffs);
  }, 420_000);
});
