import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/core/errors.ts';
import { validateTopology } from '../../src/topology/validate.ts';
import { shopWith } from './fixtures.ts';

const problems = (spec: unknown) => {
  try {
    validateTopology(spec, { env: {} });
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).problems;
  }
  return [];
};

/** The shop fixture with its `alerts` sink turned into an S3 Parquet sink with `more`. */
const parquet = (more: Record<string, unknown>) =>
  shopWith('alerts', (s) => {
    Object.assign(s, { kind: 's3-parquet', bucket: 'events', ...more });
    delete s.topic;
  });

describe('s3-parquet partitionBy in a topology', () => {
  it('takes one field or a list, and defaults to none', () => {
    expect(validateTopology(parquet({}), { env: {} }).sinks[0]).toMatchObject({ partitionBy: [] });
    expect(validateTopology(parquet({ partitionBy: 'platform' }), { env: {} }).sinks[0]).toMatchObject({ partitionBy: ['platform'] });
    expect(validateTopology(parquet({ partitionBy: ['platform', 'event_data.game_id'] }), { env: {} }).sinks[0]).toMatchObject({
      partitionBy: ['platform', 'event_data.game_id'],
    });
  });

  it('refuses what is not a field path, and a field listed twice, naming the path', () => {
    expect(problems(parquet({ partitionBy: ['plat form'] }))).toEqual(['/sinks/alerts/partitionBy/0: must be a field path like "event_data.amount" (got "plat form")']);
    expect(problems(parquet({ partitionBy: ['a.b', 'a_b'] }))).toEqual(['/sinks/alerts/partitionBy: lists a field twice (directory names: a_b, a_b)']);
  });
});

/** The shop fixture with its `alerts` sink turned into an s3-raw sink with `more`. */
const raw = (more: Record<string, unknown>) =>
  shopWith('alerts', (s) => {
    Object.assign(s, { kind: 's3-raw', bucket: 'events', from: 'tx', ...more });
    delete s.topic;
  });

describe('s3-raw sink in a topology', () => {
  it('reads a source, with defaults for prefix, format, compression, layout and rotation', () => {
    expect(validateTopology(raw({}), { env: {} }).sinks[0]).toEqual({
      id: 'alerts',
      kind: 's3-raw',
      from: [{ id: 'tx', ref: 'tx' }],
      bucket: 'events',
      prefix: 'raw',
      format: 'record',
      compression: 'gzip',
      layout: 'source',
      rotation: { rows: 100_000, bytes: 64 * 1024 * 1024, intervalMs: 300_000 },
      timeZone: 'UTC',
    });
    expect(validateTopology(raw({ layout: 'dead-letters', compression: 'zstd', rotation: { rows: 10, interval: '1m' } }), { env: {} }).sinks[0]).toMatchObject({
      prefix: 'errors',
      compression: 'zstd',
      rotation: { rows: 10, intervalMs: 60_000 },
    });
  });

  it('refuses a step as input, a bare-value dead-letter archive and unknown options, naming the path', () => {
    expect(problems(raw({ from: 'parse' }))).toEqual(['/sinks/alerts/from: an s3-raw sink reads sources only, the records as they came ("parse" is a step)']);
    expect(problems(raw({ layout: 'dead-letters', format: 'value' }))).toEqual(['/sinks/alerts/format: must be record with layout dead-letters (it keeps the headers)']);
    expect(problems(raw({ compression: 'lz4' }))[0]).toMatch(/^\/sinks\/alerts\/compression: must be one of/);
    expect(problems(raw({ partitionBy: ['platform'] }))[0]).toMatch(/^\/sinks\/alerts\/partitionBy: unknown key/);
  });
});
