/**
 * A DynamoDB outage, against a private DynamoDB Local keeping its tables on disk (the shared stack's
 * is never stopped, and an in-memory one would lose them): stopped for 30 s mid-run while traffic
 * keeps coming. Tributary (a child process, as `tributary run`) must stay up, hold the source within
 * its in-flight bound while the sink retries, report not-ready, log the outage a few times, and once
 * DynamoDB answers write every event exactly once.
 */
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { privateService, type PrivateService } from '../support/private-service.ts';
import { brokers, connections } from '../support/stack.ts';
import { allCommitted, readiness, cleanUp, expectExact, MiB, pauseReasons, prepareRun, readBack, RssSampler, sleep, Traffic, TributaryChild, until } from './outages.ts';

const OUTAGE_MS = 30_000;
const MAX_INFLIGHT = 1_500;
/** Records the source may hand over after the bound closed the gate, before the pause takes hold. */
const PAUSE_SLACK = 2_000;

describe('DynamoDB outage', () => {
  let dynamodb: PrivateService;

  beforeAll(async () => {
    dynamodb = await privateService('dynamodb');
    await dynamodb.start();
  });

  afterAll(async () => {
    await dynamodb?.dispose();
  });

  it('DynamoDB stopped for 30 s mid-run: the source is held within its bound, not ready meanwhile, and every event is written exactly once', async () => {
    const run = await prepareRun(['items', 'copies'], { kafka: connections, aws: dynamodb.connections, env: dynamodb.env });
    onTestFinished(() => cleanUp(run, { kafka: true, aws: false }));
    // DynamoDB Local on disk takes a few hundred items a second: the traffic stays below that.
    const traffic = new Traffic(brokers, `${run.tag}-events`, 250);
    const child = new TributaryChild({ ...run.env, TRIBUTARY_MAX_INFLIGHT_RECORDS: String(MAX_INFLIGHT), TRIBUTARY_COMMIT_INTERVAL_MS: '1000' });
    const rss = new RssSampler(child);
    onTestFinished(async () => {
      rss.stop();
      await traffic.stop();
      if (child.alive) child.process.kill('SIGKILL');
    });

    traffic.start();
    await until('Tributary writing items', () => (child.status?.written ?? 0) >= 1_500, 90_000, child);
    const stopAt = Date.now();
    const rssBefore = rss.peak(stopAt - 3_000);
    const stopMs = await dynamodb.stop();
    await sleep(OUTAGE_MS);
    // From a few seconds after the server is gone (the next call has failed by then) to its restart.
    const during = child.statuses.filter((s) => s.at > stopAt + stopMs + 3_000);
    const notReadyAt = child.statuses.find((s) => s.at > stopAt && !s.ready)?.at ?? Infinity;
    const startAt = Date.now();
    await dynamodb.start();
    const backAt = Date.now();
    await until('DynamoDB available again, as the child sees it', () => child.logged('dynamodb available again', startAt).length > 0, 60_000, child);
    const resumedAt = child.logged('dynamodb available again', startAt)[0]?.at ?? Date.now();
    await traffic.stop();
    const drainMs = await until('everything committed', () => allCommitted(run), 150_000, child);
    expect(await child.stop()).toBe(0);
    rss.stop();

    const maxInflight = Math.max(...during.map((s) => s.inflight.records));
    const peakRss = rss.peak(stopAt, backAt);
    const outageLogs = child.logs.filter((l) => l.at >= stopAt && l.at <= resumedAt && l.level >= 40);
    console.log(`readiness from the stop (the server took ${(stopMs / 1000).toFixed(1)} s to go): ${readiness(child, stopAt, resumedAt + 2_000).join(', ')}`);
    console.log(
      `DynamoDB outage: ${traffic.sent} events sent (${traffic.truth.size} distinct), DynamoDB down ${((backAt - stopAt) / 1000).toFixed(1)} s ` +
        `(restart ${((backAt - startAt) / 1000).toFixed(1)} s); Tributary saw it back ${resumedAt - backAt} ms after it answered, drained in ${(drainMs / 1000).toFixed(1)} s; ` +
        `in flight during the outage at most ${maxInflight} (bound ${MAX_INFLIGHT}); RSS ${Math.round(rssBefore / MiB)} MB before, peak ${Math.round(peakRss / MiB)} MB during; ` +
        `source paused for ${JSON.stringify(pauseReasons(child, stopAt, backAt))}; ${outageLogs.length} warnings logged during the outage`,
    );

    expect(during.length).toBeGreaterThan(50);
    expect(notReadyAt - stopAt).toBeLessThan(stopMs + 3_000);
    expect(during.every((s) => !s.ready && s.unavailable.includes('dynamodb'))).toBe(true);
    expect(during.some((s) => s.inflight.paused)).toBe(true);
    expect(maxInflight).toBeLessThanOrEqual(MAX_INFLIGHT + PAUSE_SLACK);
    expect(traffic.sent - (during.at(-1)?.read ?? 0)).toBeGreaterThan(3 * MAX_INFLIGHT); // the backlog stayed in Kafka
    expect(peakRss - rssBefore).toBeLessThan(150 * MiB);
    expect(child.logged('dynamodb unavailable; retrying with backoff', stopAt)).toHaveLength(1);
    expect(child.logged('dynamodb still unavailable; retrying', stopAt).length).toBeLessThanOrEqual(OUTAGE_MS / 10_000 + 2);
    expect(outageLogs.length).toBeLessThan(15);
    expect(child.statuses.some((s) => s.at > resumedAt && s.ready)).toBe(true);

    expectExact(await readBack(run), traffic.truth);
  });
});
