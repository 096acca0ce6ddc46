import { access } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { defaultCasesFile, testTopologyFile } from '../topology-tests.ts';
import { ENV_FILE_OPTION, environment, readTopology, UsageError, withUsage, type Command } from './command.ts';

const HELP = `Usage: tributary test <topology> [cases files...] [--env-file <file>]

Runs the topology's test cases in memory: the real operators on a virtual clock, no Kafka and no AWS.
Each case gives input records per source and the records each sink, the dead letters and the metrics
must get (see topologies/game-events.test.yaml). Without cases files, <topology>.test.yaml beside the
topology is used (game-events.yaml -> game-events.test.yaml). Prints ok or FAIL per case with what
differs; exit 1 when a case fails.`;

export const test: Command = {
  name: 'test',
  summary: 'run a topology\'s test cases in memory (input records per source, expected records per sink)',
  help: HELP,
  run: (args, io) =>
    withUsage(test, io, async () => {
      const { values, positionals } = parseArgs({ args: [...args], allowPositionals: true, options: { ...ENV_FILE_OPTION } });
      const [file, ...given] = positionals;
      if (file === undefined) throw new UsageError('missing topology file');
      const cases = given.length > 0 ? given : [defaultCasesFile(file)];
      for (const c of cases) {
        if (!(await access(c).then(() => true, () => false))) throw new UsageError(`no cases file ${c}`);
      }
      const topology = await readTopology(file, io, await environment(io.env, values['env-file']));
      if (topology === undefined) return 1;
      return testTopologyFile(topology, cases, io);
    }),
};
