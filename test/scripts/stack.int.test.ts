import { spawnSync } from 'node:child_process';
import { createServer, type AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';

const node = process.execPath;

function stack(command: string, env: NodeJS.ProcessEnv) {
  const result = spawnSync(node, ['scripts/stack.ts', command], { env: { ...process.env, ...env }, encoding: 'utf8', timeout: 60_000 });
  return { code: result.status, stderr: result.stderr };
}

describe('scripts/stack.ts', () => {
  it('names a port held by another process instead of starting over it', async () => {
    const stranger = createServer((socket) => socket.end('not s3\n'));
    await new Promise<void>((resolve) => stranger.listen(0, '127.0.0.1', resolve));
    const port = (stranger.address() as AddressInfo).port;
    try {
      // Kafka and DynamoDB answer already (reused); the S3 port is the stranger's.
      const { code, stderr } = stack('up', { TRIBUTARY_S3_PORT: String(port) });
      expect(code).toBe(1);
      expect(stderr).toContain(`port ${port} is taken by a process that is not a ready s3`);
      expect(stderr).toContain('TRIBUTARY_S3_PORT');
    } finally {
      stranger.close();
    }
  });

  it('says that Java is missing', () => {
    const { code, stderr } = stack('up', { PATH: '/nonexistent' });
    expect(code).toBe(1);
    expect(stderr).toContain('java is not installed or not on PATH');
  });

  it('reports status of every service', () => {
    const { code, stderr } = stack('status', {});
    expect(code).toBe(0);
    for (const name of ['kafka', 'dynamodb', 's3']) expect(stderr).toMatch(new RegExp(`${name}\\s+ready`));
  });
});
