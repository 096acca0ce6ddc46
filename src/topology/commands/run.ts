import { parseArgs } from 'node:util';
import { describeSettings, parseSettings } from '../../config-env.ts';
import { ConfigError } from '../../core/errors.ts';
import { runTopology } from '../run.ts';
import { onePositional, readTopology, withUsage, type Command } from './command.ts';

const HELP = `Usage: tributary run <topology> [--local] [--print-config]

Runs the topology until stopped (SIGTERM or SIGINT: drain, flush, commit, exit 0).
TRIBUTARY_BROKERS is required unless --local or TRIBUTARY_LOCAL=1 (the local stack).

Options:
  --local          use the local stack (Kafka, DynamoDB Local, S3 on their local ports)
  --print-config   show the settings the environment gives, secrets masked, and exit`;

export const run: Command = {
  name: 'run',
  summary: 'run a topology until stopped',
  help: HELP,
  run: (args, io) =>
    withUsage(run, io, async () => {
      const { values, positionals } = parseArgs({ args: [...args], allowPositionals: true, options: { local: { type: 'boolean' }, 'print-config': { type: 'boolean' } } });
      const file = onePositional(positionals, 'topology file');
      const topology = await readTopology(file, io);
      if (topology === undefined) return 1;
      const local = values.local === true;
      if (values['print-config']) {
        const { problems } = parseSettings(io.env, { local });
        io.stdout(`${describeSettings(io.env, { local })}\n`);
        for (const problem of problems) io.stderr(`${problem}\n`);
        return problems.length === 0 ? 0 : 1;
      }
      try {
        return await runTopology(topology, io.env, { local });
      } catch (error) {
        io.stderr(`${error instanceof ConfigError ? error.problems.join('\n') : (error as Error).message}\n`);
        return 1;
      }
    }),
};
