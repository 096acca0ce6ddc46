/** Per-record latency from the produce header to the final release of the record's lease. */
import type { Envelope, Lease } from '../../src/runtime/envelope.ts';
import { PRODUCED_AT_HEADER } from '../generator/produce.ts';

/** Collects latencies in ms; `percentiles()` sorts a copy. */
export class LatencyRecorder {
  readonly samples: number[] = [];

  /** The same envelope with a lease that records `now - produced_at` on its final release. */
  wrap<T>(envelope: Envelope<T>): Envelope<T> {
    const producedAt = Number(envelope.meta.headers[PRODUCED_AT_HEADER]);
    if (!Number.isFinite(producedAt)) return envelope;
    const inner = envelope.lease;
    const samples = this.samples;
    let refs = 1;
    const lease: Lease = {
      retain(count = 1) {
        refs += count;
        inner.retain(count);
      },
      release() {
        refs -= 1;
        if (refs === 0) samples.push(Date.now() - producedAt);
        inner.release();
      },
    };
    return { ...envelope, lease };
  }

  percentiles(): { count: number; p50: number; p95: number; p99: number; max: number } {
    const sorted = Float64Array.from(this.samples).sort();
    const at = (q: number) => (sorted.length === 0 ? Number.NaN : (sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] as number));
    return { count: sorted.length, p50: at(0.5), p95: at(0.95), p99: at(0.99), max: sorted.length === 0 ? Number.NaN : (sorted[sorted.length - 1] as number) };
  }
}
