import { Subject } from 'rxjs';
import { describe, expect, it } from 'vitest';
import type { Aggregator } from '../../src/operators/aggregators.ts';
import { count, eventTimeFromField, tumbling, window, type PartitionFlow } from '../../src/operators/window.ts';
import { CountingLease, envelopeOf, type Envelope } from '../../src/core/envelope.ts';
import type { TopicPartition } from '../../src/core/partition.ts';

interface Ev {
  readonly key: string;
  readonly t: number;
}

const p0 = { topic: 'game-events', partition: 0 };
const p1 = { topic: 'game-events', partition: 1 };

describe('window: revoked partitions leave the watermark', () => {
  it('a paused partition revoked from the member no longer holds the other partitions\' windows open', () => {
    const assigned = new Subject<readonly TopicPartition[]>();
    const revoked = new Subject<readonly TopicPartition[]>();
    const flow = new Subject<PartitionFlow>();
    const input = new Subject<Envelope<Ev>>();
    const results: unknown[] = [];
    const sub = input
      .pipe(
        window<Ev, Record<string, Aggregator<Ev>>>({
          id: 'w',
          window: tumbling({ sizeMs: 60_000 }),
          key: (e) => e.key,
          eventTime: eventTimeFromField((e: Ev) => e.t),
          aggregators: { events: count() },
          idleTimeoutMs: 1000,
          deadLetter: () => {},
          partitions: assigned,
          flow,
          revoked,
        }),
      )
      .subscribe((routed) => results.push(routed.envelope.value));
    assigned.next([p0, p1]);
    flow.next({ paused: true, partitions: [p1] }); // backpressure: p1's records wait in Kafka
    for (let i = 0; i < 5; i++) input.next(envelopeOf({ key: 'g', t: i * 60_000 }, { ...p0, offset: i }, new CountingLease()));
    expect(results).toEqual([]); // the paused p1 holds the watermark
    revoked.next([p1]); // the rebalance moves p1 to another member
    expect(results.map((r) => (r as { window_start: number }).window_start)).toEqual([0, 60_000, 120_000, 180_000]);
    sub.unsubscribe();
  });
});
