/**
 * Exactness of the default topology at scale: a seeded input (1M records by default) fed to three
 * `tributary run` processes, one killed with SIGKILL once ~40% of the input is committed and replaced
 * 5 s later by a process with the same TRIBUTARY_GROUP_INSTANCE_ID (static membership), the outputs
 * compared item by item with the ground truth. Reuses the exactness tests' harness
 * (test/support/exactness*.ts).
 *
 *   npm run stack:up && node_modules/.bin/node bench/exactness.bench.ts --events 1000000
 *   options: --seed 20261203, --kill-at 0.4, --restart-after-ms 5000, --no-kill (the same without the kill), --segments 20,
 *            --segment-ms 0 (each segment produced over this long; 0 = as fast as the producer goes),
 *            --timeout-min 40, --linger-ms 0 (wait this long after the group completes before stopping it:
 *            window results wait for the watermark, not for commits)
 *
 * The event-time span grows with the input (16 min per 30,000 records, as in the tests), so windows
 * hold as many events as in the tests. Prints a Markdown table; writes bench/out/exactness.json.
 * Instance logs stay in the printed directory; TRIBUTARY_KEEP_EXACTNESS=1 keeps topics, tables, bucket.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { compare, isExact, readBack, type Actual, type TableDiff } from '../test/support/exactness-check.ts';
import { generateInput, metricsWithLate, TOPICS } from '../test/support/exactness-input.ts';
import { ExactnessRun, Feeder, type Instance } from '../test/support/exactness.ts';
import { markdown } from './exactness-report.ts';

const { values: args } = parseArgs({
  options: {
    events: { type: 'string', default: '1000000' },
    seed: { type: 'string', default: '20261203' },
    'kill-at': { type: 'string', default: '0.4' },
    'no-kill': { type: 'boolean', default: false },
    'restart-after-ms': { type: 'string', default: '5000' },
    segments: { type: 'string', default: '20' },
    'segment-ms': { type: 'string', default: '0' },
    'timeout-min': { type: 'string', default: '40' },
    'linger-ms': { type: 'string', default: '0' },
  },
  strict: true,
});
const MINUTE = 60_000;
const events = Number(args.events);
const killAt = Number(args['kill-at']);
const restartAfterMs = Number(args['restart-after-ms']);
const OUT = 'bench/out';
const startedAt = new Date().toISOString();
const loadAtStart = loadavg();
/** What the instances inherit that changes their behaviour (the harness sets the rest). */
const environment = Object.fromEntries(Object.entries(process.env).filter(([k]) => k.startsWith('TRIBUTARY_') && k !== 'TRIBUTARY_KEEP_EXACTNESS'));

const generating = performance.now();
const input = generateInput({ seed: Number(args.seed), records: events, spanMs: (events * 16 * MINUTE) / 30_000, epochMs: Date.UTC(2026, 10, 23, 10, 0), partitions: 3 });
const generateMs = performance.now() - generating;
const total = input.records.length;

const cleanUps: (() => Promise<void>)[] = [];
const cleanUp = async () => {
  for (const f of cleanUps.splice(0).reverse()) await f().catch((e: unknown) => console.error('clean-up failed:', e));
};
process.once('SIGINT', () => void cleanUp().finally(() => process.exit(130)));

const run = new ExactnessRun({}, (f) => cleanUps.push(f));
const inputTopics = new Set<string>(TOPICS.map((t) => run.topic(t)));
const since = (t: number) => Math.round(performance.now() - t);
const msBetween = (a: number | undefined, b: number | undefined) => (a === undefined || b === undefined ? undefined : Math.round(b - a));

/** Group lag every second: total (inputs + repartition topic), inputs alone, input records committed. */
interface Sample { atMs: number; lag: number; inputLag: number; inputCommitted: number }
const samples: Sample[] = [];
let sampling = true;
async function sample(t0: number): Promise<void> {
  while (sampling) {
    const got = await run.watch.lag().catch(() => undefined);
    if (got !== undefined) {
      let inputLag = 0;
      let inputCommitted = 0;
      for (const [key, end] of got.ends) {
        if (!inputTopics.has(key.slice(0, key.lastIndexOf('/')))) continue;
        const committed = got.committed.get(key) ?? 0;
        inputLag += Math.max(0, end - committed);
        inputCommitted += committed;
      }
      samples.push({ atMs: since(t0), lag: got.lag, inputLag, inputCommitted });
    }
    await sleep(1000);
  }
}
const lastSample = () => samples.at(-1);
const deadline = performance.now() + Number(args['timeout-min']) * MINUTE;
let produceError: unknown;
function beforeDeadline(what: string): void {
  if (produceError !== undefined) throw produceError;
  if (performance.now() > deadline) throw new Error(`timed out (--timeout-min ${args['timeout-min']}) waiting for ${what}`);
}

