/**
 * Readiness of a running topology, from what the runtime shows outside: its events (partitions
 * assigned and revoked, stopping), its sinks' overload holds and its dependencies' health (Kafka,
 * S3, DynamoDB as its calls find them, `core/health.ts`). Ready means joined the group (with
 * partitions, or with none while waiting for them), every dependency answering, no sink failing,
 * not draining.
 *
 * @example
 * ```ts
 * const readiness = new Readiness(runtime);
 * readiness.check(); // { ready: false, reason: 'joining', detail: 'no partition assignment yet' }
 * ```
 */
import type { Observable } from 'rxjs';
import type { HealthReport } from '../core/health.ts';
import { partitionKey } from '../core/partition.ts';
import type { RuntimeEvent } from './context.ts';

export interface ReadinessTarget {
  readonly events: Observable<RuntimeEvent>;
  /** The names of the holds on the source now (`sink:<id>:overload` while a sink retries). */
  readonly inflight: { readonly holds?: readonly string[] };
  /** The dependencies' state; one unavailable makes the process not ready. */
  healthReport?(): HealthReport;
}

export type NotReadyReason = 'joining' | 'dependency-unavailable' | 'sink-failing' | 'draining' | 'failed' | 'stopped';

export type ReadinessState =
  | { readonly ready: true; readonly partitions: number }
  | { readonly ready: false; readonly reason: NotReadyReason; readonly detail: string; readonly partitions: number };

export interface ReadinessOptions {
  /** A sink retrying for this long counts as failing. Default 5000. */
  readonly sinkFailingAfterMs?: number;
  readonly now?: () => number;
}

const OVERLOAD = /^sink:(.+):overload$/;

export class Readiness {
  readonly #target: ReadinessTarget;
  readonly #failingAfterMs: number;
  readonly #now: () => number;
  readonly #retryingSince = new Map<string, number>();
  readonly #partitions = new Set<string>();
  #joined = false;
  #stopping: string | undefined;
  #ended = false;

  constructor(target: ReadinessTarget, options: ReadinessOptions = {}) {
    this.#target = target;
    this.#failingAfterMs = options.sinkFailingAfterMs ?? 5000;
    this.#now = options.now ?? Date.now;
    target.events.subscribe({
      next: (event) => {
        if (event.type === 'joined') this.#joined = true;
        else if (event.type === 'assigned') {
          this.#joined = true;
          for (const p of event.partitions) this.#partitions.add(partitionKey(p.topic, p.partition));
        } else if (event.type === 'revoked') for (const p of event.partitions) this.#partitions.delete(partitionKey(p.topic, p.partition));
        else if (event.type === 'stopping') this.#stopping = event.reason;
      },
      complete: () => {
        this.#ended = true;
      },
    });
  }

  /** Sinks retrying now, with how long they have been (updates the record of when each began). */
  #retrying(): Map<string, number> {
    const now = this.#now();
    const current = new Set<string>();
    for (const hold of this.#target.inflight.holds ?? []) {
      const sink = OVERLOAD.exec(hold)?.[1];
      if (sink === undefined) continue;
      current.add(sink);
      if (!this.#retryingSince.has(sink)) this.#retryingSince.set(sink, now);
    }
    for (const sink of this.#retryingSince.keys()) if (!current.has(sink)) this.#retryingSince.delete(sink);
    return new Map([...this.#retryingSince].map(([sink, since]) => [sink, now - since]));
  }

  /** Observes the sinks' holds (call every second or so, so a retry's start time is known). */
  poll(): void {
    this.#retrying();
  }

  check(): ReadinessState {
    const partitions = this.#partitions.size;
    const failing = [...this.#retrying()].filter(([, ms]) => ms >= this.#failingAfterMs);
    if (this.#stopping !== undefined) {
      const failed = this.#stopping.startsWith('failure');
      return { ready: false, reason: this.#ended ? (failed ? 'failed' : 'stopped') : failed ? 'failed' : 'draining', detail: this.#stopping, partitions };
    }
    if (this.#ended) return { ready: false, reason: 'stopped', detail: 'the runtime has stopped', partitions };
    const down = Object.entries(this.#target.healthReport?.().dependencies ?? {}).filter(([, d]) => !d.available);
    if (down.length > 0) {
      const now = this.#now();
      const detail = down
        .map(([name, d]) => `${name} unavailable${d.unavailableSince === undefined ? '' : ` for ${Math.round((now - d.unavailableSince) / 1000)} s`} (${d.failures} failed calls)`)
        .join('; ');
      return { ready: false, reason: 'dependency-unavailable', detail, partitions };
    }
    if (failing.length > 0) {
      const detail = failing.map(([sink, ms]) => `sink ${sink} retrying for ${Math.round(ms / 1000)} s`).join('; ');
      return { ready: false, reason: 'sink-failing', detail, partitions };
    }
    if (!this.#joined) return { ready: false, reason: 'joining', detail: 'no partition assignment from the group yet', partitions };
    return { ready: true, partitions };
  }
}
