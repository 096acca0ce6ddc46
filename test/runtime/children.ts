/** Running the pipeline fixture in a child process, and reading what its file sink holds. */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');
const NODE = join(root, 'node_modules', '.bin', 'node');

export interface Child {
  readonly process: ChildProcess;
  /** Signal handlers installed: SIGTERM now means a graceful shutdown. */
  readonly started: Promise<void>;
  readonly ready: Promise<void>;
  readonly exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  output(): string;
}

/** Starts `fixtures/<name>` with `env`; `started` and `ready` resolve when it prints them. */
export function startChild(name: string, env: Record<string, string>): Child {
  const child = spawn(NODE, [join(here, 'fixtures', name)], {
    cwd: root,
    env: { ...process.env, VITEST: '', LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const ready = Promise.withResolvers<void>();
  const started = Promise.withResolvers<void>();
  child.stdout?.on('data', (chunk: Buffer) => {
    output += chunk;
    if (output.includes('started\n')) started.resolve();
    if (output.includes('ready\n')) ready.resolve();
  });
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk));
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => {
      const early = new Error(`child exited (${code ?? signal}) early:\n${output.slice(-3000)}`);
      started.reject(early);
      ready.reject(early);
      resolve({ code, signal });
    }),
  );
  ready.promise.catch(() => {});
  started.promise.catch(() => {});
  return { process: child, started: started.promise, ready: ready.promise, exit, output: () => output };
}

export interface FileSinkContents {
  /** Lines as `partition:offset:id`, in write order. */
  readonly lines: string[];
  /** Lines cut by a crash in the middle of a write. */
  readonly torn: number;
}

export function readFileSink(path: string): FileSinkContents {
  if (!existsSync(path)) return { lines: [], torn: 0 };
  const all = readFileSync(path, 'utf8').split('\n').filter((l) => l.length > 0);
  const lines = all.filter((l) => /^\d+:\d+:e\d+$/.test(l));
  return { lines, torn: all.length - lines.length };
}