/** Polls `done` every 200 ms until it holds, logging progress every 15 s; throws past the deadline. */
async function waitFor(what: string, done: () => boolean | Promise<boolean>, progress: () => string): Promise<void> {
  let logged = performance.now();
  while (!(await done())) {
    beforeDeadline(what);
    if (performance.now() - logged > 15_000) {
      logged = performance.now();
      run.log(progress());
    }
    await sleep(200);
  }
}

/**
 * Kills `victim` with SIGKILL and starts a process with its instance id `restartAfterMs` later;
 * measures from the kill until the replacement has partitions and until it first commits one of them.
 */
async function killAndReplace(victim: Instance, t0: number) {
  const before = await run.watch.assignments();
  const killed = [...before.values()].find((m) => m.instanceId === `${run.tag}-${victim.name}`);
  const committedAtKill = await run.watch.committed();
  const atKill = lastSample();
  const killAt = performance.now();
  await run.kill(victim, 'SIGKILL');
  await sleep(Math.max(0, restartAfterMs - (performance.now() - killAt)));
  const spawnAt = performance.now();
  const replacement = run.spawn(`${victim.name}2`, victim.name);
  const assigned = await run.watch.newMember(new Set(before.keys()), 180_000);
  const assignedAt = performance.now();
  const mine = [...(await run.watch.assignments())].find(([id]) => assigned.members.has(id) && !before.has(id))?.[1];
  run.log(`replacement has ${mine?.partitions.length ?? '?'} partitions, ${Math.round(assignedAt - killAt)} ms after the kill`);
  // Nobody else owns these partitions, if they are the killed member's: any commit is the replacement's.
  const watched = new Set(mine?.partitions ?? []);
  const moved = async () => [...(await run.watch.committed().catch(() => committedAtKill))].some(([k, v]) => watched.has(k) && v > (committedAtKill.get(k) ?? -1));
  await waitFor("the replacement's first commit", async () => !replacement.alive || (await moved()), () => 'waiting for the replacement to commit');
  const firstCommitAt = replacement.alive ? performance.now() : undefined;
  run.log(`replacement's first commit ${msBetween(killAt, firstCommitAt)} ms after the kill`);
  return {
    replacement,
    firstCommitAtMs: msBetween(t0, firstCommitAt),
    atMs: msBetween(t0, killAt),
    atSample: atKill,
    inputCommittedFraction: (atKill?.inputCommitted ?? 0) / total,
    killedPartitions: killed?.partitions ?? [],
    replacementPartitions: mine?.partitions ?? [],
    samePartitions: JSON.stringify(killed?.partitions) === JSON.stringify(mine?.partitions),
    toSpawnMs: msBetween(killAt, spawnAt),
    toAssignedMs: msBetween(killAt, assignedAt),
    toFirstCommitMs: msBetween(killAt, firstCommitAt),
    spawnToAssignedMs: msBetween(spawnAt, assignedAt),
    spawnToFirstCommitMs: msBetween(spawnAt, firstCommitAt),
  };
}

/**
 * Clearly late events the window did not route late, and game_metrics against the truth recomputed
 * with the events it did route late: exact means every game_metrics difference is a lateness
 * judgement (the watermark), not an event lost or counted twice.
 */
function lateness(actual: Actual, diffs: readonly TableDiff[]) {
  const notRouted = new Set([...input.truth.lateIds].filter((id) => !actual.late.distinct.has(id)));
  const routed = new Set([...actual.late.distinct].filter((id) => input.truth.eventIds.has(id)));
  const metrics = diffs[0] as TableDiff;
  const gameMetricsWithRoutedLate = isExact(metrics) ? undefined : compare({ ...input.truth, metrics: metricsWithLate(input.records, input.truth, routed) }, actual)[0];
  return { lateNotRouted: notRouted.size, lateNotRoutedByTenthOfInput: alongInput(notRouted), gameMetricsWithRoutedLate };
}

