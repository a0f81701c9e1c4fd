/**
 * The staff app's client secret at rest (sealed with the encryption key, aad
 * `sso.staff`) and the fingerprint of tested settings (HMAC with a key derived from
 * the first encryption key: no secret can be recovered from it, and a fingerprint
 * cannot be computed without the key).
 */
import { createHmac, hkdfSync } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { mustDecodeKey32 } from '../../config/keys.ts';
import type { Config } from '../../config/schema.ts';
import { STAFF_SSO_KEY, type StaffSsoSettings } from '../policy.ts';

export interface EntraAppCredentials {
  tenantId: string;
  clientId: string;
  clientSecret: string;
}

const fingerprintKeys = new WeakMap<Config, Buffer>();

function fingerprintKey(config: Config): Buffer {
  let key = fingerprintKeys.get(config);
  if (!key) {
    const first = config.keys.encryption[0];
    if (!first) throw new Error('no encryption key configured');
    key = Buffer.from(hkdfSync('sha256', mustDecodeKey32(first.key), Buffer.alloc(0), 'regentra sso settings fingerprint v1', 32));
    fingerprintKeys.set(config, key);
  }
  return key;
}

/** HMAC-SHA256 over tenant, client id and secret: equal exactly when the three values are. */
export function settingsFingerprint(app: FastifyInstance, creds: EntraAppCredentials): string {
  return settingsFingerprintFor(app.gateway.config, creds);
}

/** The same, from the config alone (seeding tools that have no running app). */
export function settingsFingerprintFor(config: Config, creds: EntraAppCredentials): string {
  const input = JSON.stringify([creds.tenantId.trim().toLowerCase(), creds.clientId.trim(), creds.clientSecret]);
  return `v1.${createHmac('sha256', fingerprintKey(config)).update(input).digest('base64url')}`;
}

export function sealStaffSecret(app: FastifyInstance, secret: string): string {
  return app.gateway.secretBox.seal(secret, STAFF_SSO_KEY);
}

/** The staff app's client secret, or null when none is set or it does not open (wrong key, tampered). */
export function readStaffSecret(app: FastifyInstance, settings: StaffSsoSettings): string | null {
  if (!settings.clientSecretEnc) return null;
  try {
    return app.gateway.secretBox.open(settings.clientSecretEnc, STAFF_SSO_KEY);
  } catch {
    return null;
  }
}
