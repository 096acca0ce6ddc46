import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/core/errors.ts';
import { MultipleErrors, NetworkError, ProtocolError } from '@platformatic/kafka';
import { kafkaRetries, kafkaRetryDelayMs, kafkajsConnection, platformaticConnection, validateConnection } from '../../src/sources/connection.ts';

describe('Kafka connection settings', () => {
  it('maps plain brokers without TLS or SASL', () => {
    expect(platformaticConnection({ brokers: ['a:9092'] })).toEqual({ bootstrapBrokers: ['a:9092'], retries: kafkaRetries(), retryDelay: expect.any(Function) });
    expect(kafkajsConnection({ brokers: ['a:9092'] })).toEqual({ brokers: ['a:9092'], retry: { initialRetryTime: 250, maxRetryTime: 5000, retries: kafkaRetries() } });
  });

  it('retries a request for longer than the outage timeout, with backoff from 250 ms to 5 s', () => {
    // The smallest waits (half of each capped step) must cover the timeout and a fifth more.
    const span = (retries: number) => Array.from({ length: retries }, (_, i) => kafkaRetryDelayMs(i + 1, () => 0)).reduce((a, b) => a + b, 0);
    for (const timeout of [1_000, 30_000, 300_000]) {
      expect(span(kafkaRetries(timeout))).toBeGreaterThanOrEqual(timeout * 1.2);
      expect(span(kafkaRetries(timeout) - 1)).toBeLessThan(timeout * 1.2);
    }
    expect([1, 2, 3, 4, 5, 6, 20].map((n) => kafkaRetryDelayMs(n, () => 0))).toEqual([125, 250, 500, 1000, 2000, 2500, 2500]);
    expect(kafkaRetryDelayMs(20, () => 0.999999)).toBe(4999);
  });

  it('reports each retry of a request that found no broker to the dependency, not an answer asking to retry', () => {
    const failed: unknown[] = [];
    const { retryDelay } = platformaticConnection({ brokers: ['a:9092'], dependency: { failed: (e) => failed.push(e), succeeded: () => {} } });
    const down = new MultipleErrors('Cannot connect to any broker.', [new NetworkError('Connection to a:9092 failed.')]);
    expect(retryDelay(undefined, 'metadata', 1, 10, down)).toBeGreaterThanOrEqual(125);
    retryDelay(undefined, 'findGroupCoordinator', 1, 10, new ProtocolError('COORDINATOR_NOT_AVAILABLE'));
    expect(failed).toEqual([down]);
  });

  it('maps TLS with system CAs and SASL/SCRAM-SHA-512 (MSK)', () => {
    const options = { brokers: ['b-1:9096'], tls: true, sasl: { mechanism: 'scram-sha-512', username: 'u', password: 'p' } } as const;
    expect(platformaticConnection(options)).toMatchObject({
      tls: {},
      tlsServerName: true,
      sasl: { mechanism: 'SCRAM-SHA-512', username: 'u', password: 'p' },
    });
    expect(kafkajsConnection(options)).toMatchObject({ ssl: true, sasl: { mechanism: 'scram-sha-512', username: 'u', password: 'p' } });
  });

  it('maps TLS material and PLAIN', () => {
    const options = { brokers: ['b:9094'], tls: { ca: 'CA', cert: 'C', key: 'K' }, sasl: { mechanism: 'plain', username: 'u', password: 'p' } } as const;
    expect(platformaticConnection(options)).toMatchObject({ tls: { ca: 'CA', cert: 'C', key: 'K' }, sasl: { mechanism: 'PLAIN' } });
    expect(kafkajsConnection(options)).toMatchObject({ ssl: { ca: 'CA', cert: 'C', key: 'K' }, sasl: { mechanism: 'plain' } });
  });

  it('maps OAUTHBEARER with a token provider (the MSK IAM hook) for both clients', async () => {
    let calls = 0;
    const token = async () => `token-${++calls}`;
    const options = { brokers: ['b:9098'], tls: true, sasl: { mechanism: 'oauthbearer', token } } as const;
    const platformatic = platformaticConnection(options);
    expect(platformatic.sasl?.mechanism).toBe('OAUTHBEARER');
    expect(await (platformatic.sasl?.token as () => Promise<string>)()).toBe('token-1');
    const kafkajs = kafkajsConnection(options);
    const sasl = kafkajs.sasl as { mechanism: string; oauthBearerProvider: () => Promise<{ value: string }> };
    expect(sasl.mechanism).toBe('oauthbearer');
    expect(await sasl.oauthBearerProvider()).toEqual({ value: 'token-2' });
  });

  it('rejects bad settings naming the path', () => {
    expect(() => validateConnection({ brokers: [] })).toThrow(ConfigError);
    expect(() => validateConnection({ brokers: ['nohost'] })).toThrow(/source\/brokers\/0/);
    expect(() => validateConnection({ brokers: ['a:1'], sasl: { mechanism: 'scram-sha-256', username: '', password: 'p' } })).toThrow(/username/);
    expect(() => validateConnection({ brokers: ['a:1'], sasl: { mechanism: 'oauthbearer' } as never })).toThrow(/token/);
  });
});
