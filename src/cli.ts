#!/usr/bin/env node
/** The `tributary` command line: a dispatcher over the commands in `src/topology/commands/`. */
import { readFileSync } from 'node:fs';
import type { Io } from './topology/commands/command.ts';
import { COMMANDS, findCommand } from './topology/commands/index.ts';

export type { Io } from './topology/commands/command.ts';

function usage(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  const lines = COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}${c.aliases?.length ? ` (also: ${c.aliases.join(', ')})` : ''}`);
  return `Usage: tributary <command> [arguments]

Commands:
${lines.join('\n')}

tributary help <command> or tributary <command> --help shows a command's options; tributary --version the version.
\${NAME} and \${NAME:-default} in a topology file read the environment.`;
}

/**
 * The `tributary` command line; returns the exit code (0 ok, 1 invalid topology or failure, 2 usage).
 * @param argv the arguments after the script name
 */
export async function main(argv: readonly string[], io: Io = defaultIo()): Promise<number> {
  const [name, ...args] = argv;
  if (name === '--version' || name === '-v') {
    io.stdout(`tributary ${version()}\n`);
    return 0;
  }
  if (name === undefined || name === 'help' || name === '--help' || name === '-h') {
    const topic = name === 'help' ? args[0] : undefined;
    if (topic === undefined) {
      io[name === undefined ? 'stderr' : 'stdout'](`${usage()}\n`);
      return name === undefined ? 2 : 0;
    }
    const command = findCommand(topic);
    if (command === undefined) {
      io.stderr(`unknown command "${topic}"\n\n${usage()}\n`);
      return 2;
    }
    io.stdout(`${command.help}\n`);
    return 0;
  }
  const command = findCommand(name);
  if (command === undefined) {
    io.stderr(`unknown command "${name}"\n\n${usage()}\n`);
    return 2;
  }
  if (args.includes('--help') || args.includes('-h')) {
    io.stdout(`${command.help}\n`);
    return 0;
  }
  return command.run(args, io);
}

/** The package's version, from its package.json. */
export function version(): string {
  return (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;
}

function defaultIo(): Io {
  return { stdout: (t) => process.stdout.write(t), stderr: (t) => process.stderr.write(t), env: process.env };
}

if (import.meta.main) {
  const code = await main(process.argv.slice(2));
  // A Kafka client still retrying after a failed run or provision (a broker gone) must not keep the process up.
  if (process.argv[2] === 'run' || process.argv[2] === 'provision') process.exit(code);
  process.exitCode = code;
}
