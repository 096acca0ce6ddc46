import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { main } from '../../../src/cli.ts';
import { COMMANDS } from '../../../src/topology/commands/index.ts';
import { captureIo } from './io.ts';

const run = async (argv: string[]) => {
  const io = captureIo();
  return { code: await main(argv, io), out: io.out, err: io.err };
};

describe('tributary: the dispatcher', () => {
  it('lists every command with its summary, on help (exit 0) and without a command (exit 2)', async () => {
    const help = await run(['help']);
    expect(help.code).toBe(0);
    for (const command of COMMANDS) expect(help.out).toMatch(new RegExp(`^  ${command.name} +${command.summary.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`, 'm'));
    expect(await run(['--help'])).toEqual(help);
    expect(await run([])).toEqual({ code: 2, out: '', err: help.out });
  });

  it('prints a command\'s own help for help <command> and <command> --help', async () => {
    for (const command of COMMANDS) {
      const expected = { code: 0, out: `${command.help}\n`, err: '' };
      expect(await run(['help', command.name])).toEqual(expected);
      expect(await run([command.name, '--help'])).toEqual(expected);
      expect(command.help).toMatch(new RegExp(`^Usage: tributary ${command.name} `));
    }
    expect(await run(['help', 'validate'])).toEqual(await run(['help', 'lint']));
  });

  it('prints the package version', async () => {
    const { version } = JSON.parse(readFileSync('package.json', 'utf8')) as { version: string };
    expect(await run(['--version'])).toEqual({ code: 0, out: `tributary ${version}\n`, err: '' });
  });

  it('refuses an unknown command, or help for one, with exit 2', async () => {
    expect(await run(['frobnicate'])).toMatchObject({ code: 2, err: expect.stringMatching(/^unknown command "frobnicate"\n\nUsage: tributary <command>/) });
    expect(await run(['help', 'frobnicate'])).toMatchObject({ code: 2, err: expect.stringMatching(/^unknown command "frobnicate"/) });
  });

  it('refuses extra or missing arguments with the command\'s help', async () => {
    for (const name of ['graph', 'echo', 'provision', 'run']) {
      expect(await run([name])).toMatchObject({ code: 2, err: expect.stringMatching(new RegExp(`^missing topology file\\n\\nUsage: tributary ${name} `)) });
      expect(await run([name, 'a.yaml', 'b.yaml'])).toMatchObject({ code: 2, err: expect.stringMatching(/^unexpected argument "b.yaml"/) });
    }
    expect(await run(['provision', 'topologies/game-events.yaml', '--partitions', '0'])).toMatchObject({ code: 2, err: expect.stringMatching(/^--partitions must be a positive integer/) });
  });
});
