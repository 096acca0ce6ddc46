import type { ValidTopology } from './types.ts';

/**
 * Runs a validated topology until it is stopped; resolves with the process exit code.
 * A placeholder: the compiler and runtime replace it.
 */
export async function runTopology(_topology: ValidTopology, _env: NodeJS.ProcessEnv = process.env): Promise<number> {
  throw new Error('not implemented yet');
}
