import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/core/errors.ts';
import { CountingLease, envelopeOf, type Envelope } from '../../src/core/envelope.ts';
import { s3ParquetSink, type S3ParquetSinkOptions } from '../../src/sinks/s3-parquet.ts';
import { testContext } from '../support/sink-context.ts';
import { FakeS3 } from './s3-parquet-fake.ts';

const T10 = Date.UTC(2025, 5, 1, 10, 5);
const HOUR = 'year=2025/month=06/day=01/hour=10';
const pad = (offset: number) => String(offset).padStart(20, '0');
const file = (platform: string, first: number, last: number, partition = 0) =>
  `raw/games/platform=${platform}/${HOUR}/games+${partition}+${pad(first)}+${pad(last)}.parquet`;

/** Offsets 0, 1, 2… of partition 0; `platforms[offset]` is each record's platform (undefined: none). */
function records(platforms: readonly (string | undefined)[], from: number, to: number): Envelope<unknown>[] {
  const out: Envelope<unknown>[] = [];
  for (let offset = from; offset <= to; offset++) {
    const platform = platforms[offset];
    const value = { event_id: `e${offset}`, ...(platform === undefined ? {} : { platform }) };
    out.push(envelopeOf(value, { topic: 'games', partition: 0, offset }, new CountingLease(), T10));
  }
  return out;
}

function bucket(options: Partial<S3ParquetSinkOptions> = {}) {
  const s3 = new FakeS3();
  const make = () => {
    const { context, metrics } = testContext();
    const sink = s3ParquetSink({ id: 'to-s3', client: s3.client, bucket: 'lake', prefix: 'raw', encodeInWorker: false, partitionBy: ['platform'], ...options }, context);
    return {
      sink,
      skipped: () => metrics.value('duplicates_total', { step: 'to-s3' }),
      written: () => metrics.value('sink_records_total', { step: 'to-s3' }),
    };
  };
  return { s3, make, keys: () => [...s3.objects.keys()].sort() };
}

describe('s3ParquetSink partitionBy', () => {
  const platforms = ['ios', 'android', 'ios', 'ios', 'android', undefined, 'ios', 'android', 'web', 'ios'];

  it('writes one object per partition value and hour, Hive style, a missing value under __missing__', async () => {
    const { make, keys } = bucket();
    const { sink } = make();
    await sink.write(records(platforms, 0, 9));
    await sink.close();
    expect(keys()).toEqual(
      [file('ios', 0, 9), file('android', 1, 7), file('__missing__', 5, 5), file('web', 8, 8)].sort(),
    );
  });

  it('makes values safe for keys, and keeps nested fields apart by their flattened name', async () => {
    const { make, keys } = bucket({ partitionBy: ['platform', 'event_data.game_id'] });
    const { sink } = make();
    const value = (platform: unknown, game: unknown) => ({ event_id: 'x', platform, event_data: { game_id: game } });
    await sink.write([
      envelopeOf(value('Android TV/beta', 'g1'), { topic: 'games', offset: 0 }, new CountingLease(), T10),
      envelopeOf(value('..', 7), { topic: 'games', offset: 1 }, new CountingLease(), T10),
      envelopeOf(value('', null), { topic: 'games', offset: 2 }, new CountingLease(), T10),
    ]);
    await sink.close();
    const dirs = keys().map((k) => k.slice('raw/games/'.length, k.indexOf('/year=')));
    expect(dirs.sort()).toEqual(['Android%20TV%2Fbeta/event_data_game_id=g1', '%2E%2E/event_data_game_id=7', '__missing__/event_data_game_id=__missing__'].map((d) => `platform=${d}`).sort());
  });

  it('replayed from an earlier offset, writes each record once, a directory first seen late included', async () => {
    const { make, keys, s3 } = bucket({ maxFileRows: 2 });
    const first = make();
    await first.sink.write(records(platforms, 0, 6));
    await first.sink.close();
    const before = keys();
    // The android file holding offsets 1 and 4 never landed (the crash came between two uploads).
    expect(before).toContain(file('android', 1, 4));
    s3.objects.delete(file('android', 1, 4));

    // Replay from offset 2: the android directory's first record (4) comes after ios records.
    const second = make();
    const replay = records(platforms, 2, 9);
    await second.sink.write(replay);
    await second.sink.close();
    expect(replay.every((e) => (e.lease as CountingLease).done)).toBe(true);
    // Durable before: 2, 3, 5, 6 (ios 2-3 and 6 in files, __missing__ 5); written again: 4; new: 7-9.
    expect(second.skipped()).toBe(4);
    expect(second.written()).toBe(4);
    const added = keys().filter((k) => !before.includes(k));
    expect(added.sort()).toEqual([file('android', 4, 7), file('web', 8, 8), file('ios', 9, 9)].sort());
  });

  it('refuses a partitionBy that is not a list of distinct field paths', () => {
    const { s3 } = bucket();
    const make = (partitionBy: string[]) => () => s3ParquetSink({ id: 'to-s3', client: s3.client, bucket: 'lake', partitionBy }, testContext().context);
    expect(make(['platform', 'platform'])).toThrow(ConfigError);
    expect(make(['plat form'])).toThrow(/partitionBy: "plat form"/);
    expect(make(['a.b', 'a_b'])).toThrow(/twice/);
  });
});
