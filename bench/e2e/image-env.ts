/**
 * The Tributary child runs as the image does: the `ENV` lines of the Dockerfile's last stage give
 * its V8 flags (`NODE_OPTIONS`) and its malloc settings (`MALLOC_*`), so a change to either in the
 * image is what the benchmark measures.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const DOCKERFILE = fileURLToPath(new URL('../../Dockerfile', import.meta.url));

/** `ENV KEY=value` and `ENV KEY="value"` of the last stage (after the last `FROM`). */
export function imageEnv(dockerfile: string): Record<string, string> {
  const lines = dockerfile.split('\n');
  const lastFrom = lines.findLastIndex((line) => /^FROM\s/i.test(line));
  const env: Record<string, string> = {};
  for (const line of lines.slice(lastFrom + 1)) {
    const m = /^ENV\s+([A-Za-z_][A-Za-z0-9_]*)=(?:"([^"]*)"|(\S*))\s*$/.exec(line);
    if (m !== null) env[m[1] as string] = m[2] ?? m[3] ?? '';
  }
  return env;
}

const image = imageEnv(readFileSync(DOCKERFILE, 'utf8'));

/** The image's `NODE_OPTIONS`, as arguments. */
export const IMAGE_NODE_FLAGS = (image.NODE_OPTIONS ?? '').split(' ').filter(Boolean);

/**
 * The image's `MALLOC_*` settings for a child; a variable already set in the harness's environment
 * wins, and `BENCH_MALLOC=off` gives none (glibc's defaults, unless the environment sets some).
 */
export function imageMallocEnv(current: NodeJS.ProcessEnv = process.env): Record<string, string> {
  if (current.BENCH_MALLOC === 'off') return {};
  return Object.fromEntries(Object.entries(image).filter(([key]) => key.startsWith('MALLOC_') && current[key] === undefined));
}
