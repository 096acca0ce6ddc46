/** Per-record latency from the produce header to the final release of the record's lease. */
import type { Envelope, Lease } from '../../src/core/envelope.ts';
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

/**
 * Latency per sink: produce header to the sink's own release of the record (its acknowledgement),
 * plus one recorder over the `hot` sinks together (the per-event sinks whose acknowledgement is a
 * DynamoDB or Kafka write, not a window close or a Parquet file rotation).
 */
export class SinkLatencies {
  readonly #bySink = new Map<string, LatencyRecorder>();
  readonly #hot = new LatencyRecorder();
  readonly #hotSinks: ReadonlySet<string>;

  constructor(hotSinks: readonly string[]) {
    this.#hotSinks = new Set(hotSinks);
  }

  wrap<T>(sinkId: string, envelope: Envelope<T>): Envelope<T> {
    let recorder = this.#bySink.get(sinkId);
    if (recorder === undefined) this.#bySink.set(sinkId, (recorder = new LatencyRecorder()));
    const wrapped = recorder.wrap(envelope);
    return this.#hotSinks.has(sinkId) ? this.#hot.wrap(wrapped) : wrapped;
  }

  summary(): { hot: ReturnType<LatencyRecorder['percentiles']>; bySink: Record<string, ReturnType<LatencyRecorder['percentiles']>> } {
    return { hot: this.#hot.percentiles(), bySink: Object.fromEntries([...this.#bySink].map(([id, r]) => [id, r.percentiles()])) };
  }
}
