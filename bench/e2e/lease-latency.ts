/** Per-record latency from the produce header to the final release of the record's lease. */
import type { Envelope, Lease } from '../../src/core/envelope.ts';
import { PRODUCED_AT_HEADER } from '../generator/produce.ts';
import type { Percentiles } from './contenders.ts';

/**
 * Records produced this long after the first one are the steady state: the first seconds of a live
 * run also time the generator's producer connecting and Tributary's code warming up (a backlog of
 * ~0.5 s drained over the first ~2 s in a trace of the hot Kafka path at 34,000 events/s).
 */
export const WARM_UP_MS = 5_000;

/**
 * Records produced this long after the first one: the start-up backlog has drained in every sink.
 * A per-second trace of the full topology's live run (2026-12-05) showed the leaderboard (its
 * known-maximum cache empty, so every record a conditional request) and user-sessions catching up
 * for 10-13 s after the start, at p95 0.7-3 s, and at p99 130-160 ms like the other sinks after.
 */
export const SETTLED_MS = 15_000;

/** The earliest produce time any recorder of this process saw: the start of the warm-up. */
let firstProducedAt = Number.POSITIVE_INFINITY;

/** Collects latencies in ms with their produce times; `percentiles()` sorts copies. */
export class LatencyRecorder {
  readonly samples: number[] = [];
  readonly #producedAt: number[] = [];

  /** The same envelope with a lease that records `now - produced_at` on its final release. */
  wrap<T>(envelope: Envelope<T>): Envelope<T> {
    const producedAt = Number(envelope.meta.headers[PRODUCED_AT_HEADER]);
    if (!Number.isFinite(producedAt)) return envelope;
    if (producedAt < firstProducedAt) firstProducedAt = producedAt;
    const inner = envelope.lease;
    const samples = this.samples;
    const produced = this.#producedAt;
    let refs = 1;
    const lease: Lease = {
      retain(count = 1) {
        refs += count;
        inner.retain(count);
      },
      release() {
        refs -= 1;
        if (refs === 0) {
          samples.push(Date.now() - producedAt);
          produced.push(producedAt);
        }
        inner.release();
      },
    };
    return { ...envelope, lease };
  }

  /**
   * Over every record, (`steady`) over those produced {@link WARM_UP_MS} or more after the first,
   * and (`settled`) {@link SETTLED_MS} or more after it.
   */
  percentiles(): Percentiles {
    const after = (ms: number) => percentilesOf(this.samples.filter((_, i) => (this.#producedAt[i] as number) >= firstProducedAt + ms));
    return { ...percentilesOf(this.samples), steady: after(WARM_UP_MS), settled: after(SETTLED_MS) };
  }
}

function percentilesOf(samples: readonly number[]): Omit<Percentiles, 'steady' | 'settled'> {
  const sorted = Float64Array.from(samples).sort();
  const at = (q: number) => (sorted.length === 0 ? Number.NaN : (sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] as number));
  return { count: sorted.length, p50: at(0.5), p95: at(0.95), p99: at(0.99), max: sorted.length === 0 ? Number.NaN : (sorted[sorted.length - 1] as number) };
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

  summary(): { hot: Percentiles; bySink: Record<string, Percentiles> } {
    return { hot: this.#hot.percentiles(), bySink: Object.fromEntries([...this.#bySink].map(([id, r]) => [id, r.percentiles()])) };
  }
}
