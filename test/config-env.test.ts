import { describe, expect, it } from 'vitest';
import { describeSettings, loadSettings, parseBoolean, parseSettings } from '../src/config-env.ts';
import { ConfigError } from '../src/core/errors.ts';

const MSK = { TRIBUTARY_BROKERS: 'b-1.msk.example:9098,b-2.msk.example:9098', TRIBUTARY_KAFKA_TLS: 'true', AWS_REGION: 'eu-west-1' };

describe('settings from the environment', () => {
  it('requires TRIBUTARY_BROKERS unless local mode is asked for, by the variable or --local', () => {
    expect(parseSettings({}).problems).toEqual([
      'TRIBUTARY_BROKERS: required (host:port, comma-separated); set TRIBUTARY_LOCAL=1 or pass --local to use the local stack',
    ]);
    expect(parseSettings({ TRIBUTARY_LOCAL: '1' }).problems).toEqual([]);
    expect(parseSettings({ TRIBUTARY_LOCAL: 'yes' }).settings.local).toBe(true);
    expect(parseSettings({}, { local: true }).problems).toEqual([]);
    expect(parseSettings({ TRIBUTARY_LOCAL: 'false' }).problems).toHaveLength(1);
  });

  it('accepts 1/true/yes (any case) for booleans, so TRIBUTARY_KAFKA_TLS=true turns TLS on', () => {
    for (const raw of ['1', 'true', 'TRUE', 'yes', 'Yes', 'on']) expect(parseBoolean(raw), raw).toBe(true);
    for (const raw of ['0', 'false', 'no', 'off']) expect(parseBoolean(raw), raw).toBe(false);
    expect(parseBoolean('maybe')).toBeUndefined();
    expect(loadSettings({ ...MSK }).kafkaTls).toBe(true);
    expect(loadSettings({ TRIBUTARY_LOCAL: '1' }).kafkaTls).toBe(false);
  });

  it('takes the SASL mechanism in any case', () => {
    const s = loadSettings({ TRIBUTARY_BROKERS: 'k:9096', TRIBUTARY_KAFKA_SASL_MECHANISM: 'SCRAM-SHA-512', TRIBUTARY_KAFKA_SASL_USERNAME: 'app', TRIBUTARY_KAFKA_SASL_PASSWORD: 'pw' });
    expect(s.sasl).toEqual({ mechanism: 'scram-sha-512', username: 'app', password: 'pw' });
    expect(loadSettings({ ...MSK, TRIBUTARY_KAFKA_SASL_MECHANISM: 'AWS_MSK_IAM'.replaceAll('_', '-') }).sasl).toEqual({ mechanism: 'aws-msk-iam' });
  });

  it('reports every problem at once, each named', () => {
    const env = {
      TRIBUTARY_KAFKA_TLS: 'maybe',
      TRIBUTARY_KAFKA_SASL_MECHANISM: 'kerberos',
      TRIBUTARY_MAX_INFLIGHT_RECORDS: '-5',
      TRIBUTARY_COMMIT_INTERVAL_MS: 'soon',
      TRIBUTARY_MEMORY_LIMIT_MB: 'half',
      TRIBUTARY_HTTP_PORT: '70000',
      TRIBUTARY_GROUP_PROTOCOL: 'cooperative',
      TRIBUTARY_BROKER: 'k:9092',
      LOG_LEVEL: 'loud',
      AWS_ACCESS_KEY_ID: 'AKIA',
    };
    let error: unknown;
    try {
      loadSettings(env);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).problems.toSorted()).toEqual(
      [
        'TRIBUTARY_BROKER: not a Tributary setting; did you mean TRIBUTARY_BROKERS?',
        'TRIBUTARY_KAFKA_TLS: must be one of 1/true/yes or 0/false/no, got "maybe"',
        'TRIBUTARY_KAFKA_SASL_MECHANISM: must be one of plain, scram-sha-256, scram-sha-512, aws-msk-iam, got "kerberos"',
        'TRIBUTARY_MAX_INFLIGHT_RECORDS: must be a positive number, got "-5"',
        'TRIBUTARY_COMMIT_INTERVAL_MS: must be a positive number, got "soon"',
        'TRIBUTARY_MEMORY_LIMIT_MB: must be a positive number or off, got "half"',
        'TRIBUTARY_HTTP_PORT: must be a port number 0-65535 or off, got "70000"',
        'TRIBUTARY_GROUP_PROTOCOL: must be one of classic, consumer, got "cooperative"',
        'LOG_LEVEL: must be one of fatal, error, warn, info, debug, trace, silent, got "loud"',
        'AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY: set both or neither',
        'TRIBUTARY_BROKERS: required (host:port, comma-separated); set TRIBUTARY_LOCAL=1 or pass --local to use the local stack',
      ].toSorted(),
    );
  });

  it('checks what goes together: SCRAM needs both credentials, IAM needs TLS and a region, brokers are host:port', () => {
    expect(parseSettings({ TRIBUTARY_BROKERS: 'k:9096', TRIBUTARY_KAFKA_SASL_MECHANISM: 'scram-sha-256', TRIBUTARY_KAFKA_SASL_USERNAME: 'app' }).problems).toEqual([
      'TRIBUTARY_KAFKA_SASL_USERNAME and TRIBUTARY_KAFKA_SASL_PASSWORD: both required with scram-sha-256',
    ]);
    expect(parseSettings({ TRIBUTARY_BROKERS: 'k:9098', TRIBUTARY_KAFKA_SASL_MECHANISM: 'aws-msk-iam' }).problems).toEqual([
      'TRIBUTARY_KAFKA_TLS: MSK IAM needs TLS (set TRIBUTARY_KAFKA_TLS=true; brokers on port 9098)',
      'AWS_REGION: required with aws-msk-iam (the region of the MSK cluster)',
    ]);
    expect(parseSettings({ TRIBUTARY_BROKERS: 'k:9092,broker-without-port' }).problems).toEqual(['TRIBUTARY_BROKERS: "broker-without-port" is not host:port']);
  });

  it('reads the HTTP port (default 9464, off disables), the progress mode and EMF', () => {
    expect(loadSettings({ TRIBUTARY_LOCAL: '1' })).toMatchObject({ httpPort: 9464, progress: 'auto', emf: false, emfIntervalMs: 60_000 });
    expect(loadSettings({ TRIBUTARY_LOCAL: '1', TRIBUTARY_HTTP_PORT: 'off', TRIBUTARY_PROGRESS: 'OFF', TRIBUTARY_EMF: 'yes' })).toMatchObject({ httpPort: undefined, progress: 'off', emf: true });
    expect(loadSettings({ TRIBUTARY_LOCAL: '1', TRIBUTARY_HTTP_PORT: '0' }).httpPort).toBe(0);
  });

  it('takes the memory limit as megabytes or off', () => {
    expect(parseSettings({ TRIBUTARY_LOCAL: '1', TRIBUTARY_MEMORY_LIMIT_MB: '2048' }).problems).toEqual([]);
    expect(parseSettings({ TRIBUTARY_LOCAL: '1', TRIBUTARY_MEMORY_LIMIT_MB: 'Off' }).problems).toEqual([]);
    expect(parseSettings({ TRIBUTARY_LOCAL: '1', TRIBUTARY_MEMORY_LIMIT_MB: '0' }).problems).toEqual(['TRIBUTARY_MEMORY_LIMIT_MB: must be a positive number or off, got "0"']);
  });

  it('prints the effective settings with secrets masked', () => {
    const text = describeSettings({ ...MSK, TRIBUTARY_KAFKA_SASL_PASSWORD: 'hunter2-secret', AWS_SECRET_ACCESS_KEY: 'aws-secret-value', AWS_ACCESS_KEY_ID: 'AKIAEXAMPLE' });
    expect(text).not.toContain('hunter2-secret');
    expect(text).not.toContain('aws-secret-value');
    expect(text).not.toContain('AKIAEXAMPLE');
    expect(text).toMatch(/^TRIBUTARY_KAFKA_SASL_PASSWORD\s+\*{8} \(set\)$/m);
    expect(text).toMatch(/^TRIBUTARY_BROKERS\s+b-1\.msk\.example:9098,b-2\.msk\.example:9098$/m);
    expect(text).toMatch(/^TRIBUTARY_HTTP_PORT\s+9464 \(default\)$/m);
    expect(text).toMatch(/^TRIBUTARY_KAFKA_TLS\s+true$/m);
  });
});

describe('the settings list', () => {
  it('names every TRIBUTARY_* variable the code, the stack scripts and the test support read, so none is refused as unknown at start (a child process inherits them)', async () => {
    const { readdir, readFile } = await import('node:fs/promises');
    const { SETTINGS } = await import('../src/config-env.ts');
    const read = new Set<string>();
    for (const dir of ['src', 'scripts', 'test/support']) {
      const files = (await readdir(dir, { recursive: true })).filter((f) => f.endsWith('.ts') && !f.endsWith('config-env.ts'));
      for (const file of files) {
        for (const [name] of (await readFile(`${dir}/${file}`, 'utf8')).matchAll(/\bTRIBUTARY_[A-Z0-9_]*[A-Z0-9]\b/g)) read.add(name);
      }
    }
    expect([...read].filter((name) => !(name in SETTINGS)).sort()).toEqual([]);
  });
});
