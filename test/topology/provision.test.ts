import { describe, expect, it } from 'vitest';
import { bucketsOf, tablesOf, topicsOf } from '../../src/topology/provision.ts';
import { validateTopology } from '../../src/topology/validate.ts';
import { shopSpec } from './fixtures.ts';

describe('what provisioning covers', () => {
  it('lists a table several sinks write once, with the TTL one of them sets', () => {
    const spec = structuredClone(shopSpec()) as unknown as { sinks: Record<string, unknown>[] };
    const key = { name: 'user_id', value: '{key}' };
    spec.sinks.push(
      { id: 'counts-again', kind: 'dynamodb', from: 'minute', table: 'counts', partitionKey: key, ttl: { attribute: 'expires_at', after: '1d' } },
      { id: 'cold', kind: 's3-parquet', from: 'purchases', bucket: 'shop-cold' },
      { id: 'raw', kind: 's3-raw', from: 'tx', bucket: 'shop-cold' },
    );
    const topology = validateTopology(spec, { env: {} });
    expect(tablesOf(topology)).toEqual([{ table: 'counts', partitionKey: { name: 'user_id', type: 'string' }, ttlAttribute: 'expires_at' }]);
    expect(bucketsOf(topology)).toEqual(['shop-cold']);
    expect(topicsOf(topology)).toEqual(['transaction-events', 'fraud-alerts', 'tributary-dead-letters']);
  });
});
