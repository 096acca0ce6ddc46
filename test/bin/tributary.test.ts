/** bin/tributary.cjs, the launcher: started by the system's older Node, it runs the CLI on the project's Node 24. */
import { execFile, execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..', '..');
const LAUNCHER = join(ROOT, 'bin', 'tributary.cjs');
const FIXTURES = join(ROOT, 'test', 'topology', 'commands', 'fixtures');
/** The system Node (v20 on the development machines), older than the Node 24 Tributary needs. */
const SYSTEM_NODE = '/usr/bin/node';
const SYSTEM_MAJOR = existsSync(SYSTEM_NODE) ? Number(/^v(\d+)/.exec(execFileSync(SYSTEM_NODE, ['--version'], { encoding: 'utf8' }))?.[1]) : 0;
const VERSION = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
const dir = mkdtempSync(join(tmpdir(), 'tributary-bin-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function launch(args: string[], options: { launcher?: string; cwd?: string } = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(SYSTEM_NODE, [options.launcher ?? LAUNCHER, ...args], { cwd: options.cwd ?? dir, env: { PATH: '/usr/bin:/bin' } }, (error, stdout, stderr) => {
      resolve({ code: error ? ((error as { code?: number }).code ?? null) : 0, stdout, stderr });
    });
  });
}

describe.skipIf(!existsSync(SYSTEM_NODE))('bin/tributary.cjs on the system Node', { timeout: 60_000 }, () => {
  it('runs the CLI on Node 24 from an older Node, from any directory, passing arguments and output through', async () => {
    const result = await launch(['--version']);
    expect(result).toEqual({ code: 0, stdout: `tributary ${VERSION}\n`, stderr: '' });
  });

  it('passes the exit code through: 1 for a topology with errors, 2 for a usage error', async () => {
    const broken = await launch(['lint', join(FIXTURES, 'broken.yaml')]);
    expect(broken.code).toBe(1);
    expect(broken.stderr).toContain(`${join(FIXTURES, 'broken.yaml')}:28:11: /sinks/alerts/from: unknown name "per-minut"`);
    expect(await launch(['lint', join(FIXTURES, 'warnings.yaml')])).toMatchObject({ code: 0 });
    expect(await launch(['lint', '--strict', join(FIXTURES, 'warnings.yaml')])).toMatchObject({ code: 1 });
    expect(await launch(['frobnicate'])).toMatchObject({ code: 2 });
  });

  it('works through a symlink, as node_modules/.bin/tributary is', async () => {
    const link = join(dir, 'tributary');
    symlinkSync(LAUNCHER, link);
    expect(await launch(['--version'], { launcher: link })).toEqual({ code: 0, stdout: `tributary ${VERSION}\n`, stderr: '' });
  });

  it('says what is missing when the project has no Node 24 installed', async () => {
    const bare = join(dir, 'bare');
    mkdirSync(join(bare, 'bin'), { recursive: true });
    copyFileSync(LAUNCHER, join(bare, 'bin', 'tributary.cjs'));
    const result = await launch(['--version'], { launcher: join(bare, 'bin', 'tributary.cjs') });
    if (SYSTEM_MAJOR >= 24) return; // a new enough Node needs no other
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^tributary needs Node 24 or newer; this is Node v\d+.*run npm install there, or use Node 24\.\n$/);
  });
});
