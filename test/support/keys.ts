/** Key material for tests (fresh per process). */
import { generateKeyPairSync, randomBytes } from 'node:crypto';

export function ecPem(): string {
  return generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
}

export function edPem(): string {
  return generateKeyPairSync('ed25519').privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
}

export function key32(): string {
  return randomBytes(32).toString('base64');
}
