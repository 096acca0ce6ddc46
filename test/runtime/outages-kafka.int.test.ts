/**
 * Kafka outages, against a private broker (the shared stack's is never stopped): the broker stopped
 * for 30 s mid-run and started again, and a broker that is not there yet when Tributary starts.
 * Tributary (a child process, as `tributary run`) must stay up, report not-ready, log the outage a
 * few times rather than per retry, and once the broker answers go on where it was: every event in
 * DynamoDB and Parquet exactly once, every event copied to Kafka (at least once), all committed.
 */
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { privateService, type PrivateService } from '../support/private-service.ts';
import { connections } from '../support/stack.ts';
import { allCommitted, cleanUp, expectExact, MiB, prepareRun, readBack, sleep, startRun, Traffic, TributaryChild, until } from './outages.ts';

const OUTAGE_MS = 30_000;

describe('Kafka outages', () => {
  let kafka: PrivateService;

  beforeAll(async () => {
    kafka = await privateService('kafka');
    const ms = await kafka.start();
    console.log(`private broker ready in ${(ms / 1000).toFixed(1)} s`);
  });

  afterAll(async () => {
    await kafka?.dispose();
  });

  it('the broker stopped for 30 s mid-run: Tributary stays up, not ready meanwhile, resumes, and the outputs equal the ground truth', async () => {
    const run = await prepareRun(['items', 'files', 'copies'], { kafka: kafka.connections, aws: connections, env: kafka.env });
    onTestFinished(() => cleanUp(run, { kafka: false, aws: true }));
    const { traffic, child, rss } = startRun(run, 500);

    traffic.start();
    await until('Tributary writing', () => (child.status?.commits ?? 0) >= 2 && (child.status?.written ?? 0) >= 3_000, 90_000, child);
    await traffic.stop();
    // A backlog that DynamoDB takes seconds to write: the broker is stopped in the middle of it (a
    // graceful stop moves partition leadership first: FENCED_LEADER_EPOCH, NOT_COORDINATOR, ...).
    await traffic.burst(12_000);
    await until('the backlog on its way', () => (child.status?.inflight.records ?? 0) > 0, 30_000, child);
    const inflightAtStop = child.status?.inflight.records ?? 0;
    const stopAt = Date.now();
    const rssBefore = rss.peak(stopAt - 3_000);
    const stopMs = await kafka.stop();
    const inflightWhenGone = child.status?.inflight.records ?? 0;
    await sleep(OUTAGE_MS);
    const during = child.statuses.filter((s) => s.at > stopAt + stopMs + 2_000);
    const startAt = Date.now();
    await kafka.start();
    const backAt = Date.now();
    await until('Kafka available again, as the child sees it', () => child.status?.ready === true && child.logged('kafka available again', stopAt).length > 0, 90_000, child);
    const resumedAt = child.logged('kafka available again', stopAt).at(-1)?.at ?? Date.now();
    const readyAt = child.statuses.find((s) => s.at > backAt && s.ready)?.at ?? Date.now();
    const { commits, read } = child.status ?? { commits: 0, read: 0 };
    traffic.start();
    await until('new events read and committed after the return', () => (child.status?.read ?? 0) > read && (child.status?.commits ?? 0) > commits, 60_000, child);
    const committedAt = Date.now();
    await sleep(5_000);
    await traffic.stop();
    const drainMs = await until('everything committed', () => allCommitted(run), 120_000, child);
    expect(await child.stop()).toBe(0);
    rss.stop();

    const peakRss = rss.peak(stopAt, backAt);
    const outageLogs = child.logs.filter((l) => l.at >= stopAt && l.at <= resumedAt && l.level >= 40);
    console.log(
      `broker bounce: ${traffic.sent} events sent (${traffic.truth.size} distinct); broker stopped in ${(stopMs / 1000).toFixed(1)} s, down ` +
        `${((backAt - stopAt) / 1000).toFixed(1)} s (restart ${((backAt - startAt) / 1000).toFixed(1)} s); Tributary saw it back ${resumedAt - backAt} ms ` +
        `and was ready ${readyAt - backAt} ms after the broker answered, read and committed new events ${committedAt - backAt} ms after it, drained in ${(drainMs / 1000).toFixed(1)} s; ` +
        `${inflightAtStop} records in flight when the stop began, ${inflightWhenGone} when the broker was gone; ` +
        `RSS ${Math.round(rssBefore / MiB)} MB before, peak ${Math.round(peakRss / MiB)} MB during; ${outageLogs.length} warnings logged during the outage: ` +
        `${[...new Set(outageLogs.map((l) => l.msg))].join(' | ')}`,
    );

    expect(during.length).toBeGreaterThan(50);
    expect(during.every((s) => !s.ready && s.unavailable.includes('kafka'))).toBe(true);
    expect(child.logged('kafka unavailable; retrying with backoff', stopAt).length).toBeGreaterThanOrEqual(1);
    expect(child.logged('kafka unavailable; retrying with backoff', stopAt + stopMs).length).toBeLessThanOrEqual(1);
    expect(child.logged('kafka still unavailable; retrying', stopAt).length).toBeLessThanOrEqual((OUTAGE_MS + backAt - startAt) / 10_000 + 3);
    expect(outageLogs.length).toBeLessThan(20);
    expect(peakRss - rssBefore).toBeLessThan(150 * MiB);
    expect(inflightAtStop).toBeGreaterThan(0); // mid-run: records were on their way when the broker was stopped

    expectExact(await readBack(run), traffic.truth);
  });

  it('the broker not there yet at start: Tributary waits, not ready, and processes everything once it comes 20 s later (and gives up past its timeout)', async () => {
    const run = await prepareRun(['items', 'files', 'copies'], { kafka: kafka.connections, aws: connections, env: kafka.env });
    onTestFinished(() => cleanUp(run, { kafka: false, aws: true }));
    const traffic = new Traffic(kafka.connections.brokers, `${run.tag}-events`, 1_000);
    await traffic.burst(3_000);
    await traffic.stop();
    await kafka.stop();

    const child = new TributaryChild({ ...run.env, TRIBUTARY_COMMIT_INTERVAL_MS: '1000' });
    // A second process, of another group, told to wait 8 s only: it must give up, exit 1 and say why.
    const quitter = new TributaryChild({ ...run.env, TAG: `${run.tag}-quitter`, TRIBUTARY_KAFKA_UNAVAILABLE_TIMEOUT_MS: '8000' });
    const launchedAt = Date.now();
    onTestFinished(async () => {
      await traffic.stop();
      for (const c of [child, quitter]) if (c.alive) c.process.kill('SIGKILL');
    });
    await sleep(20_000);
    const waiting = child.statuses.filter((s) => s.at > launchedAt + 5_000);
    expect(child.alive).toBe(true);
    const gaveUp = await quitter.exit;
    const reason = quitter.logged('topology stopped on an error')[0]?.err as { code?: string; message?: string } | undefined;
    const startAt = Date.now();
    await kafka.start();
    const backAt = Date.now();
    await until('Tributary ready', () => child.status?.ready === true, 90_000, child);
    const readyAt = Date.now();
    traffic.start();
    await sleep(5_000);
    await traffic.stop();
    const drainMs = await until('everything committed', () => allCommitted(run), 120_000, child);
    expect(await child.stop()).toBe(0);

    console.log(
      `broker absent at start: the broker came ${((backAt - launchedAt) / 1000).toFixed(1)} s after Tributary (restart ${((backAt - startAt) / 1000).toFixed(1)} s); ` +
        `Tributary ready ${readyAt - backAt} ms after the broker answered, ${traffic.truth.size} distinct events drained in ${(drainMs / 1000).toFixed(1)} s; ` +
        `while waiting: ${child.logged(/kafka (still )?unavailable/).length} outage log lines, ${child.logs.filter((l) => l.at < backAt && l.level >= 40).length} warnings`,
    );
    console.log(`with TRIBUTARY_KAFKA_UNAVAILABLE_TIMEOUT_MS=8000 the other process exited ${gaveUp.code}: ${reason?.message}`);
    expect(gaveUp.code).toBe(1);
    expect(reason?.code).toBe('TRIB_UNAVAILABLE');
    expect(reason?.message).toMatch(/^kafka unavailable for \d+ s, longer than its outage timeout; giving up/);
    expect(waiting.length).toBeGreaterThan(40);
    expect(waiting.every((s) => !s.ready)).toBe(true);
    expect(child.logged('kafka unavailable; retrying with backoff', launchedAt, ).length).toBeGreaterThanOrEqual(1);
    expect(child.logs.filter((l) => l.at < backAt && l.level >= 40).length).toBeLessThan(12);
    expectExact(await readBack(run), traffic.truth);
  });

});
