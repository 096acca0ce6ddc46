import { writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { topologyJsonSchema } from '../json-schema.ts';
import { UsageError, withUsage, type Command } from './command.ts';

const HELP = `Usage: tributary schema [--out <file>]

Prints the JSON Schema of topology files, built from the step and sink kinds' declarations, or writes
it to <file>. The repository's copy is schema/topology.schema.json; a topology points editors at it with
a first line like:
  # yaml-language-server: $schema=../schema/topology.schema.json`;

/** The schema as the repository keeps it: two-space JSON and a final newline. */
export function schemaText(): string {
  return `${JSON.stringify(topologyJsonSchema(), null, 2)}\n`;
}

export const schema: Command = {
  name: 'schema',
  summary: 'print (or write) the JSON Schema of topology files, for editors',
  help: HELP,
  run: (args, io) =>
    withUsage(schema, io, async () => {
      const { values, positionals } = parseArgs({ args: [...args], allowPositionals: true, options: { out: { type: 'string' } } });
      if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}"`);
      if (values.out === undefined) io.stdout(schemaText());
      else {
        await writeFile(values.out, schemaText());
        io.stderr(`wrote ${values.out}\n`);
      }
      return 0;
    }),
};
