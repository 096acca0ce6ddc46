import { glob } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { formatAt } from '../load.ts';
import type { ValidTopology } from '../types.ts';
import { lintWarnings } from '../warnings.ts';
import { checkFile, ENV_FILE_OPTION, environment, UsageError, withUsage, type Command, type Io } from './command.ts';

const HELP = `Usage: tributary lint <files or globs...> [--strict] [--env-file <file>] [--skip-env-check]

Checks topology files (.yaml, .yml, .json or .ts) without connecting anywhere: everything run would
refuse. Prints one line per finding, file:line:col: path: message (warnings as "warning: ..."),
and for each valid file a one-line summary. Exit 1 if any file has an error.

Options:
  --strict              warnings fail too (exit 1): a step whose output nobody reads, a route output never read
  --env-file <file>     KEY=VALUE lines for \${NAME} references, over the environment (repeatable)
  --skip-env-check      an unset \${NAME} without a default is not an error (lint without the environment)

Globs (quote them: "topologies/**/*.yaml") are expanded by tributary, leaving out topology test cases
(*.test.yaml, *.test.json, ...). "validate" is another name for lint.`;

export const lint: Command = {
  name: 'lint',
  aliases: ['validate'],
  summary: 'check topology files; file:line:col: message per problem, exit 1 on errors',
  help: HELP,
  run: (args, io) =>
    withUsage(lint, io, async () => {
      const { values, positionals } = parseArgs({
        args: [...args],
        allowPositionals: true,
        options: { strict: { type: 'boolean' }, 'skip-env-check': { type: 'boolean' }, ...ENV_FILE_OPTION },
      });
      if (positionals.length === 0) throw new UsageError('missing topology files');
      const env = await environment(io.env, values['env-file']);
      let failed = false;
      for (const pattern of positionals) {
        const files = await expand(pattern);
        if (files.length === 0) {
          io.stderr(`${pattern}: no files match\n`);
          failed = true;
        }
        for (const file of files) if (!(await lintFile(file, { env, skipUnsetEnv: values['skip-env-check'] === true, strict: values.strict === true }, io))) failed = true;
      }
      return failed ? 1 : 0;
    }),
};

/** Topology test cases (`game-events.test.yaml` beside `game-events.yaml`) are not topologies. */
const TEST_CASES_RE = /\.test\.(?:ya?ml|json|[mc]?[jt]s)$/;

/** A path as it is, or a glob's matches in order, test-case files left out. */
async function expand(pattern: string): Promise<string[]> {
  if (!/[*?[{]/.test(pattern)) return [pattern];
  const files: string[] = [];
  for await (const file of glob(pattern, { exclude: (name) => name === 'node_modules' })) if (!TEST_CASES_RE.test(file)) files.push(file);
  return files.sort();
}

/** Prints the file's findings; `true` if it passes. */
async function lintFile(file: string, options: { env: NodeJS.ProcessEnv; skipUnsetEnv: boolean; strict: boolean }, io: Io): Promise<boolean> {
  const { topology, problems, locate } = await checkFile(file, options);
  for (const problem of problems) io.stderr(`${formatAt(file, problem)}\n`);
  if (topology === undefined) return false;
  const found = lintWarnings(topology);
  const warnings = locate ? locate(found) : found;
  for (const warning of warnings) io.stderr(`${formatAt(file, { ...warning, message: `warning: ${warning.path}: ${warning.message}`, path: '' })}\n`);
  const note = warnings.length === 0 ? '' : `, ${warnings.length} warning${warnings.length === 1 ? '' : 's'}`;
  io.stdout(`${file}: valid topology "${topology.name}": ${summary(topology)}${note}\n`);
  return !(options.strict && warnings.length > 0);
}

function summary(t: ValidTopology): string {
  const count = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;
  return [count(t.sources.length, 'source'), count(t.steps.length, 'step'), count(t.sinks.length, 'sink')].join(', ');
}
