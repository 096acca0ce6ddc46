import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/core/errors.ts';
import { kafkajsConnection, platformaticConnection, validateConnection } from '../../src/sources/connection.ts';

describe('Kafka connection settings', () => {
  it('maps plain brokers without TLS or SASL', () => {
    expect(platformaticConnection({ brokers: ['a:9092'] })).toEqual({ bootstrapBrokers: ['a:9092'] });
    expect(kafkajsConnection({ brokers: ['a:9092'] })).toEqual({ brokers: ['a:9092'] });
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
