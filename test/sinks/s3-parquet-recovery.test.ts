import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { UnavailableError } from '../../src/core/errors.ts';
import { CountingLease, envelopeOf, type Envelope } from '../../src/core/envelope.ts';
import { s3ParquetSink, type S3ParquetSinkOptions } from '../../src/sinks/s3-parquet.ts';
import { DurableOffsets } from '../../src/sinks/s3-parquet-recovery.ts';
import { testContext } from '../support/sink-context.ts';
import { FakeS3 } from './s3-parquet-fake.ts';

const HOUR = 3_600_000;
const T10 = Date.UTC(2025, 5, 1, 10, 5);
const DIR = (hour: number) => `raw/games/year=2025/month=06/day=01/hour=${hour}`;
const pad = (offset: number) => String(offset).padStart(20, '0');
const file = (hour: number, partition: number, first: number, last: number) => `${DIR(hour)}/games+${partition}+${pad(first)}+${pad(last)}.parquet`;

function record(offset: number, partition = 0, eventTimeMs = T10, value: Record<string, unknown> = {}): Envelope<unknown> {
  return envelopeOf({ event_id: `e${offset}`, score: offset, ...value }, { topic: 'games', partition, offset }, new CountingLease(), eventTimeMs);
}

const range = (from: number, to: number, partition = 0, eventTimeMs = T10) =>
  Array.from({ length: to - from + 1 }, (_, i) => record(from + i, partition, eventTimeMs));
const done = (batch: readonly Envelope<unknown>[]) => batch.map((e) => (e.lease as CountingLease).done);
const keys = (s3: FakeS3) => [...s3.objects.keys()].sort();

/** Sinks sharing one fake bucket: each is a fresh process as far as the sink knows. */
function bucket(options: Partial<S3ParquetSinkOptions> = {}) {
  const s3 = new FakeS3();
  const make = (more: Partial<S3ParquetSinkOptions> = {}) => {
    const { context, metrics, dead } = testContext();
    const warnings: string[] = [];
    const logger = pino({ level: 'warn' }, { write: (line: string) => void warnings.push(JSON.parse(line).msg) });
    const sink = s3ParquetSink({ id: 'to-s3', client: s3.client, bucket: 'lake', prefix: 'raw', encodeInWorker: false, ...options, ...more }, { ...context, logger });
    const skipped = () => metrics.value('duplicates_total', { step: 'to-s3' });
    return { sink, metrics, dead, skipped, warnings };
  };
  /** Another member (a sink of its own) writes `batch` to the same bucket and flushes it. */
  const writtenByAnother = async (batch: Envelope<unknown>[]) => {
    const other = make();
    await other.sink.write(batch);
    await other.sink.flush();
  };
  return { s3, make, writtenByAnother };
}

describe('DurableOffsets', () => {
  it('covers the union of the ranges, overlapping or adjacent ones included', () => {
    const offsets = new DurableOffsets([
      { first: 20, last: 29 },
      { first: 0, last: 3 },
      { first: 4, last: 5 },
      { first: 25, last: 40 },
      { first: 50, last: 50 },
    ]);
    const covered = Array.from({ length: 60 }, (_, o) => o).filter((o) => offsets.covers(o));
    expect(covered).toEqual([...Array.from({ length: 6 }, (_, o) => o), ...Array.from({ length: 21 }, (_, i) => 20 + i), 50]);
    expect(new DurableOffsets([]).covers(0)).toBe(false);
  });
});

