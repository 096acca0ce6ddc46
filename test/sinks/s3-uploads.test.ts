import { VirtualTimeScheduler } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { SinkPermanentError, UnavailableError } from '../../src/core/errors.ts';
import { CountingLease } from '../../src/core/envelope.ts';
import { sinkErrorOf } from '../../src/sinks/aws-errors.ts';
import { S3Uploads, type ClosedObject } from '../../src/sinks/s3-uploads.ts';
import { testContext } from '../support/sink-context.ts';
import { FakeS3 } from './s3-parquet-fake.ts';

/** A lease whose partition can be revoked, like the runtime's. */
class RevocableLease extends CountingLease {
  revoked = false;
}

function uploads(s3: FakeS3, more: { unavailableTimeoutMs?: number; rebalanceHoldMs?: number; scheduler?: VirtualTimeScheduler } = {}) {
  const { context, metrics } = testContext();
  const uploads = new S3Uploads(
    {
      id: 'to-s3',
      client: s3.client,
      bucket: 'b',
      multipartThresholdBytes: 5 * 2 ** 20,
      partSizeBytes: 5 * 2 ** 20,
      scheduler: more.scheduler ?? new VirtualTimeScheduler(),
      random: () => 0.5,
      retry: { baseDelayMs: 100, maxDelayMs: 350 },
      unavailableTimeoutMs: more.unavailableTimeoutMs,
      ...(more.rebalanceHoldMs === undefined ? {} : { rebalanceHoldMs: more.rebalanceHoldMs }),
      noun: 'test object',
    },
    context,
  );
  return { uploads, metrics };
}

function object(key: string, leases: CountingLease[], outcomes: string[] = []): ClosedObject {
  return { key, rows: leases.length, leases, body: async () => new Uint8Array([1, 2, 3]), settled: (outcome) => outcomes.push(outcome) };
}

/** Lets the virtual clock run the sleeps of the retry path until `done` says so. */
async function runUntil(scheduler: VirtualTimeScheduler, done: () => boolean): Promise<void> {
  for (let i = 0; i < 10_000 && !done(); i++) {
    await new Promise((resolve) => setImmediate(resolve));
    scheduler.flush();
  }
}

