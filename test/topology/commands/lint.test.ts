import { describe, expect, it } from 'vitest';
import { main } from '../../../src/cli.ts';
import { loadTopologyFile } from '../../../src/topology/load.ts';
import { captureIo, FIXTURES } from './io.ts';

/** The summary line of the default topology, whatever its size today. */
const gameEvents = await loadTopologyFile('topologies/game-events.yaml', { env: {} });
const GAME_EVENTS = `topologies/game-events.yaml: valid topology "game-events": ${gameEvents.sources.length} sources, ${gameEvents.steps.length} steps, ${gameEvents.sinks.length} sinks`;

const lint = async (args: string[], env: NodeJS.ProcessEnv = {}) => {
  const io = captureIo(env);
  const code = await main(['lint', ...args], io);
  return { code, out: io.out, err: io.err.split('\n').filter(Boolean) };
};

describe('tributary lint', () => {
  it('prints every problem as file:line:col: path: message, at the offending value, and exits 1', async () => {
    const f = `${FIXTURES}/broken.yaml`;
    expect(await lint([f])).toEqual({
      code: 1,
      out: '',
      err: [
        `${f}:8:23: /sources/refunds/topics/1: topic "orders" is already read by source "orders"`,
        `${f}:9:12: /sources/refunds/group: every source is read by one consumer group; "shop-refunds" differs from "shop" of source "orders"`,
        `${f}:10:16: /sources/refunds/startFrom: every source starts alike; "latest" differs from "committed" of source "orders"`,
        `${f}:19:13: /steps/big/colour: unknown key (allowed: id, kind, from, when)`,
        `${f}:23:37: /steps/per-minute/window/size: must be a duration like "60s"`,
        `${f}:28:11: /sinks/alerts/from: unknown name "per-minut" (did you mean "per-minute"?)`,
        `${f}:29:12: /sinks/alerts/topic: environment variable ALERTS_TOPIC is not set (write \${ALERTS_TOPIC:-default} to give a default)`,
      ],
    });
  });

  it('reports a YAML syntax error once, with its line and column, not a cascade', async () => {
    const f = `${FIXTURES}/syntax.yaml`;
    const { code, err } = await lint([f]);
    expect(code).toBe(1);
    expect(err).toEqual([`${f}:5:1: invalid YAML: Flow sequence in block collection must be sufficiently indented and end with a ]`]);
  });

  it('places JSON problems and JSON syntax errors on line and column', async () => {
    expect((await lint([`${FIXTURES}/bad.json`])).err).toEqual([`${FIXTURES}/bad.json:4:72: /sinks/out/topic: must be a Kafka topic name (letters, digits, ".", "_" and "-") (got "bad topic")`]);
    expect((await lint([`${FIXTURES}/syntax.json`])).err).toEqual([`${FIXTURES}/syntax.json:4:22: invalid JSON: Expected ',' or '}' after property value`]);
  });

  it('warns of a step whose output nobody reads and a route output never read: exit 0, or 1 with --strict', async () => {
    const f = `${FIXTURES}/warnings.yaml`;
    const warnings = [
      `${f}:14:19: warning: /steps/by-kind/routes/1/output: route output "small" is never read (no from: by-kind.small)`,
      `${f}:15:5: warning: /steps/unused: nobody reads the output of step "unused" (no step or sink has from: unused)`,
    ];
    expect(await lint([f])).toEqual({ code: 0, out: `${f}: valid topology "shop": 1 source, 3 steps, 1 sink, 2 warnings\n`, err: warnings });
    expect(await lint(['--strict', f])).toMatchObject({ code: 1, err: warnings });
  });

  it('has no warning for the default topology', async () => {
    expect(await lint(['topologies/game-events.yaml'])).toEqual({ code: 0, out: `${GAME_EVENTS}\n`, err: [] });
  });

  it('reads ${NAME} values from --env-file, or lets unset ones pass with --skip-env-check', async () => {
    const f = `${FIXTURES}/env.yaml`;
    const bare = await lint([f]);
    expect(bare.code).toBe(1);
    expect(bare.err).toEqual([
      `${f}:4:14: /sources/orders/topics/0: environment variable ORDERS_TOPIC is not set (write \${ORDERS_TOPIC:-default} to give a default)`,
      `${f}:17:12: /sinks/counts/table: environment variable TABLE_PREFIX is not set (write \${TABLE_PREFIX:-default} to give a default)`,
    ]);
    expect(await lint([f, '--env-file', `${FIXTURES}/shop.env`])).toMatchObject({ code: 0, err: [] });
    expect(await lint([f, '--skip-env-check'])).toMatchObject({ code: 0, err: [] });
    // The environment still counts: one variable from it, the other unset.
    expect((await lint([f], { ORDERS_TOPIC: 'o' })).err).toHaveLength(1);
    // --skip-env-check does not hide a value that is set and wrong.
    expect((await lint([f, '--skip-env-check'], { ORDERS_TOPIC: 'not a topic' })).err).toEqual([
      `${f}:4:14: /sources/orders/topics/0: must be a Kafka topic name (letters, digits, ".", "_" and "-") (got "not a topic")`,
    ]);
  });

  it('checks several files and globs, exit 1 if any has an error', async () => {
    const result = await lint([`${FIXTURES}/*.yaml`, 'topologies/game-events.yaml', '--skip-env-check']);
    expect(result.code).toBe(1);
    expect(result.out.split('\n').filter(Boolean)).toEqual([
      `${FIXTURES}/env.yaml: valid topology "shop": 1 source, 2 steps, 2 sinks`,
      `${FIXTURES}/warnings.yaml: valid topology "shop": 1 source, 3 steps, 1 sink, 2 warnings`,
      GAME_EVENTS,
    ]);
    expect(new Set(result.err.map((l) => l.split(':')[0]))).toEqual(new Set([`${FIXTURES}/broken.yaml`, `${FIXTURES}/syntax.yaml`, `${FIXTURES}/warnings.yaml`]));
    // Topology test cases beside the topologies are left out of globs, not out of explicit paths.
    expect(await lint(['topologies/*.yaml'])).toEqual({ code: 0, out: `${GAME_EVENTS}\n`, err: [] });
    expect((await lint(['topologies/game-events.test.yaml'])).code).toBe(1);
    expect(await lint([`${FIXTURES}/none-*.yaml`])).toEqual({ code: 1, out: '', err: [`${FIXTURES}/none-*.yaml: no files match`] });
    expect(await lint([`${FIXTURES}/missing.yaml`])).toMatchObject({ code: 1, err: [expect.stringMatching(/^test\/topology\/commands\/fixtures\/missing.yaml: cannot read /)] });
  });

  it('is also called validate, and refuses a call without files (exit 2, with its help)', async () => {
    const io = captureIo();
    expect(await main(['validate', 'topologies/game-events.yaml'], io)).toBe(0);
    expect(io.out).toBe(`${GAME_EVENTS}\n`);
    const usage = await lint([]);
    expect(usage.code).toBe(2);
    expect(usage.err.slice(0, 2)).toEqual(['missing topology files', 'Usage: tributary lint <files or globs...> [--strict] [--env-file <file>] [--skip-env-check]']);
    expect((await lint(['--frobnicate', 'x.yaml'])).code).toBe(2);
  });

  it('refuses before connecting what run would refuse: run on the same file exits 1 with the same lines', async () => {
    const io = captureIo({ TRIBUTARY_LOCAL: '1' });
    expect(await main(['run', `${FIXTURES}/broken.yaml`], io)).toBe(1);
    expect(io.err.split('\n').filter(Boolean)).toEqual((await lint([`${FIXTURES}/broken.yaml`])).err);
  });
});