describe('s3ParquetSink replay recovery', () => {
  it('skips replayed records that objects already hold, releasing their leases at once', async () => {
    const { s3, make } = bucket({ maxFileRows: 4 });
    const first = make();
    await first.sink.write(range(0, 9));
    await first.sink.close();
    expect(keys(s3)).toEqual([file(10, 0, 0, 3), file(10, 0, 4, 7), file(10, 0, 8, 9)]);

    const second = make();
    const replay = range(2, 12);
    await second.sink.write(replay);
    expect(done(replay)).toEqual([...Array(8).fill(true), false, false, false]);
    await second.sink.close();
    expect(done(replay).every(Boolean)).toBe(true);
    expect(second.skipped()).toBe(8);
    expect(second.metrics.value('sink_records_total', { step: 'to-s3' })).toBe(3);
    expect(keys(s3)).toEqual([file(10, 0, 0, 3), file(10, 0, 4, 7), file(10, 0, 8, 9), file(10, 0, 10, 12)]);
  });

  it('writes the records of a gap between objects (a file that never landed) under their own range', async () => {
    const { s3, make } = bucket({ maxFileRows: 4 });
    const first = make();
    await first.sink.write(range(0, 9));
    await first.sink.close();
    s3.objects.delete(file(10, 0, 4, 7));
    const second = make();
    await second.sink.write(range(0, 9));
    await second.sink.close();
    expect(second.skipped()).toBe(6);
    expect(keys(s3)).toEqual([file(10, 0, 0, 3), file(10, 0, 4, 7), file(10, 0, 8, 9)]);
  });

  it('lists each partition and hour once, page by page, and does not recognise older names', async () => {
    const { s3, make } = bucket();
    s3.pageSize = 1;
    const old = `${DIR(10)}/games+0+${pad(0)}.parquet`;
    s3.objects.set(old, new Uint8Array());
    s3.objects.set(file(10, 0, 1, 2), new Uint8Array());
    s3.objects.set(file(10, 0, 3, 3), new Uint8Array());
    s3.objects.set(file(10, 10, 0, 9), new Uint8Array()); // partition 10 is not partition 1 nor 0
    const { sink, skipped } = make();
    await sink.write([...range(0, 4), ...range(0, 1, 1), ...range(5, 5, 0, T10 + HOUR)]);
    await sink.write([...range(6, 7, 0, T10 + HOUR), ...range(2, 3, 1)]);
    await sink.close();
    // Three pages for partition 0 of hour 10, one for each other; none in the second write.
    expect([...s3.listed].sort()).toEqual([`${DIR(10)}/games+0+`, `${DIR(10)}/games+0+`, `${DIR(10)}/games+0+`, `${DIR(10)}/games+1+`, `${DIR(11)}/games+0+`]);
    expect(skipped()).toBe(3); // 1, 2 and 3; 0 only in an old-format name
    const written = [file(10, 0, 0, 4), file(10, 1, 0, 3), file(11, 0, 5, 7)];
    expect(keys(s3)).toEqual([old, file(10, 0, 1, 2), file(10, 0, 3, 3), file(10, 10, 0, 9), ...written].sort());
  });

  it('forgets a revoked partition: files another member wrote meanwhile are listed and skipped', async () => {
    const { s3, make, writtenByAnother } = bucket();
    const a = make();
    await a.sink.write([...range(0, 3), ...range(0, 3, 1)]);
    await a.sink.flush();
    // Partition 0 moves to another member, which writes 4..7 and dies before committing them.
    await writtenByAnother(range(4, 7));
    a.sink.partitionsRevoked?.([{ topic: 'games', partition: 0 }]);
    a.sink.partitionsAssigned?.([{ topic: 'games', partition: 0 }]); // and back to a
    const listings = s3.lists;
    const back = range(4, 9);
    await a.sink.write([...back, ...range(4, 5, 1)]);
    expect(s3.lists).toBe(listings + 1); // partition 0 again; partition 1 is still known
    expect(a.skipped()).toBe(4);
    await a.sink.close();
    expect(done(back).every(Boolean)).toBe(true);
    expect(keys(s3)).toEqual([file(10, 0, 0, 3), file(10, 0, 4, 7), file(10, 0, 8, 9), file(10, 1, 0, 3), file(10, 1, 4, 5)]);
  });

  it('keeps at most maxRecoveryEntries hours cached, listing an evicted one again', async () => {
    const { s3, make } = bucket({ maxRecoveryEntries: 2 });
    const { sink } = make();
    for (const [offset, hour] of [[0, 10], [1, 11], [2, 12], [3, 12], [4, 11], [5, 10]] as const) {
      await sink.write([record(offset, 0, T10 + (hour - 10) * HOUR)]);
    }
    await sink.close();
    expect(s3.listed.map((prefix) => prefix.slice(DIR(10).length - 2, DIR(10).length))).toEqual(['10', '11', '12', '10']);
  });

  it('retries a failed listing, and rejects the write with UnavailableError once S3 failed for the outage timeout, appending nothing', async () => {
    const { s3, make } = bucket({ retry: { baseDelayMs: 1, maxDelayMs: 2 }, unavailableTimeoutMs: 30 });
    s3.listFailures = 2;
    const ok = make();
    await ok.sink.write(range(0, 1));
    await ok.sink.close();
    expect(ok.metrics.value('sink_retries_total', { step: 'to-s3' })).toBe(2);

    s3.listFailures = 100_000;
    const failing = make();
    const batch = range(2, 3);
    const error = await failing.sink.write(batch).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UnavailableError);
    expect((error as Error).message).toMatch(/^s3 unavailable for 0 s, longer than its outage timeout; giving up: listing s3:\/\/lake: InternalError: injected listing failure/);
    expect(done(batch)).toEqual([false, false]);
    await failing.sink.close();
    expect(keys(s3)).toEqual([file(10, 0, 0, 1)]);
  });

  it('dead-letters a record that does not fit again on a replay, though it lies in an object’s range', async () => {
    const { s3, make } = bucket({ columns: [{ name: 'score', type: 'int64' }] });
    const batch = () => [record(0), record(1, 0, T10, { score: 'lots' }), record(2)];
    const first = make();
    await first.sink.write(batch());
    await first.sink.close();
    const second = make();
    await second.sink.write(batch());
    await second.sink.close();
    expect(second.dead.map((d) => d.envelope.meta.offset)).toEqual([1]);
    expect(second.skipped()).toBe(2);
    expect(keys(s3)).toEqual([file(10, 0, 0, 2)]);
  });

  it('keeps offset order when the runtime does not wait for one write before the next', async () => {
    const { s3, make } = bucket();
    const { sink } = make();
    await sink.write([record(0)]);
    // The first write waits for partition 1's listing; the second needs none and must still wait.
    await Promise.all([sink.write([record(0, 1), record(1)]), sink.write([record(2)])]);
    await sink.close();
    expect(keys(s3)).toEqual([file(10, 0, 0, 2), file(10, 1, 0, 0)]);
  });

  it('warns once per partition when offsets go back (recovery needs them in order), but not after a revocation', async () => {
    const { s3, make } = bucket();
    const { sink, warnings } = make();
    await sink.write([record(5), record(3), record(2), ...range(0, 3, 1)]);
    expect(warnings).toEqual(['records reach the Parquet sink out of offset order']);
    await sink.flush();
    // Partition 1 comes back from offset 1 after a revocation, and its object is gone.
    s3.objects.delete(file(10, 1, 0, 3));
    sink.partitionsRevoked?.([{ topic: 'games', partition: 1 }]);
    await sink.write(range(1, 2, 1));
    await sink.close();
    expect(warnings).toHaveLength(1);
  });
});

