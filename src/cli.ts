#!/usr/bin/env node
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, extname } from 'node:path';
import { parseArgs } from 'node:util';
import { describeSettings, parseSettings } from './config-env.ts';
import { ConfigError } from './core/errors.ts';
import { buildGraph } from './topology/graph.ts';
import { checkTopologyFile, formatLocated } from './topology/load.ts';
import { toMermaid } from './topology/mermaid.ts';
import { runTopology } from './topology/run.ts';
import { toSvg } from './topology/svg.ts';
import type { ValidTopology } from './topology/types.ts';

const USAGE = `Usage: tributary <command> <topology file>

Commands:
  validate <file>                          check a topology (.yaml, .yml, .json or .ts); exit 1 on problems
  graph <file> [--format mermaid|svg] [--out <file>]
                                           draw it: Mermaid text (default) or SVG, to stdout or a file
  run <file> [--local] [--print-config]    run it until stopped (TRIBUTARY_BROKERS required unless --local
                                           or TRIBUTARY_LOCAL=1); --print-config shows the settings, secrets
                                           masked, and exits

\${NAME} and \${NAME:-default} in the file read the environment.`;

interface Io {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  readonly env: NodeJS.ProcessEnv;
}

/**
 * The `tributary` command line; returns the exit code (0 ok, 1 invalid topology or failure, 2 usage).
 * @param argv the arguments after the script name
 */
export async function main(argv: readonly string[], io: Io = defaultIo()): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: true,
      options: {
        format: { type: 'string', short: 'f' },
        out: { type: 'string', short: 'o' },
        help: { type: 'boolean', short: 'h' },
        local: { type: 'boolean' },
        'print-config': { type: 'boolean' },
      },
    });
  } catch (error) {
    io.stderr(`${(error as Error).message}\n\n${USAGE}\n`);
    return 2;
  }
  const [command, file, ...extra] = parsed.positionals;
  if (parsed.values.help || command === 'help') {
    io.stdout(`${USAGE}\n`);
    return 0;
  }
  if (command === undefined || !['validate', 'graph', 'run'].includes(command) || file === undefined || extra.length > 0) {
    io.stderr(`${command === undefined || ['validate', 'graph', 'run'].includes(command) ? '' : `unknown command "${command}"\n\n`}${USAGE}\n`);
    return 2;
  }
  const { topology, problems } = await checkTopologyFile(file, { env: io.env }).catch((error: unknown) => ({
    topology: undefined,
    problems: [{ path: '', keys: [], message: `cannot read ${file}: ${(error as Error).message}` }],
  }));
  if (topology === undefined) {
    for (const problem of problems) io.stderr(`${formatLocated(problem)}\n`);
    return 1;
  }
  if (command === 'validate') {
    io.stdout(`${file}: valid topology "${topology.name}": ${summary(topology)}\n`);
    return 0;
  }
  if (command === 'graph') return graph(topology, parsed.values, io);
  const local = parsed.values.local === true;
  if (parsed.values['print-config']) {
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
}

async function graph(topology: ValidTopology, values: { format?: string; out?: string }, io: Io): Promise<number> {
  const format = values.format ?? (values.out !== undefined && extname(values.out).toLowerCase() === '.svg' ? 'svg' : 'mermaid');
  if (format !== 'mermaid' && format !== 'svg') {
    io.stderr(`--format must be mermaid or svg (got "${format}")\n`);
    return 2;
  }
  const g = buildGraph(topology);
  const text = format === 'svg' ? toSvg(g, { title: topology.name }) : toMermaid(g, { title: topology.name });
  if (values.out === undefined) io.stdout(text);
  else {
    await mkdir(dirname(values.out), { recursive: true });
    await writeFile(values.out, text);
    io.stderr(`wrote ${values.out}\n`);
  }
  return 0;
}

function summary(t: ValidTopology): string {
  const count = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;
  return [count(t.sources.length, 'source'), count(t.steps.length, 'step'), count(t.sinks.length, 'sink')].join(', ');
}

function defaultIo(): Io {
  return { stdout: (t) => process.stdout.write(t), stderr: (t) => process.stderr.write(t), env: process.env };
}

if (import.meta.main) {
  const code = await main(process.argv.slice(2));
  // A Kafka client still retrying after a failed run (a broker gone) must not keep the process up.
  if (process.argv[2] === 'run') process.exit(code);
  process.exitCode = code;
}
