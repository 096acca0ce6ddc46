import { describe, expect, it } from 'vitest';
import { envelopeOf } from '../../src/core/envelope.ts';
import { PRODUCED_AT_HEADER } from '../../bench/generator/produce.ts';
import { LatencyRecorder, SETTLED_MS, SinkLatencies, WARM_UP_MS } from '../../bench/e2e/lease-latency.ts';

const produced = (at: number) => envelopeOf({}, { topic: 't', partition: 0, offset: 0, timestamp: at, key: null, headers: { [PRODUCED_AT_HEADER]: String(at) } });

describe('LatencyRecorder', () => {
  it('leaves the records produced during the warm-up out of the steady percentiles only', () => {
    const first = Date.now() - 60_000;
    const recorder = new LatencyRecorder();
    for (const at of [first, first + WARM_UP_MS - 1, first + WARM_UP_MS, first + WARM_UP_MS + 10, first + SETTLED_MS]) recorder.wrap(produced(at)).lease.release();
    const p = recorder.percentiles();
    expect(p.count).toBe(5);
    expect(p.steady?.count).toBe(3);
    expect(p.settled?.count).toBe(1);
    // The steady ones were produced later: their latencies are the smaller ones.
    expect(p.steady?.max).toBeLessThan(p.max);
  });

  it('records a latency once, at the final release of a retained lease', () => {
    const latencies = new SinkLatencies(['hot']);
    const envelope = latencies.wrap('hot', produced(Date.now() - 10));
    envelope.lease.retain();
    envelope.lease.release();
    expect(latencies.summary().hot.count).toBe(0);
    envelope.lease.release();
    expect(latencies.summary().hot.count).toBe(1);
    expect(latencies.summary().bySink.hot?.count).toBe(1);
  });
});
