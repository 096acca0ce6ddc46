import { describe, expect, it } from 'vitest';
import { main } from '../../../src/cli.ts';
import { connectingEnv } from '../../../src/topology/commands/command.ts';
import { captureIo } from './io.ts';

describe('the operator commands on the command line', () => {
  it.each([
    [['backfill', 'topologies/game-events.yaml', '--from', '2026-12-03T10'], /^--from and --to are required\n\nUsage: tributary backfill/],
    [['reconcile', 'topologies/game-events.yaml'], /^missing --hour\n\nUsage: tributary reconcile/],
    [['redrive'], /^missing topology file\n\nUsage: tributary redrive/],
    [['redrive', 'topologies/game-events.yaml', '--colour', 'red'], /^Unknown option '--colour'.*\n\nUsage: tributary redrive/s],
  ])('%j is a usage error (exit 2) that prints the help', async (argv, message) => {
    const io = captureIo();
    expect(await main(argv, io)).toBe(2);
    expect(io.err).toMatch(message);
  });

  it('lists backfill, reconcile and redrive in the help, each with its own', async () => {
    const io = captureIo();
    expect(await main(['help'], io)).toBe(0);
    for (const name of ['backfill', 'reconcile', 'redrive']) expect(io.out).toMatch(new RegExp(`^  ${name} `, 'm'));
    const help = captureIo();
    expect(await main(['reconcile', '--help'], help)).toBe(0);
    expect(help.out).toMatch(/^Usage: tributary reconcile <topology> --hour <YYYY-MM-DDTHH>/);
  });

  // Regression: these three read connectionsFromEnv directly, which takes a missing TRIBUTARY_BROKERS for local mode.
  it.each([
    ['backfill', 'topologies/game-events.yaml', '--from', '2026-12-03T10', '--to', '2026-12-03T11'],
    ['reconcile', 'topologies/game-events.yaml', '--hour', '2026-12-03T10'],
    ['redrive', 'topologies/game-events.yaml', '--dry-run'],
    ['provision', 'topologies/game-events.yaml', '--dry-run'],
  ])('%s refuses to start without TRIBUTARY_BROKERS unless local mode is asked for (exit 1, nothing connected)', async (...argv) => {
    const io = captureIo({});
    expect(await main(argv, io)).toBe(1);
    expect(io.err).toMatch(/^TRIBUTARY_BROKERS: required .*set TRIBUTARY_LOCAL=1 or pass --local/m);
    expect(io.out).toBe('');
  });

  it('local mode comes from --local or TRIBUTARY_LOCAL (any spelling parseSettings accepts); other problems are refused too', () => {
    const io = captureIo({});
    expect(connectingEnv(io, true)).toEqual({ TRIBUTARY_LOCAL: '1' });
    expect(connectingEnv(captureIo({ TRIBUTARY_LOCAL: 'yes' }))).toEqual({ TRIBUTARY_LOCAL: 'yes' });
    expect(connectingEnv(captureIo({ TRIBUTARY_BROKERS: 'b-1:9096' }))).toEqual({ TRIBUTARY_BROKERS: 'b-1:9096' });
    const typo = captureIo({ TRIBUTARY_BROKERS: 'b-1:9096', TRIBUTARY_BROKER: 'x' });
    expect(connectingEnv(typo)).toBeUndefined();
    expect(typo.err).toMatch(/TRIBUTARY_BROKER: not a Tributary setting; did you mean TRIBUTARY_BROKERS\?/);
    expect(io.err).toBe('');
  });

  it('lists --local in the help of every command that connects', async () => {
    for (const name of ['backfill', 'reconcile', 'redrive', 'provision', 'run']) {
      const help = captureIo();
      expect(await main([name, '--help'], help)).toBe(0);
      expect(help.out, name).toMatch(/^Usage: tributary .*\[--local\]/);
    }
  });
});
