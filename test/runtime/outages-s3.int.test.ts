/**
 * S3 outages, against a private versitygw (the shared stack's is never stopped): S3 stopped for 30 s
 * mid-run, and an S3 endpoint that accepts connections and never answers. Tributary runs in a child
 * process (`startTopology`, as `tributary run`) on traffic that keeps coming; it must stay up, hold
 * the source (in-flight bound) while uploads are retried, report not-ready, log the outage a few
 * times (not per retry), and once S3 answers write every event to Parquet exactly once.
 */
import { createServer, connect, type Server, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { privateService, type PrivateService } from '../support/private-service.ts';
import { brokers, connections } from '../support/stack.ts';
import { allCommitted, cleanUp, expectExact, prepareRun, readBack, sinkOutage, sleep, startRun, Traffic, TributaryChild, until } from './outages.ts';

const MAX_INFLIGHT = 3_000;

/**
 * A TCP proxy in front of S3 that can stop answering: while it hangs it accepts connections and
 * forwards nothing, and connections already open stop forwarding too (their requests wait for an
 * answer that never comes).
 */
class HangingProxy {
  readonly #server: Server;
  readonly #connections = new Map<Socket, Socket | undefined>();
  #hanging = false;
  port = 0;
  accepted = 0;

  constructor(targetPort: number) {
    this.#server = createServer((client) => {
      this.accepted += 1;
      client.on('error', () => {});
      client.on('close', () => {
        this.#connections.get(client)?.destroy();
        this.#connections.delete(client);
      });
      if (this.#hanging) {
        this.#connections.set(client, undefined); // accepted, never answered
        return;
      }
      const upstream = connect(targetPort, '127.0.0.1');
      upstream.on('error', () => client.destroy());
      upstream.on('close', () => client.destroy());
      this.#connections.set(client, upstream);
      client.pipe(upstream).pipe(client);
    });
  }

  async listen(): Promise<void> {
    await new Promise<void>((resolve) => this.#server.listen(0, '127.0.0.1', resolve));
    this.port = (this.#server.address() as { port: number }).port;
  }

  /** From now on nothing is forwarded, on new connections or open ones. */
  hang(): void {
    this.#hanging = true;
    for (const [client, upstream] of this.#connections) {
      client.unpipe();
      upstream?.unpipe();
      client.pause();
    }
  }

  /** Back to forwarding new connections; the hung ones are cut (their requests timed out long ago). */
  pass(): void {
    this.#hanging = false;
    for (const client of this.#connections.keys()) client.destroy();
  }

  async close(): Promise<void> {
    for (const client of this.#connections.keys()) client.destroy();
    await new Promise((resolve) => this.#server.close(resolve));
  }
}

describe('S3 outages', () => {
  let s3: PrivateService;

  beforeAll(async () => {
    s3 = await privateService('s3');
    await s3.start();
  });

  afterAll(async () => {
    await s3?.dispose();
  });

  it('S3 stopped for 30 s mid-run: the source is held within its bound, not ready meanwhile, and every event lands in Parquet exactly once', async () => {
    await sinkOutage({ service: s3, sinks: ['files', 'copies'], ratePerSecond: 1_000, maxInflight: MAX_INFLIGHT, writtenBefore: 3_000, backlogBounds: 5 });
  });

  it('an S3 endpoint that accepts connections and never answers: each request times out and is retried, and every event lands once', async () => {
    const proxy = new HangingProxy(Number(s3.env.TRIBUTARY_S3_PORT));
    await proxy.listen();
    onTestFinished(() => proxy.close());
    const run = await prepareRun(['files'], { kafka: connections, aws: s3.connections, env: s3.env });
    onTestFinished(() => cleanUp(run, { kafka: true, aws: false }));
    const { traffic, child } = startRun(run, 1_000, {
      TRIBUTARY_S3_PORT: String(proxy.port),
      TRIBUTARY_S3_REQUEST_TIMEOUT_MS: '2000',
      TRIBUTARY_MAX_INFLIGHT_RECORDS: String(MAX_INFLIGHT),
    });

    traffic.start();
    await until('Tributary writing Parquet', () => (child.status?.written ?? 0) >= 2_000, 60_000, child);
    const hangAt = Date.now();
    const acceptedBefore = proxy.accepted;
    proxy.hang();
    await until('a request timing out', () => child.logged('s3 unavailable; retrying with backoff', hangAt).length > 0, 30_000, child);
    const firstTimeout = child.logged('s3 unavailable; retrying with backoff', hangAt)[0];
    const detectedMs = (firstTimeout?.at ?? 0) - hangAt;
    await sleep(12_000);
    const errors = child.logged(/^s3 (still )?unavailable/, hangAt).map((l) => String((l.err as { message?: string } | undefined)?.message));
    const retried = proxy.accepted - acceptedBefore;
    const passAt = Date.now();
    proxy.pass();
    await until('S3 answering again, as the child sees it', () => child.logged('s3 available again', passAt).length > 0, 60_000, child);
    const resumedMs = (child.logged('s3 available again', passAt)[0]?.at ?? 0) - passAt;
    await traffic.stop();
    await until('everything committed', () => allCommitted(run), 120_000, child);
    expect(await child.stop()).toBe(0);

    console.log(
      `S3 hanging: ${traffic.truth.size} distinct events; first request timed out ${detectedMs} ms after the endpoint hung ` +
        `(request timeout 2000 ms), ${retried} connections tried while it hung, back ${resumedMs} ms after it answered; logged: ${[...new Set(errors)].join(' | ')}`,
    );
    expect(errors.length).toBeGreaterThanOrEqual(2); // the outage, and at least once while it lasted
    for (const error of errors) expect(error).toMatch(/exceeded the configured 2000 ms requestTimeout/);
    expect(detectedMs).toBeLessThan(15_000);
    expect(retried).toBeGreaterThanOrEqual(2);
    expect(child.statuses.some((s) => s.at > hangAt && s.at < passAt && !s.ready)).toBe(true);
    expectExact(await readBack(run), traffic.truth);
  });

  it('gives up, exiting 1 with a clear error, once S3 has been down longer than TRIBUTARY_SINK_UNAVAILABLE_TIMEOUT_MS', async () => {
    const run = await prepareRun(['files'], { kafka: connections, aws: s3.connections, env: s3.env });
    onTestFinished(() => cleanUp(run, { kafka: true, aws: false }));
    const traffic = new Traffic(brokers, `${run.tag}-events`, 1_000);
    await traffic.burst(2_000);
    await traffic.stop();
    await s3.stop();
    const child = new TributaryChild({ ...run.env, TRIBUTARY_SINK_UNAVAILABLE_TIMEOUT_MS: '5000' });
    const launchedAt = Date.now();
    onTestFinished(() => {
      if (child.alive) child.process.kill('SIGKILL');
    });
    const { code } = await child.exit;
    const failure = child.logged('pipeline failed; stopping')[0];
    console.log(`S3 gone for good: Tributary exited ${code} ${((Date.now() - launchedAt) / 1000).toFixed(1)} s after it started (timeout 5 s): ${String((failure?.err as { message?: string })?.message)}`);
    expect(code).toBe(1);
    expect((failure?.err as { code?: string })?.code).toBe('TRIB_UNAVAILABLE');
    expect((failure?.err as { message?: string })?.message).toMatch(/^s3 unavailable for \d+ s, longer than its outage timeout; giving up/);
    await s3.start();
  });
});
