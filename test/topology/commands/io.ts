import type { Io } from '../../../src/topology/commands/command.ts';

/** An `Io` that keeps what a command writes; `env` is all the environment it sees. */
export function captureIo(env: NodeJS.ProcessEnv = {}): Io & { out: string; err: string } {
  const io = {
    out: '',
    err: '',
    env,
    stdout: (text: string) => void (io.out += text),
    stderr: (text: string) => void (io.err += text),
  };
  return io;
}

/** The fixtures directory, relative to the repository root (where vitest runs). */
export const FIXTURES = 'test/topology/commands/fixtures';