async function scenario() {
  await run.provision();
  run.log(`input: ${JSON.stringify(input.truth.stats)} (generated in ${Math.round(generateMs)} ms); instance logs in ${run.logDir}`);
  // One first: it creates the internal topics. Three started together can lose the race to create
  // them (TOPIC_ALREADY_EXISTS while the listing does not show the topic yet) and exit at start-up.
  const a = run.spawn('a');
  await run.watch.newMember(new Set(), 120_000);
  const [b, c] = ['b', 'c'].map((n) => run.spawn(n)) as [Instance, Instance];
  const joined = await run.watch.newMember(new Set(), 120_000, 3);
  const feeder = new Feeder(input.records, Number(args.segments), `${run.tag}-`, Number(args['segment-ms']), (f) => cleanUps.push(f));
  const t0 = performance.now();
  let producedAt: number | undefined;
  void feeder.all().then(
    () => void (producedAt = performance.now()),
    (error: unknown) => void (produceError = error ?? new Error('producing failed')),
  );
  void sample(t0);
  const progress = () => `produced ${feeder.produced}, committed ${lastSample()?.inputCommitted ?? 0} of ${total} input records, group lag ${lastSample()?.lag ?? '?'}`;
  let kill: Awaited<ReturnType<typeof killAndReplace>> | undefined;
  if (!args['no-kill']) {
    await waitFor(`${killAt * 100}% of the input committed`, () => (lastSample()?.inputCommitted ?? 0) >= killAt * total, progress);
    kill = await killAndReplace(b, t0);
  }
  await waitFor('the input to be produced', () => producedAt !== undefined, progress);
  run.log(`input produced: ${feeder.produced} records in ${msBetween(t0, producedAt)} ms`);
  const completing = run.watch.complete(Math.max(0, deadline - performance.now()));
  while (!(await Promise.race([completing.then(() => true), sleep(15_000).then(() => false)]))) run.log(progress());
  const doneAt = performance.now();
  sampling = false;
  run.log('complete: every partition the group committed is committed to its end');
  await sleep(Number(args['linger-ms']));
  const exitCodes = await run.stopAll();
  const reading = performance.now();
  const actual = await readBack({ tablePrefix: run.tablePrefix, bucket: run.tag, deadLetterTopic: run.topic('tributary-dead-letters'), lateTopic: run.topic('late-events'), alertTopic: run.topic('fraud-alerts'), inputTopics: TOPICS.map((t) => run.topic(t)) });
  const readBackMs = since(reading);
  const diffs = compare(input.truth, actual);
  const errorLogLines = Object.fromEntries(run.instances.map((i) => [i.name, readFileSync(join(run.logDir, `${i.name}.log`), 'utf8').split('\n').filter((l) => /"level":(50|60)/.test(l)).length]));
  const rate = (from: Sample | undefined, to: Sample | undefined) => (from === undefined || to === undefined ? undefined : Math.round(((to.inputCommitted - from.inputCommitted) / Math.max(1, to.atMs - from.atMs)) * 1000));
  const recovered = samples.find((x) => kill?.firstCommitAtMs !== undefined && x.atMs >= kill.firstCommitAtMs);
  const killFigures = kill === undefined ? undefined : (({ replacement: _r, atSample: _s, ...figures }) => figures)(kill);
  return {
    command: [...Object.entries(environment).map(([k, v]) => `${k}=${v}`), 'node_modules/.bin/node bench/exactness.bench.ts', ...process.argv.slice(2)].join(' '),
    run: run.tag,
    startedAt,
    finishedAt: new Date().toISOString(),
    machine: { cores: cpus().length, cpu: cpus()[0]?.model ?? '?', memoryGb: Math.round(totalmem() / 2 ** 30), node: process.version, loadAverageAtStart: loadAtStart, loadAverageAtEnd: loadavg() },
    options: { events, seed: Number(args.seed), kill: !args['no-kill'], killAt, restartAfterMs, segments: Number(args.segments), segmentMs: Number(args['segment-ms']), lingerMs: Number(args['linger-ms']), spanMinutes: (events * 16) / 30_000 },
    environment,
    input: { ...input.truth.stats, bytes: input.records.reduce((n, r) => n + r.value.length, 0) },
    joinedAfterMs: Math.round(joined.ms),
    produceMs: msBetween(t0, producedAt),
    wallMs: msBetween(t0, doneAt),
    eventsPerSec: Math.round(total / ((doneAt - t0) / 1000)),
    kill: killFigures,
    committedEventsPerSec: { beforeKill: rate(samples[0], kill?.atSample), afterFirstCommit: rate(recovered, lastSample()) },
    peakLag: Math.max(...samples.map((x) => x.lag)),
    peakInputLag: Math.max(...samples.map((x) => x.inputLag)),
    exitCodes: { ...exitCodes, ...(kill === undefined ? {} : { [b.name]: 'SIGKILL' }) },
    alive: Object.fromEntries([a, c, kill?.replacement ?? b].map((i) => [i.name, i.alive])),
    errorLogLines,
    logDir: run.logDir,
    readBackMs,
    parquetFiles: actual.parquetFiles,
    exact: diffs.every(isExact),
    diffs,
    lateness: lateness(actual, diffs),
    samples,
  };
}

/** How many of `ids` sit in each tenth of the input, by position. */
function alongInput(ids: ReadonlySet<string>): number[] {
  const tenths = Array.from({ length: 10 }, () => 0);
  input.records.forEach((r, i) => {
    const id = /"event_id":"([^"]+)"/.exec(r.value)?.[1];
    if (id !== undefined && ids.has(id)) tenths[Math.floor((i * 10) / total)]++;
  });
  return tenths;
}

export type ExactnessResult = Awaited<ReturnType<typeof scenario>>;

let code = 1;
try {
  const result = await scenario();
  mkdirSync(OUT, { recursive: true });
  writeFileSync(join(OUT, 'exactness.json'), `${JSON.stringify(result, null, 1)}\n`);
  console.log(`\n${markdown(result)}`);
  code = result.exact ? 0 : 1;
} catch (error) {
  console.error(error);
} finally {
  sampling = false;
  await cleanUp();
}
process.exit(code);
