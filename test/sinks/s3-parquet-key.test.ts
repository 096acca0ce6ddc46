import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/core/errors.ts';
import { directoryPrefix, hourPartitioner, MISSING_PARTITION, objectKey, parseRange, partitionDirectories, partitionPrefix, partitionValue, rangeKey } from '../../src/sinks/s3-parquet-key.ts';

describe('hourPartitioner', () => {
  it('partitions by UTC hour by default', () => {
    const hourOf = hourPartitioner();
    expect(hourOf(Date.UTC(2025, 0, 2, 3, 59, 59, 999))).toBe('year=2025/month=01/day=02/hour=03');
    expect(hourOf(Date.UTC(2025, 11, 31, 23, 0))).toBe('year=2025/month=12/day=31/hour=23');
    expect(hourOf(Date.UTC(2025, 0, 2, 4))).toBe('year=2025/month=01/day=02/hour=04');
    expect(hourOf(Date.UTC(2025, 0, 2, 3, 0))).toBe('year=2025/month=01/day=02/hour=03');
    expect(hourOf(Date.UTC(1969, 11, 31, 23, 30))).toBe('year=1969/month=12/day=31/hour=23');
  });

  it('uses the local date and hour of an IANA zone, half-hour offsets included', () => {
    const kolkata = hourPartitioner('Asia/Kolkata');
    expect(kolkata(Date.UTC(2025, 11, 31, 18, 29))).toBe('year=2025/month=12/day=31/hour=23');
    expect(kolkata(Date.UTC(2025, 11, 31, 18, 30))).toBe('year=2026/month=01/day=01/hour=00');
    // Cached per quarter hour: asking again gives the same answer.
    expect(kolkata(Date.UTC(2025, 11, 31, 18, 44))).toBe('year=2026/month=01/day=01/hour=00');
  });

  it('follows daylight saving time', () => {
    const newYork = hourPartitioner('America/New_York');
    // 2025-11-02: 01:00-02:00 happens twice (EDT, then EST).
    expect(newYork(Date.UTC(2025, 10, 2, 5, 30))).toBe('year=2025/month=11/day=02/hour=01');
    expect(newYork(Date.UTC(2025, 10, 2, 6, 30))).toBe('year=2025/month=11/day=02/hour=01');
    expect(newYork(Date.UTC(2025, 10, 2, 7, 30))).toBe('year=2025/month=11/day=02/hour=02');
    expect(newYork(Date.UTC(2025, 6, 1, 12))).toBe('year=2025/month=07/day=01/hour=08');
  });

  it('refuses an unknown zone with a ConfigError naming the step', () => {
    expect(() => hourPartitioner('Nowhere/Land', 'to-s3')).toThrow(ConfigError);
    expect(() => hourPartitioner('Nowhere/Land', 'to-s3')).toThrow(/timeZone 'Nowhere\/Land'/);
  });
});

describe('objectKey', () => {
  const hour = 'year=2025/month=06/day=01/hour=10';
  it('names first and last offset, zero-padded to 20 digits, under prefix/topic/hour', () => {
    expect(objectKey('lake/raw', 'games', hour, 3, 1234, 1300)).toBe(
      `lake/raw/games/${hour}/games+3+00000000000000001234+00000000000000001300.parquet`,
    );
    expect(objectKey('/lake/', 'games', hour, 0, 0, 0)).toBe(`lake/games/${hour}/games+0+00000000000000000000+00000000000000000000.parquet`);
    expect(objectKey('', 'games', hour, 0, 7, 2 ** 53 - 1)).toBe(`games/${hour}/games+0+00000000000000000007+00009007199254740991.parquet`);
  });
});

describe('partitionPrefix and parseRange', () => {
  const hour = 'year=2025/month=06/day=01/hour=10';
  const prefix = partitionPrefix('/raw/', 'games', hour, 1);

  it('lists one partition of one hour: the prefix ends with the partition and a +', () => {
    expect(prefix).toBe(`raw/games/${hour}/games+1+`);
    expect(objectKey('raw', 'games', hour, 1, 5, 9).startsWith(prefix)).toBe(true);
    expect(objectKey('raw', 'games', hour, 10, 5, 9).startsWith(prefix)).toBe(false);
    expect(partitionPrefix('', 'games', hour, 0)).toBe(`games/${hour}/games+0+`);
  });

  it('reads back the offsets objectKey wrote', () => {
    expect(parseRange(objectKey('raw', 'games', hour, 1, 5, 9), prefix)).toEqual({ first: 5, last: 9 });
    expect(parseRange(objectKey('raw', 'games', hour, 1, 2 ** 53 - 2, 2 ** 53 - 1), prefix)).toEqual({ first: 2 ** 53 - 2, last: 2 ** 53 - 1 });
  });

  it('ignores every other name, the older first-offset-only names included', () => {
    const pad = (n: number) => String(n).padStart(20, '0');
    for (const name of [
      `games+1+${pad(5)}.parquet`, // the name before last offsets were added
      `games+1+${pad(9)}+${pad(5)}.parquet`, // last before first
      `games+1+${pad(5)}+${pad(9)}.parquet.tmp`,
      `games+1+5+9.parquet`,
      `games+1+${pad(5)}+99999999999999999999.parquet`, // past 2^53
    ]) {
      expect(parseRange(`raw/games/${hour}/${name}`, prefix)).toBeUndefined();
    }
    expect(parseRange(objectKey('raw', 'games', hour, 2, 5, 9), prefix)).toBeUndefined();
  });
});

describe('partitionValue and partitionDirectories', () => {
  it('keeps safe values, escapes the rest as Hive does, and names a missing value', () => {
    expect(partitionValue('ios')).toBe('ios');
    expect(partitionValue('v1.2-beta_3')).toBe('v1.2-beta_3');
    expect(partitionValue('a/b c')).toBe('a%2Fb%20c');
    expect(partitionValue('é')).toBe('%C3%A9');
    expect(partitionValue('.')).toBe('%2E');
    expect(partitionValue(42)).toBe('42');
    expect(partitionValue(false)).toBe('false');
    for (const missing of [undefined, null, '']) expect(partitionValue(missing)).toBe(MISSING_PARTITION);
  });

  it('bounds long values and keeps distinct long values apart', () => {
    const a = partitionValue('x'.repeat(300) + 'a');
    const b = partitionValue('x'.repeat(300) + 'b');
    expect(a.length).toBeLessThanOrEqual(128);
    expect(a).not.toBe(b);
  });

  it('builds one directory per field, in order', () => {
    expect(partitionDirectories([])({ platform: 'ios' })).toBe('');
    expect(partitionDirectories(['platform', 'event_data.game_id'])({ platform: 'ios', event_data: { game_id: 'g/1' } })).toBe('platform=ios/event_data_game_id=g%2F1/');
  });

  it('names objects by directory and reads their range back, other extensions ignored', () => {
    const keyPrefix = directoryPrefix('raw/', 'games/platform=ios/year=2025/month=06/day=01/hour=10', 'games', 2);
    expect(keyPrefix).toBe('raw/games/platform=ios/year=2025/month=06/day=01/hour=10/games+2+');
    const key = rangeKey(keyPrefix, 5, 9, '.jsonl.gz');
    expect(parseRange(key, keyPrefix, '.jsonl.gz')).toEqual({ first: 5, last: 9 });
    expect(parseRange(key, keyPrefix)).toBeUndefined();
  });
});
