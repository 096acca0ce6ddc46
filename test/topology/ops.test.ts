import { describe, expect, it } from 'vitest';
import { parseSettings } from '../../src/config-env.ts';
import { terminalView, type Terminal } from '../../src/topology/ops.ts';

const tty = (): Terminal => ({ isTTY: true, write: () => true });
const pipe = (): Terminal => ({ isTTY: false, write: () => true });
const settings = (env: Record<string, string>) => parseSettings({ TRIBUTARY_LOCAL: '1', ...env }).settings;

describe('terminalView: where the progress line and the logs go', () => {
  it('on a terminal, draws the line on stdout and sends the logs to tributary.log (or TRIBUTARY_LOG_FILE)', () => {
    const stdout = tty();
    expect(terminalView(settings({}), stdout, tty())).toEqual({ progress: stdout, logFile: 'tributary.log' });
    expect(terminalView(settings({ TRIBUTARY_LOG_FILE: '/tmp/t.log' }), stdout, tty())).toEqual({ progress: stdout, logFile: '/tmp/t.log' });
  });

  it('not on a terminal (ECS), draws no line and leaves the logs on stdout', () => {
    expect(terminalView(settings({}), pipe(), tty())).toEqual({ progress: undefined, logFile: undefined });
  });

  it('reads TRIBUTARY_PROGRESS in any case: on draws the line anywhere, off never', () => {
    const stdout = pipe();
    expect(terminalView(settings({ TRIBUTARY_PROGRESS: 'ON' }), stdout, tty()).progress).toBe(stdout);
    expect(terminalView(settings({ TRIBUTARY_PROGRESS: 'Off' }), tty(), tty())).toEqual({ progress: undefined, logFile: undefined });
    expect(parseSettings({ TRIBUTARY_LOCAL: '1', TRIBUTARY_PROGRESS: 'OFF' }).problems).toEqual([]);
  });

  it('with EMF on, draws the line on stderr so that stdout carries only whole EMF lines', () => {
    const stderr = tty();
    expect(terminalView(settings({ TRIBUTARY_EMF: '1' }), tty(), stderr)).toEqual({ progress: stderr, logFile: 'tributary.log' });
    // stderr not a terminal: no line, whatever stdout is.
    expect(terminalView(settings({ TRIBUTARY_EMF: '1' }), tty(), pipe())).toEqual({ progress: undefined, logFile: undefined });
  });
});