describe('S3Uploads', () => {
  it('retries a transient failure and releases the leases once S3 has the object', async () => {
    const s3 = new FakeS3();
    s3.failures = 2;
    const scheduler = new VirtualTimeScheduler();
    const { uploads: u, metrics } = uploads(s3, { scheduler });
    const leases = [new CountingLease(), new CountingLease()];
    const outcomes: string[] = [];
    u.start(object('k', leases, outcomes));
    await runUntil(scheduler, () => outcomes.length > 0);
    expect(outcomes).toEqual(['uploaded']);
    expect(s3.objects.get('k')).toEqual(new Uint8Array([1, 2, 3]));
    expect(s3.sends).toBe(3);
    expect(leases.map((l) => l.done)).toEqual([true, true]);
    expect(metrics.value('sink_retries_total', { step: 'to-s3' })).toBe(2);
    // Each try is one request (the failed ones too); the upload is counted once, by its outcome.
    expect(metrics.snapshot().find((s) => s.name === 'sink_request_latency_ms')?.value).toMatchObject({ count: 3 });
    expect(metrics.value('sink_uploads_total', { step: 'to-s3', outcome: 'uploaded' })).toBe(1);
  });

  it('retries for as long as the outage timeout, however many tries that takes, then fails with UnavailableError and holds the leases', async () => {
    const s3 = new FakeS3();
    s3.failures = 1_000;
    const scheduler = new VirtualTimeScheduler();
    const { uploads: u, metrics } = uploads(s3, { scheduler, unavailableTimeoutMs: 10_000 });
    const leases = [new CountingLease()];
    u.start(object('k', leases));
    await runUntil(scheduler, () => u.size === 0);
    expect(u.failure).toBeInstanceOf(UnavailableError);
    expect(u.failure?.message).toMatch(/^s3 unavailable for 10 s, longer than its outage timeout; giving up: upload of s3:\/\/b\/k: InternalError: injected failure/);
    // Waits of 50, 100, then 175 ms (half the 350 ms cap): 59 of them cover 10 s, so 60 tries.
    expect(s3.sends).toBe(60);
    expect(leases[0]?.done).toBe(false);
    expect(metrics.value('sink_uploads_total', { step: 'to-s3', outcome: 'failed' })).toBe(1);
  });

  it('does not retry what is not retriable', async () => {
    const s3 = new FakeS3();
    s3.send = async () => {
      throw Object.assign(new Error('denied'), { name: 'AccessDenied', $metadata: { httpStatusCode: 403 } });
    };
    const { uploads: u } = uploads(s3);
    u.start(object('k', [new CountingLease()]));
    await u.all();
    expect(u.failure).toBeInstanceOf(SinkPermanentError);
    expect(u.failure?.message).toBe('to-s3: upload of s3://b/k refused: denied');
    expect(sinkErrorOf(new Error('x'), 's', 'w')).toBeInstanceOf(SinkPermanentError);
  });

  it('starts no upload during a rebalance, aborts the one in flight, and sends it again once the member keeps its partition', async () => {
    const s3 = new FakeS3();
    s3.hold();
    const { uploads: u, metrics } = uploads(s3);
    const inFlight = [new RevocableLease()];
    const closedDuring = [new RevocableLease()];
    const outcomes: string[] = [];
    u.start(object('a', inFlight, outcomes));
    await new Promise((resolve) => setImmediate(resolve));
    expect(s3.sends).toBe(1);
    u.rebalanceStarted();
    u.start(object('b', closedDuring, outcomes));
    await new Promise((resolve) => setImmediate(resolve));
    s3.open();
    await new Promise((resolve) => setImmediate(resolve));
    // The request in flight was aborted; nothing was sent since.
    expect([s3.sends, s3.objects.size, outcomes]).toEqual([1, 0, []]);
    expect(metrics.value('sink_uploads_total', { step: 'to-s3', outcome: 'aborted' })).toBe(1);
    u.rebalanceEnded();
    await u.all();
    expect([...s3.objects.keys()].sort()).toEqual(['a', 'b']);
    expect(outcomes).toEqual(['uploaded', 'uploaded']);
    expect([inFlight[0]?.done, closedDuring[0]?.done]).toEqual([true, true]);
    expect(u.failure).toBeUndefined();
    expect(metrics.value('sink_uploads_total', { step: 'to-s3', outcome: 'uploaded' })).toBe(2);
    // The aborted try is not a request latency: only the two that completed are.
    expect(metrics.snapshot().find((s) => s.name === 'sink_request_latency_ms')?.value).toMatchObject({ count: 2 });
  });

  it("drops a held object whose partition the rebalance revoked: not uploaded, leases released, counted", async () => {
    const s3 = new FakeS3();
    const { uploads: u, metrics } = uploads(s3);
    const lost = [new RevocableLease(), new RevocableLease()];
    const kept = [new RevocableLease()];
    const outcomes: string[] = [];
    u.rebalanceStarted();
    u.start(object('lost', lost, outcomes));
    u.start(object('kept', kept, outcomes));
    await new Promise((resolve) => setImmediate(resolve));
    for (const lease of lost) lease.revoked = true;
    u.rebalanceEnded();
    await u.all();
    expect([...s3.objects.keys()]).toEqual(['kept']);
    expect(outcomes.sort()).toEqual(['revoked', 'uploaded']);
    expect(lost.map((l) => l.done)).toEqual([true, true]);
    expect(metrics.value('revoked_records_total', { step: 'to-s3' })).toBe(2);
    expect(metrics.value('sink_uploads_total', { step: 'to-s3', outcome: 'revoked' })).toBe(1);
    expect(metrics.value('sink_uploads_total', { step: 'to-s3', outcome: 'uploaded' })).toBe(1);
  });

  it('lets uploads go ahead when no assignment follows a rebalance within rebalanceHoldMs', async () => {
    const s3 = new FakeS3();
    const scheduler = new VirtualTimeScheduler();
    const { uploads: u } = uploads(s3, { scheduler, rebalanceHoldMs: 30_000 });
    u.rebalanceStarted();
    u.start(object('k', [new RevocableLease()]));
    await new Promise((resolve) => setImmediate(resolve));
    expect(s3.sends).toBe(0);
    scheduler.flush(); // 30 s pass
    await u.all();
    expect([...s3.objects.keys()]).toEqual(['k']);
  });
});
