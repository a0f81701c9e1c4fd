/**
 * Identity-header signing keys and the JWKS document. The JWKS body and its ETag
 * are built once per config (keys change only with a config reload).
 */
import { createHash, createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import type { Config } from '../config/schema.ts';
import { thumbprint, type SigningAlg } from '../config/keys.ts';

export interface SigningKey {
  readonly kid: string;
  readonly alg: SigningAlg;
  readonly privateKey: KeyObject;
}

export interface Jwks {
  readonly body: string;
  readonly etag: string;
}

export function loadSigningKeys(config: Config): readonly SigningKey[] {
  return Object.freeze(
    config.keys.signing.map((k) => {
      const privateKey = createPrivateKey({ key: k.privateKey, format: 'pem' });
      return Object.freeze({ kid: k.kid ?? thumbprint(privateKey), alg: k.alg, privateKey });
    }),
  );
}

export function buildJwks(keys: readonly SigningKey[]): Jwks {
  const body = JSON.stringify({
    keys: keys.map((k) => ({ ...createPublicKey(k.privateKey).export({ format: 'jwk' }), kid: k.kid, alg: k.alg, use: 'sig' })),
  });
  return Object.freeze({ body, etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"` });
}
