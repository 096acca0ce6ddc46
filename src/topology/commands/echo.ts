import { parseArgs } from 'node:util';
import { stringify } from 'yaml';
import type { InputRef, ValidTopology } from '../types.ts';
import { ENV_FILE_OPTION, environment, onePositional, readTopology, withUsage, type Command } from './command.ts';

const HELP = `Usage: tributary echo <topology> [--env-file <file>]

Prints the topology as it runs: YAML with every \${NAME} resolved and every default filled in, from the
validated topology (durations in milliseconds, sizes in bytes; a route's default output as defaultOutput).`;

export const echo: Command = {
  name: 'echo',
  summary: 'print the topology as it runs: variables resolved, defaults filled in',
  help: HELP,
  run: (args, io) =>
    withUsage(echo, io, async () => {
      const { values, positionals } = parseArgs({ args: [...args], allowPositionals: true, options: { ...ENV_FILE_OPTION } });
      const file = onePositional(positionals, 'topology file');
      const topology = await readTopology(file, io, await environment(io.env, values['env-file']));
      if (topology === undefined) return 1;
      io.stdout(`# ${file} as it runs: variables resolved, defaults filled in; durations in ms, sizes in bytes\n${echoYaml(topology)}`);
      return 0;
    }),
};

/** The validated topology as YAML; inputs written as in the spec (`dedup.duplicate`). */
export function echoYaml(topology: ValidTopology): string {
  return stringify(topology, (key, value: unknown) => (key === 'from' && Array.isArray(value) ? (value as InputRef[]).map((input) => input.ref) : value), { lineWidth: 0 });
}
