import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { main } from '../../../src/cli.ts';
import { loadTopologyFile } from '../../../src/topology/load.ts';
import { captureIo, FIXTURES } from './io.ts';

describe('tributary echo', () => {
  it('prints the topology as it runs: variables resolved, every default filled in', async () => {
    const io = captureIo({ BUCKET: 'shop-archive' });
    expect(await main(['echo', `${FIXTURES}/env.yaml`, '--env-file', `${FIXTURES}/shop.env`], io)).toBe(0);
    expect(io.err).toBe('');
    expect(io.out.split('\n').slice(0, 11)).toEqual([
      `# ${FIXTURES}/env.yaml as it runs: variables resolved, defaults filled in; durations in ms, sizes in bytes`,
      'name: shop',
      'sources:',
      '  - id: orders',
      '    topics:',
      '      - shop-orders',
      '    client: platformatic',
      '    group: shop',
      '    format: json',
      '    eventTime: kafka',
      '    startFrom: committed',
    ]);
    const echoed = parse(io.out) as { steps: Record<string, unknown>[]; sinks: Record<string, unknown>[] };
    expect(echoed.steps[1]).toEqual({ id: 'dedup', kind: 'dedup', from: ['parse'], key: ['event_id'], ttlMs: 3_600_000, maxKeys: 250_000, duplicates: 'drop' });
    expect(echoed.sinks[0]).toMatchObject({ table: 'dev_orders', ttl: { attribute: 'expires_at', afterMs: 604_800_000 } });
    expect(echoed.sinks[1]).toMatchObject({ bucket: 'shop-archive', compression: 'snappy' });
  });

  it('holds exactly the validated topology (inputs as written)', async () => {
    const io = captureIo();
    expect(await main(['echo', 'topologies/game-events.yaml'], io)).toBe(0);
    const topology = JSON.parse(JSON.stringify(await loadTopologyFile('topologies/game-events.yaml', { env: {} })));
    for (const item of [...topology.steps, ...topology.sinks]) item.from = item.from.map((input: { ref: string }) => input.ref);
    expect(parse(io.out)).toEqual(topology);
  });

  it('prints the problems of an invalid topology instead, exit 1', async () => {
    const io = captureIo();
    expect(await main(['echo', `${FIXTURES}/env.yaml`], io)).toBe(1);
    expect(io.out).toBe('');
    expect(io.err).toContain(`${FIXTURES}/env.yaml:4:14: /sources/orders/topics/0: environment variable ORDERS_TOPIC is not set`);
  });
});
