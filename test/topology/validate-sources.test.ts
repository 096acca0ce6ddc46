import { describe, expect, it } from 'vitest';
import { checkTopology } from '../../src/topology/validate.ts';
import { shopSpec } from './fixtures.ts';

/** The shop topology with a second source `more` (parsed too) on `topics`, with `extra` fields. */
function twoSources(extra: Record<string, unknown>, topics: string[] = ['more-events']): Record<string, unknown> {
  const spec = structuredClone(shopSpec()) as unknown as { sources: Record<string, unknown>[]; steps: Record<string, unknown>[] };
  spec.sources = [{ ...spec.sources[0], group: 'shop' }, { id: 'more', topics, group: 'shop', ...extra }];
  spec.steps[0] = { ...spec.steps[0], from: ['tx', 'more'] };
  return spec;
}

const messages = (spec: unknown, options: { env?: Record<string, string>; skipUnsetEnv?: boolean } = {}) =>
  checkTopology(spec, { env: {}, ...options }).problems.map((p) => `${p.path}: ${p.message}`);

describe('validateTopology: sources read by one consumer', () => {
  it('accepts sources that share group, client and startFrom', () => {
    expect(messages(twoSources({}))).toEqual([]);
  });

  it('refuses sources that disagree on group, client or startFrom, naming the path (run would refuse them)', () => {
    expect(messages(twoSources({ group: 'other', client: 'kafkajs', startFrom: 'latest' }))).toEqual([
      '/sources/more/group: every source is read by one consumer group; "other" differs from "shop" of source "tx"',
      '/sources/more/client: every source is read by one client; "kafkajs" differs from "platformatic" of source "tx"',
      '/sources/more/startFrom: every source starts alike; "latest" differs from "committed" of source "tx"',
    ]);
  });

  it('refuses default groups that differ (the default names the source)', () => {
    const spec = twoSources({});
    (spec.sources as Record<string, unknown>[]).forEach((s) => delete s.group);
    expect(messages(spec)).toEqual(['/sources/more/group: every source is read by one consumer group; "tributary-shop-more" differs from "tributary-shop-tx" of source "tx"']);
  });

  it('refuses a topic read by two sources', () => {
    expect(messages(twoSources({}, ['more-events', 'transaction-events']))).toEqual(['/sources/more/topics/1: topic "transaction-events" is already read by source "tx"']);
  });

  it('compares what is known only: an unset variable under skipUnsetEnv is neither a problem nor a disagreement', () => {
    const spec = twoSources({ group: '${GROUP}' });
    expect(messages(spec)).toEqual(['/sources/more/group: environment variable GROUP is not set (write ${GROUP:-default} to give a default)']);
    expect(messages(spec, { skipUnsetEnv: true })).toEqual([]);
    expect(messages(spec, { env: { GROUP: 'x' }, skipUnsetEnv: true })).toEqual(['/sources/more/group: every source is read by one consumer group; "x" differs from "shop" of source "tx"']);
  });
});
