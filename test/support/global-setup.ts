import { down, status, up } from '../../scripts/stack.ts';

/**
 * Reuses a running local stack, or starts one and stops it after the run. `.ci/run` starts the
 * stack itself, so in CI this only checks that it answers.
 */
export default async function setup(): Promise<() => Promise<void>> {
  if (await status()) return async () => {};
  await up();
  return async () => {
    if (process.env.TRIBUTARY_KEEP_STACK !== '1') await down();
  };
}
