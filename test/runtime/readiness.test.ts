import { Subject } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { Health } from '../../src/core/health.ts';
import type { RuntimeEvent } from '../../src/runtime/context.ts';
import { Readiness } from '../../src/runtime/readiness.ts';

function target() {
  const events = new Subject<RuntimeEvent>();
  const inflight = { holds: [] as string[] };
  const clock = { now: 0 };
  const readiness = new Readiness({ events, inflight }, { sinkFailingAfterMs: 5000, now: () => clock.now });
  return { events, inflight, clock, readiness };
}
const tp = (partition: number) => ({ topic: 't', partition });

describe('readiness', () => {
  it('is not ready before the group assigns, ready after, and stays ready with no partitions left', () => {
    const { events, readiness } = target();
    expect(readiness.check()).toMatchObject({ ready: false, reason: 'joining' });
    events.next({ type: 'assigned', partitions: [tp(0), tp(1)] });
    expect(readiness.check()).toEqual({ ready: true, partitions: 2 });
    events.next({ type: 'revoked', partitions: [tp(0), tp(1)] });
    expect(readiness.check()).toEqual({ ready: true, partitions: 0 });
  });

  it('is ready once joined with no partitions (more members than partitions: waiting for some)', () => {
    const { events, readiness } = target();
    events.next({ type: 'joined', partitions: [] });
    expect(readiness.check()).toEqual({ ready: true, partitions: 0 });
    events.next({ type: 'assigned', partitions: [tp(3)] });
    expect(readiness.check()).toEqual({ ready: true, partitions: 1 });
  });

  it("is not ready while a dependency its calls found unreachable has not answered again, naming it", () => {
    const events = new Subject<RuntimeEvent>();
    const clock = { now: 1_000 };
    const health = new Health({ now: () => clock.now });
    const kafka = health.dependency('kafka');
    const readiness = new Readiness({ events, inflight: {}, healthReport: () => health.report() }, { now: () => clock.now });
    events.next({ type: 'joined', partitions: [] });
    expect(readiness.check().ready).toBe(true);
    kafka.failed(new Error('ECONNREFUSED'));
    kafka.failed(new Error('ECONNREFUSED'));
    clock.now = 13_000;
    expect(readiness.check()).toEqual({ ready: false, reason: 'dependency-unavailable', detail: 'kafka unavailable for 12 s (2 failed calls)', partitions: 0 });
    kafka.succeeded();
    expect(readiness.check().ready).toBe(true);
  });

  it('turns 503 when a sink has been retrying past the threshold, and back when it recovers', () => {
    const { events, inflight, clock, readiness } = target();
    events.next({ type: 'assigned', partitions: [tp(0)] });
    inflight.holds = ['sink:ddb', 'sink:ddb:overload'];
    readiness.poll();
    clock.now = 4000;
    expect(readiness.check().ready).toBe(true);
    clock.now = 6000;
    expect(readiness.check()).toEqual({ ready: false, reason: 'sink-failing', detail: 'sink ddb retrying for 6 s', partitions: 1 });
    inflight.holds = ['sink:ddb'];
    expect(readiness.check().ready).toBe(true);
    // A new retry starts its own clock.
    inflight.holds = ['sink:ddb:overload'];
    clock.now = 7000;
    expect(readiness.check().ready).toBe(true);
  });

  it('is not ready while draining, nor after a failure or the end', () => {
    const a = target();
    a.events.next({ type: 'assigned', partitions: [tp(0)] });
    a.events.next({ type: 'stopping', reason: 'SIGTERM' });
    expect(a.readiness.check()).toMatchObject({ ready: false, reason: 'draining', detail: 'SIGTERM' });
    a.events.complete();
    expect(a.readiness.check()).toMatchObject({ ready: false, reason: 'stopped' });
    const b = target();
    b.events.next({ type: 'assigned', partitions: [tp(0)] });
    b.events.next({ type: 'stopping', reason: 'failure: sink ddb: table not found' });
    expect(b.readiness.check()).toMatchObject({ ready: false, reason: 'failed', detail: 'failure: sink ddb: table not found' });
  });
});
