#!/usr/bin/env node
// The `tributary` command from any Node (18 or newer): Tributary itself needs Node 24 (it runs its
// TypeScript directly), so an older Node hands over to the project's own Node 24, the `node`
// devDependency, and passes the arguments, stdio, exit code and termination through.
'use strict';
const { spawn } = require('node:child_process');
const { existsSync } = require('node:fs');
const { dirname, join } = require('node:path');

const root = join(__dirname, '..');
const cli = join(root, 'src', 'cli.ts');

/** A Node 24 binary: this one if it is new enough, else the package's own (installed beside it or hoisted). */
function findNode() {
  if (Number(process.versions.node.split('.')[0]) >= 24) return process.execPath;
  const exe = process.platform === 'win32' ? 'node.exe' : 'node';
  const candidates = [join(root, 'node_modules', 'node', 'bin', exe), join(root, 'node_modules', '.bin', exe)];
  try {
    candidates.push(join(dirname(require.resolve('node/package.json', { paths: [root] })), 'bin', exe));
  } catch {
    // Not installed: reported below.
  }
  return candidates.find((file) => existsSync(file));
}

const node = findNode();
if (node === undefined) {
  process.stderr.write(
    `tributary needs Node 24 or newer; this is Node ${process.version} and the project's own Node 24 ` +
      `(the "node" devDependency) is not installed in ${root}: run npm install there, or use Node 24.\n`,
  );
  process.exit(1);
}

const child = spawn(node, [cli, ...process.argv.slice(2)], { stdio: 'inherit' });
// A terminal's Ctrl-C reaches the whole process group, the child included: a second SIGINT from
// here would make `run` stop at once instead of draining. SIGTERM is usually sent to one process.
process.on('SIGINT', () => {});
process.on('SIGTERM', () => child.kill('SIGTERM'));
child.on('error', (error) => {
  process.stderr.write(`tributary: cannot start ${node}: ${error.message}\n`);
  process.exit(1);
});
child.on('exit', (code, signal) => {
  if (signal !== null) {
    process.removeAllListeners(signal);
    process.kill(process.pid, signal);
  } else process.exit(code ?? 1);
});
