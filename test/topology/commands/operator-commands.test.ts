import { describe, expect, it } from 'vitest';
import { main } from '../../../src/cli.ts';
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
});
