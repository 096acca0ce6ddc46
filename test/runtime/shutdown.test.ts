import { describe, expect, it } from 'vitest';
import type { ShutdownResult } from '../../src/runtime/context.ts';
import { silentLogger } from '../../src/core/logger.ts';
import { installSignalHandlers } from '../../src/runtime/shutdown.ts';

function target(result: Promise<ShutdownResult>) {
  const calls: string[] = [];
  return {
    calls,
    runtime: {
      logger: silentLogger,
      shutdown: (reason?: string) => {
        calls.push(reason ?? '');
        return result;
      },
    },
  };
}

describe('installSignalHandlers', () => {
  it('shuts down on the first signal and exits 0 when clean', async () => {
    const { calls, runtime } = target(Promise.resolve({ clean: true, reason: 'SIGUSR2' }));
    const exits: number[] = [];
    const uninstall = installSignalHandlers(runtime, { signals: ['SIGUSR2'], exit: (code) => exits.push(code) });
    process.emit('SIGUSR2', 'SIGUSR2');
    await new Promise((r) => setTimeout(r, 5));
    uninstall();
    expect(calls).toEqual(['SIGUSR2']);
    expect(exits).toEqual([0]);
  });

  it('exits 1 when the shutdown was not clean, and at once on a second signal', async () => {
    let finish!: (r: ShutdownResult) => void;
    const { calls, runtime } = target(new Promise((resolve) => (finish = resolve)));
    const exits: number[] = [];
    const uninstall = installSignalHandlers(runtime, { signals: ['SIGUSR2'], exit: (code) => exits.push(code) });
    process.emit('SIGUSR2', 'SIGUSR2');
    process.emit('SIGUSR2', 'SIGUSR2');
    expect(exits).toEqual([128 + 12]);
    finish({ clean: false, reason: 'x' });
    await new Promise((r) => setTimeout(r, 5));
    uninstall();
    expect(calls).toHaveLength(1);
    expect(exits).toEqual([140, 1]);
  });
});
