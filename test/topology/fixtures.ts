import type { TopologySpec } from '../../src/topology/spec.ts';

/** A small valid spec that tests break one piece at a time. */
export function shopSpec(): TopologySpec & Record<string, unknown> {
  return {
    name: 'shop',
    sources: [{ id: 'tx', topics: ['transaction-events'] }],
    steps: [
      { id: 'parse', kind: 'parse', from: 'tx' },
      { id: 'purchases', kind: 'filter', from: 'parse', when: "event_type == 'purchase'" },
      { id: 'minute', kind: 'window', from: 'purchases', window: { type: 'tumbling', size: '1m' }, key: 'user_id', aggregate: { n: { fn: 'count' } } },
      { id: 'fraud-velocity', kind: 'fraud', pattern: 'velocity', from: 'purchases', threshold: 5, within: '60s' },
    ],
    sinks: [
      { id: 'alerts', kind: 'kafka', from: 'fraud-velocity', topic: 'fraud-alerts' },
      { id: 'counts', kind: 'dynamodb', from: 'minute', table: 'counts', partitionKey: { name: 'user_id', value: '{key}' } },
    ],
  };
}

type Item = Record<string, unknown>;

/** A deep copy of `shopSpec()` with `change` applied to the item (source, step or sink) with id `id`. */
export function shopWith(id: string, change: (item: Item) => void): Record<string, unknown> {
  const spec = structuredClone(shopSpec()) as unknown as Record<string, Item[]>;
  const item = [...(spec.sources ?? []), ...(spec.steps ?? []), ...(spec.sinks ?? [])].find((i) => i.id === id);
  if (!item) throw new Error(`no item ${id}`);
  change(item);
  return spec;
}
