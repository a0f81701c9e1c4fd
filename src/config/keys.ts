/**
 * Key material checks and decoding shared by the config loader, the session layer,
 * the identity signer and the `keys generate` CLI.
 */
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';

/** Decode a 32-byte key given as base64 or base64url. */
export function decodeKey32(text: string): { key?: Buffer; error?: string } {
  const t = text.trim();
  if (!/^[A-Za-z0-9+/_-]+={0,2}$/.test(t)) return { error: 'must be 32 random bytes in base64 (generate one with `regentra-gateway keys generate`)' };
  const key = Buffer.from(t.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
  if (key.length !== 32) return { error: `must decode to exactly 32 bytes, got ${key.length} (generate one with \`regentra-gateway keys generate\`)` };
  return { key };
}

export function mustDecodeKey32(text: string): Buffer {
  const { key, error } = decodeKey32(text);
  if (!key) throw new Error(error);
  return key;
}

export type SigningAlg = 'ES256' | 'EdDSA';

/** Validate a PKCS#8 PEM private key for `alg`; returns its RFC 7638 thumbprint as the default kid. */
export function checkSigningKey(pem: string, alg: SigningAlg): { kid?: string; error?: string } {
  let key: KeyObject;
  try {
    key = createPrivateKey({ key: pem, format: 'pem' });
  } catch {
    return { error: 'is not a PEM private key (PKCS#8 "-----BEGIN PRIVATE KEY-----")' };
  }
  if (alg === 'ES256' && !(key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1')) {
    return { error: `is ${describe(key)} key; ES256 needs an EC P-256 key` };
  }
  if (alg === 'EdDSA' && key.asymmetricKeyType !== 'ed25519') {
    return { error: `is ${describe(key)} key; EdDSA needs an Ed25519 key` };
  }
  return { kid: thumbprint(key) };
}

const KEY_NAMES: Readonly<Record<string, string>> = Object.freeze({
  prime256v1: 'an EC P-256',
  secp384r1: 'an EC P-384',
  secp521r1: 'an EC P-521',
  secp256k1: 'an EC secp256k1',
  ed25519: 'an Ed25519',
  ed448: 'an Ed448',
  x25519: 'an X25519',
  x448: 'an X448',
  rsa: 'an RSA',
  'rsa-pss': 'an RSA-PSS',
  dsa: 'a DSA',
  dh: 'a Diffie-Hellman',
});

/** "an EC P-384", "an RSA", … (with its article) */
function describe(key: KeyObject): string {
  const type = String(key.asymmetricKeyType);
  if (type === 'ec') {
    const curve = key.asymmetricKeyDetails?.namedCurve ?? '';
    return KEY_NAMES[curve] ?? `an EC ${curve}`.trim();
  }
  return KEY_NAMES[type] ?? `a ${type}`;
}

/** RFC 7638 JWK thumbprint (SHA-256, base64url) of a private or public key's public part. */
export function thumbprint(key: KeyObject): string {
  const jwk = createPublicKey(key).export({ format: 'jwk' });
  const canonical = jwk.kty === 'EC' ? { crv: jwk.crv, kty: jwk.kty, x: jwk.x, y: jwk.y } : { crv: jwk.crv, kty: jwk.kty, x: jwk.x };
  return createHash('sha256').update(JSON.stringify(canonical)).digest('base64url');
}

/** Fresh key material for an operator (the `keys generate` command). */
export function generateKeys(): { session: string; encryption: string; signingPem: string; signingKid: string } {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const signingPem = privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
  return {
    session: randomBytes(32).toString('base64'),
    encryption: randomBytes(32).toString('base64'),
    signingPem,
    signingKid: thumbprint(privateKey),
  };
}
