/**
 * The staff app's client secret at rest (sealed with the encryption key, aad
 * `sso.staff`) and the fingerprint of tested settings: an HMAC with a key derived from
 * one encryption key, named in the fingerprint (`v2.<key id>.<mac>`). No secret can be
 * recovered from it and none can be computed without the key; new fingerprints use
 * the first key, and a saved one keeps matching while its key is still configured, so
 * rotating the encryption keys (a new first key, the old one kept for decryption) does
 * not make tested settings look untested.
 */
import type { SecretBox } from '../../store/secretbox.ts';
import { createHmac } from 'node:crypto';
import { mustDecodeKey32 } from '../../config/keys.ts';
import type { Config } from '../../config/schema.ts';
import { STAFF_SSO_KEY, type StaffSsoSettings } from '../policy.ts';
import type { CertificateCredential } from '../../util/certificate.ts';
import { derivedKey, sameSecret } from '../../util/security.ts';

/** How the app proves itself to Microsoft: a client secret, or a certificate (then `clientSecret` is ''). */
export interface AppCredential {
  readonly clientSecret: string;
  /** set: `private_key_jwt` client assertions signed with this certificate's key */
  readonly certificate?: CertificateCredential | null;
}

export interface EntraAppCredentials extends AppCredential {
  tenantId: string;
  clientId: string;
  /** rotation: the other credentials, tried in order when Microsoft refuses this one (see client.ts) */
  readonly alternates?: readonly AppCredential[];
}

/** Which kind of credential authenticates, in words for pages and audit details. */
export function credentialLabel(c: AppCredential): string {
  return c.certificate ? `certificate (thumbprint ${c.certificate.thumbprint})` : 'client secret';
}

/** per config: encryption key id → fingerprint key */
const fingerprintKeys = new WeakMap<Config, Map<string, Buffer>>();

function fingerprintKey(config: Config, kid: string): Buffer | null {
  let keys = fingerprintKeys.get(config);
  if (!keys) {
    keys = new Map(config.keys.encryption.map((k) => [k.id, derivedKey(mustDecodeKey32(k.key), 'regentra sso settings fingerprint v1')]));
    fingerprintKeys.set(config, keys);
  }
  return keys.get(kid) ?? null;
}

function mac(key: Buffer, creds: EntraAppCredentials): string {
  // a certificate is named by its SHA-256 thumbprint (a secret by itself, as before)
  const credential = creds.certificate ? `cert:${creds.certificate.x5tS256}` : creds.clientSecret;
  const input = JSON.stringify([creds.tenantId.trim().toLowerCase(), creds.clientId.trim(), credential]);
  return createHmac('sha256', key).update(input).digest('base64url');
}

/** HMAC-SHA256 over tenant, client id and secret (or certificate thumbprint), with the first encryption key: equal exactly when the three values are. */
export function settingsFingerprint(core: { readonly config: Config }, creds: EntraAppCredentials): string {
  return settingsFingerprintFor(core.config, creds);
}

/** The same, from the config alone (seeding tools that have no running app). */
export function settingsFingerprintFor(config: Config, creds: EntraAppCredentials): string {
  const first = config.keys.encryption[0];
  if (!first) throw new Error('no encryption key configured');
  return `v2.${first.id}.${mac(fingerprintKey(config, first.id) as Buffer, creds)}`;
}

/**
 * Is `stored` the fingerprint of `creds`? Computed with the key the fingerprint names
 * (any configured encryption key); a fingerprint of a key no longer configured, or of
 * another format, matches nothing (the settings then need a new test).
 */
export function fingerprintMatches(config: Config, creds: EntraAppCredentials, stored: string): boolean {
  const m = /^v2\.([^.]+)\.([A-Za-z0-9_-]{43})$/.exec(stored);
  if (!m) return false;
  const key = fingerprintKey(config, m[1] as string);
  if (!key) return false;
  return sameSecret(mac(key, creds), m[2]);
}

export function sealStaffSecret(core: { readonly secretBox: SecretBox }, secret: string): string {
  return core.secretBox.seal(secret, STAFF_SSO_KEY);
}

/** The staff app's client secret, or null when none is set or it does not open (wrong key, tampered). */
export function readStaffSecret(core: { readonly secretBox: SecretBox }, settings: StaffSsoSettings): string | null {
  if (!settings.clientSecretEnc) return null;
  try {
    return core.secretBox.open(settings.clientSecretEnc, STAFF_SSO_KEY);
  } catch {
    return null;
  }
}
