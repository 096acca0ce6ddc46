import { describe, expect, it } from 'vitest';
import { kafkajsConnection, platformaticConnection } from '../../src/sources/connection.ts';
import { mskIamTokenProvider, type MskSigner } from '../../src/sources/msk-iam.ts';
import { kafkaConnectionFromEnv } from '../../src/topology/run.ts';

/** A signer that counts its calls and hands out tokens valid 15 minutes from the fake clock. */
function stubSigner(clock: { now: number }) {
  const calls: string[] = [];
  const signer: MskSigner = async ({ region }) => {
    calls.push(region);
    return { token: `token-${calls.length}`, expiryTime: clock.now + 900_000 };
  };
  return { signer, calls };
}

describe('MSK IAM token provider', () => {
  it('signs once, reuses the token, and signs again before it expires', async () => {
    const clock = { now: 1_000_000 };
    const { signer, calls } = stubSigner(clock);
    const token = mskIamTokenProvider({ region: 'eu-west-1', signer, refreshBeforeMs: 60_000, now: () => clock.now });
    expect(await token()).toBe('token-1');
    clock.now += 800_000; // 100 s before expiry: still good
    expect(await token()).toBe('token-1');
    clock.now += 45_000; // 55 s before expiry: inside the refresh margin
    expect(await token()).toBe('token-2');
    expect(calls).toEqual(['eu-west-1', 'eu-west-1']);
  });

  it('shares one signing between connections that ask together', async () => {
    const clock = { now: 0 };
    const { signer, calls } = stubSigner(clock);
    const token = mskIamTokenProvider({ region: 'us-east-2', signer, now: () => clock.now });
    expect(await Promise.all([token(), token(), token()])).toEqual(['token-1', 'token-1', 'token-1']);
    expect(calls).toHaveLength(1);
  });

  it('a failed signing is retried on the next call', async () => {
    let fail = true;
    const token = mskIamTokenProvider({ region: 'r', signer: async () => (fail ? Promise.reject(new Error('no credentials')) : { token: 't', expiryTime: Date.now() + 900_000 }) });
    await expect(token()).rejects.toThrow('no credentials');
    fail = false;
    expect(await token()).toBe('t');
  });

  it('TRIBUTARY_KAFKA_SASL_MECHANISM=aws-msk-iam wires OAUTHBEARER with the provider into both clients, with TLS', async () => {
    const clock = { now: Date.now() };
    const { signer, calls } = stubSigner(clock);
    const connection = kafkaConnectionFromEnv({ TRIBUTARY_BROKERS: 'b-1.msk:9098', TRIBUTARY_KAFKA_TLS: 'true', TRIBUTARY_KAFKA_SASL_MECHANISM: 'AWS-MSK-IAM', AWS_REGION: 'ap-south-1' }, signer);
    expect(connection.tls).toBe(true);
    expect(connection.sasl?.mechanism).toBe('oauthbearer');
    const platformatic = platformaticConnection(connection);
    expect(platformatic.sasl?.mechanism).toBe('OAUTHBEARER');
    const tokenOf = (platformatic.sasl as { token: () => Promise<string> }).token;
    expect(await tokenOf()).toBe('token-1');
    const kafkajs = kafkajsConnection(connection);
    expect(kafkajs.sasl?.mechanism).toBe('oauthbearer');
    expect(await (kafkajs.sasl as { oauthBearerProvider: () => Promise<{ value: string }> }).oauthBearerProvider()).toEqual({ value: 'token-1' });
    expect(calls).toEqual(['ap-south-1']);
  });

  it('the real signer package loads and signs with given credentials (no network: SigV4 is local)', async () => {
    const { generateAuthTokenFromCredentialsProvider } = await import('aws-msk-iam-sasl-signer-js');
    const signed = await generateAuthTokenFromCredentialsProvider({
      region: 'eu-west-1',
      awsCredentialsProvider: async () => ({ accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' }),
    });
    expect(signed.expiryTime).toBeGreaterThan(Date.now());
    const url = Buffer.from(signed.token, 'base64url').toString();
    expect(url).toMatch(/^https:\/\/kafka\.eu-west-1\.amazonaws\.com\/\?Action=kafka-cluster%3AConnect/);
  });
});
