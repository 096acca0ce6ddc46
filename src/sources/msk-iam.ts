/**
 * MSK IAM authentication: an OAUTHBEARER token provider over `aws-msk-iam-sasl-signer-js` (a
 * SigV4-signed `kafka-cluster:Connect` URL, valid 15 minutes, signed with the SDK's default
 * credentials: the ECS task role). The token is cached and signed again `refreshBeforeMs` before it
 * expires, so every new connection and re-authentication gets a valid one without signing each time.
 *
 * @example
 * ```ts
 * const sasl = { mechanism: 'oauthbearer', token: mskIamTokenProvider({ region: 'eu-west-1' }) };
 * ```
 */

export interface MskToken {
  readonly token: string;
  /** Epoch milliseconds. */
  readonly expiryTime: number;
}

export type MskSigner = (options: { readonly region: string }) => Promise<MskToken>;

export interface MskIamOptions {
  readonly region: string;
  /** Sign again this long before expiry. Default 60 s. */
  readonly refreshBeforeMs?: number;
  /** Replaces the AWS signer (tests). */
  readonly signer?: MskSigner;
  readonly now?: () => number;
}

/** The signer package, loaded on first use (only a task that authenticates with IAM needs it). */
const awsSigner: MskSigner = async (options) => {
  const module = (await import('aws-msk-iam-sasl-signer-js')) as { generateAuthToken?: MskSigner; default?: { generateAuthToken: MskSigner } };
  const generate = module.generateAuthToken ?? module.default?.generateAuthToken;
  if (generate === undefined) throw new Error('aws-msk-iam-sasl-signer-js has no generateAuthToken');
  return generate({ region: options.region });
};

/** A token provider for `sasl: { mechanism: 'oauthbearer', token }`. */
export function mskIamTokenProvider(options: MskIamOptions): () => Promise<string> {
  const signer = options.signer ?? awsSigner;
  const now = options.now ?? Date.now;
  const refreshBeforeMs = options.refreshBeforeMs ?? 60_000;
  let current: MskToken | undefined;
  let signing: Promise<MskToken> | undefined;
  return async () => {
    if (current !== undefined && now() < current.expiryTime - refreshBeforeMs) return current.token;
    // Connections opened together share one signing.
    signing ??= signer({ region: options.region }).finally(() => {
      signing = undefined;
    });
    current = await signing;
    return current.token;
  };
}