/** A lease whose partition can be revoked, as the runtime's record leases are. */
class PartitionLease extends CountingLease {
  readonly owner: { revoked: boolean };
  constructor(owner: { revoked: boolean }) {
    super();
    this.owner = owner;
  }
  get revoked(): boolean {
    return this.owner.revoked;
  }
}

describe('s3ParquetSink revocation', () => {
  it('does not list for records of a revoked partition, so files its next owner writes are skipped when it comes back', async () => {
    // The rebalance storm's duplicates: records read before a revocation reached the sink after it,
    // their listing was cached, and the partition's return replayed what another member had written.
    const { s3, make, writtenByAnother } = bucket();
    const a = make();
    const ownership = { revoked: false };
    const owned = (from: number, to: number) => range(from, to).map((e) => ({ ...e, lease: new PartitionLease(ownership) }));
    await a.sink.write(owned(0, 3));
    await a.sink.flush();
    ownership.revoked = true;
    a.sink.partitionsRevoked?.([{ topic: 'games', partition: 0 }]);
    const listings = s3.lists;
    const late = owned(4, 5);
    await a.sink.write(late);
    expect(s3.lists).toBe(listings);
    expect(done(late)).toEqual([true, true]);
    // Another member owns partition 0 now: it writes 4..7 and stops before committing them.
    await writtenByAnother(range(4, 7));
    // Back to a, read again from the commit (4).
    a.sink.partitionsAssigned?.([{ topic: 'games', partition: 0 }]);
    await a.sink.write(range(4, 9));
    await a.sink.close();
    expect(a.skipped()).toBe(4);
    expect(keys(s3)).toEqual([file(10, 0, 0, 3), file(10, 0, 4, 7), file(10, 0, 8, 9)]);
  });

  it('lists a partition afresh when it is assigned, whatever was cached before', async () => {
    const { s3, make, writtenByAnother } = bucket();
    const a = make();
    await a.sink.write(range(0, 3));
    await a.sink.flush();
    // Another member writes 4..7 while a still has the partition's listing cached (no revocation heard).
    await writtenByAnother(range(4, 7));
    a.sink.partitionsAssigned?.([{ topic: 'games', partition: 0 }]);
    await a.sink.write(range(4, 9));
    await a.sink.close();
    expect(keys(s3)).toEqual([file(10, 0, 0, 3), file(10, 0, 4, 7), file(10, 0, 8, 9)]);
  });

  it("drops a revoked partition's open files and its records still on their way, and writes it again once assigned", async () => {
    const { s3, make } = bucket();
    const { sink, metrics } = make();
    const ownership = { revoked: false };
    const owned = (from: number, to: number, partition: number, owner: { revoked: boolean }) =>
      range(from, to, partition).map((e) => ({ ...e, lease: new PartitionLease(owner) }));
    const held = owned(0, 4, 0, ownership);
    const other = range(0, 2, 1);
    await sink.write([...held, ...other]);
    expect(done(held)).toEqual([false, false, false, false, false]);
    ownership.revoked = true;
    sink.partitionsRevoked?.([{ topic: 'games', partition: 0 }]);
    // Let go unwritten: this member will not commit them; the next owner writes them from the last commit.
    expect(done(held)).toEqual([true, true, true, true, true]);
    const late = owned(5, 6, 0, ownership);
    await sink.write(late);
    expect(done(late)).toEqual([true, true]);
    expect(metrics.value('revoked_records_total', { step: 'to-s3' })).toBe(7);
    await sink.flush();
    expect(keys(s3)).toEqual([file(10, 1, 0, 2)]);
    // Assigned again: read again from the commit, under a new ownership.
    sink.partitionsAssigned?.([{ topic: 'games', partition: 0 }]);
    await sink.write(owned(0, 8, 0, { revoked: false }));
    await sink.close();
    expect(keys(s3)).toEqual([file(10, 0, 0, 8), file(10, 1, 0, 2)]);
  });
});
