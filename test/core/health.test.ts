import { describe, expect, it } from 'vitest';
import { UnavailableError } from '../../src/core/errors.ts';
import { Dependency, Health } from '../../src/core/health.ts';
import { Metrics } from '../../src/core/metrics.ts';

/** A logger that keeps what it is told. */
function recorder() {
  const lines: { level: string; msg: string; fields: Record<string, unknown> }[] = [];
  const at = (level: string) => (fields: Record<string, unknown>, msg: string) => void lines.push({ level, msg, fields });
  return { lines, logger: { warn: at('warn'), info: at('info') } as never };
}

describe('Dependency', () => {
  it('starts an outage at the first failure, logs it once per interval, and ends it at the next success', () => {
    let now = 1_000;
    const { lines, logger } = recorder();
    const metrics = new Metrics();
    const s3 = new Dependency('s3', { logger, metrics, now: () => now, logIntervalMs: 10_000, unavailableTimeoutMs: 60_000 });
    expect(s3.available).toBe(true);
    expect(metrics.value('dependency_available', { dependency: 's3' })).toBe(1);

    for (let i = 0; i < 30; i++) {
      s3.failed(new Error(`down ${i}`));
      now += 1_000;
    }
    expect(s3.available).toBe(false);
    expect(s3.unavailableForMs).toBe(30_000);
    expect(s3.expired).toBe(false);
    // Thirty failures in 30 s: the outage, then one line per 10 s.
    expect(lines.map((l) => l.msg)).toEqual(['s3 unavailable; retrying with backoff', 's3 still unavailable; retrying', 's3 still unavailable; retrying']);
    expect(lines[1]?.fields).toMatchObject({ unavailableForMs: 10_000, failures: 11 });
    expect(metrics.value('dependency_available', { dependency: 's3' })).toBe(0);
    expect(metrics.value('dependency_failures_total', { dependency: 's3' })).toBe(30);

    s3.succeeded();
    s3.succeeded();
    expect(s3.available).toBe(true);
    expect(lines.at(-1)).toMatchObject({ level: 'info', msg: 's3 available again', fields: { unavailableForMs: 30_000, failures: 30 } });
    expect(lines).toHaveLength(4);
    expect(metrics.value('dependency_available', { dependency: 's3' })).toBe(1);
  });

  it('expires once an outage has lasted its timeout', () => {
    let now = 0;
    const kafka = new Dependency('kafka', { now: () => now, unavailableTimeoutMs: 5_000 });
    kafka.failed(new Error('no broker'));
    now = 4_999;
    expect(kafka.expired).toBe(false);
    now = 5_000;
    expect(kafka.expired).toBe(true);
    expect(kafka.state()).toMatchObject({ available: false, unavailableSince: 0, failures: 1, lastError: { message: 'no broker' } });
  });

  it('ignores failures once closed: clients closing at shutdown are no outage', () => {
    const kafka = new Dependency('kafka');
    kafka.close();
    kafka.failed(new Error('Connection closed'));
    expect(kafka.available).toBe(true);
  });
});

describe('Health', () => {
  it('is ready once started and while every dependency answers, and says so once per change', () => {
    const { lines, logger } = recorder();
    const metrics = new Metrics();
    const health = new Health({ logger, metrics, unavailableTimeoutMs: { kafka: 1_000, default: 2_000 } });
    const kafka = health.dependency('kafka');
    expect(health.dependency('kafka')).toBe(kafka);
    expect(kafka.unavailableTimeoutMs).toBe(1_000);
    expect(health.dependency('s3').unavailableTimeoutMs).toBe(2_000);
    expect(health.ready).toBe(false);

    kafka.failed(new Error('no broker'));
    health.started();
    expect(health.ready).toBe(false);
    kafka.succeeded();
    expect(health.ready).toBe(true);
    expect(metrics.value('ready')).toBe(1);

    health.dependency('s3').failed(new Error('refused'));
    health.dependency('s3').failed(new Error('refused'));
    expect(health.ready).toBe(false);
    expect(metrics.value('ready')).toBe(0);
    expect(health.report()).toMatchObject({ ready: false, started: true, dependencies: { kafka: { available: true }, s3: { available: false, failures: 2 } } });
    expect(lines.filter((l) => l.msg === 'ready' || l.msg === 'not ready')).toEqual([
      { level: 'info', msg: 'ready', fields: { ready: true } },
      { level: 'warn', msg: 'not ready', fields: { ready: false, unavailable: ['s3'] } },
    ]);

    health.dependency('s3').succeeded();
    health.stopped();
    expect(health.ready).toBe(false);
  });

  it('lists the dependencies whose outage outlasted their timeout', () => {
    let now = 0;
    const health = new Health({ now: () => now, unavailableTimeoutMs: { kafka: 1_000, default: 5_000 } });
    health.dependency('kafka').failed(new Error('x'));
    health.dependency('s3').failed(new Error('y'));
    now = 1_000;
    expect(health.expired().map((d) => d.name)).toEqual(['kafka']);
  });
});

describe('UnavailableError', () => {
  it('has its code, is not retriable, and says what gave up after how long and why', () => {
    const error = new UnavailableError('kafka', 301_400, { cause: new Error('Cannot connect to any broker.') });
    expect(error.code).toBe('TRIB_UNAVAILABLE');
    expect(error.retriable).toBe(false);
    expect(error.message).toBe('kafka unavailable for 301 s, longer than its outage timeout; giving up: Cannot connect to any broker.');
    expect(JSON.parse(JSON.stringify(error))).toMatchObject({ code: 'TRIB_UNAVAILABLE', dependency: 'kafka', unavailableForMs: 301_400 });
  });
});
