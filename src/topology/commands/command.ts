/** What every `tributary` command is, and the helpers they share: usage errors, `--env-file`, reading a topology. */
import { readFile } from 'node:fs/promises';
import { parseEnv } from 'node:util';
import { parseSettings } from '../../config-env.ts';
import { checkTopologyFile, formatAt, type Checked } from '../load.ts';
import type { ValidTopology } from '../types.ts';

/** Where a command writes, and the environment it reads (tests pass their own). */
export interface Io {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  readonly env: NodeJS.ProcessEnv;
}

export interface Command {
  readonly name: string;
  /** Other names that run it (`validate` for `lint`). */
  readonly aliases?: readonly string[];
  /** One line for `tributary help`. */
  readonly summary: string;
  /** The full help: usage line, arguments, options. */
  readonly help: string;
  /** Exit code: 0 ok, 1 failed (invalid topology, unreachable service), 2 usage error. */
  run(args: readonly string[], io: Io): Promise<number>;
}

/** A wrong argument: the command prints it with its help and exits 2. */
export class UsageError extends Error {}

/** Runs `body`, turning a usage error (ours or `parseArgs`'s) into its message, the command's help and exit code 2. */
export async function withUsage(command: Command, io: Io, body: () => Promise<number>): Promise<number> {
  try {
    return await body();
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (!(error instanceof UsageError) && !(typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS'))) throw error;
    io.stderr(`${(error as Error).message}\n\n${command.help}\n`);
    return 2;
  }
}

/** The one positional argument a command takes. */
export function onePositional(positionals: readonly string[], what: string): string {
  const [first, ...extra] = positionals;
  if (first === undefined) throw new UsageError(`missing ${what}`);
  if (extra.length > 0) throw new UsageError(`unexpected argument "${extra[0]}"`);
  return first;
}

/** The `--local` option of the commands that connect to Kafka, DynamoDB or S3. */
export const LOCAL_OPTION = { local: { type: 'boolean' } } as const;

/**
 * The environment a command that connects runs with, or undefined after writing each problem the
 * start-up check finds to stderr (the command then exits 1). `TRIBUTARY_BROKERS` is required unless
 * local mode is asked for (`--local`, here `local`, or `TRIBUTARY_LOCAL=1`): a command never falls
 * back to the local stack because a variable is missing. With `local`, `TRIBUTARY_LOCAL=1` is added.
 *
 * @example
 * ```ts
 * const env = connectingEnv(io, values.local === true);
 * if (env === undefined) return 1;
 * ```
 */
export function connectingEnv(io: Io, local = false): NodeJS.ProcessEnv | undefined {
  const { problems } = parseSettings(io.env, { local });
  for (const problem of problems) io.stderr(`${problem}\n`);
  if (problems.length > 0) return undefined;
  return local ? { ...io.env, TRIBUTARY_LOCAL: '1' } : io.env;
}

/** The `--env-file` option: `KEY=VALUE` lines whose values `${KEY}` references read. */
export const ENV_FILE_OPTION = { 'env-file': { type: 'string', multiple: true } } as const;

/** The environment with the `--env-file` files' values over it (later files win). */
export async function environment(env: NodeJS.ProcessEnv, files: readonly string[] | undefined): Promise<NodeJS.ProcessEnv> {
  let out = env;
  for (const file of files ?? []) {
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (error) {
      throw new UsageError(`--env-file: cannot read ${file}: ${(error as Error).message}`);
    }
    out = { ...out, ...parseEnv(text) };
  }
  return out;
}

/** Checks a topology file; a file it cannot read is one problem, like any other. */
export async function checkFile(file: string, options: { env: NodeJS.ProcessEnv; skipUnsetEnv?: boolean }): Promise<Checked> {
  return checkTopologyFile(file, options).catch((error: unknown) => ({
    topology: undefined,
    problems: [{ path: '', keys: [], message: `cannot read ${file}: ${(error as Error).message}` }],
  }));
}

/** The validated topology, or `undefined` after printing its problems as `file:line:col: path: message`. */
export async function readTopology(file: string, io: Io, env: NodeJS.ProcessEnv = io.env): Promise<ValidTopology | undefined> {
  const { topology, problems } = await checkFile(file, { env });
  for (const problem of problems) io.stderr(`${formatAt(file, problem)}\n`);
  return topology;
}
