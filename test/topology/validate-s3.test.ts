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
