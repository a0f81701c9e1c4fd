/**
 * The `state` of a client's admin-consent link: which client and tenant it is for
 * and until when, MACed (HMAC-SHA256) with a key derived from the encryption key.
 * Format: `v1.<b64url JSON [clientId, tenantId, expSeconds, nonce]>.<b64url mac>`.
 * The first encryption key signs; every configured key verifies (rotation).
 */
import type { Core } from '../core.ts';
import { createHash, createHmac, randomBytes } from 'node:crypto';
import { mustDecodeKey32 } from '../config/keys.ts';
import type { Config } from '../config/schema.ts';
import { derivedKey, sameSecret } from '../util/security.ts';

/** how long a shared consent link stays valid */
export const CONSENT_LINK_TTL_MS = 3 * 24 * 3600_000;
const MAX_STATE_LENGTH = 512;
const INFO = 'regentra admin-consent state v1';

export interface ConsentState {
  readonly clientId: string;
  readonly tenantId: string;
  /** epoch ms */
  readonly expiresAt: number;
  /** what identifies this one link (a hash of its signed content, whichever key signed it), for using it once */
  readonly id: string;
}

export type StateCheck = { ok: true; state: ConsentState } | { ok: false; reason: 'invalid' | 'expired' };

const derived = new WeakMap<Config, readonly Buffer[]>();

function macKeys(config: Config): readonly Buffer[] {
  let keys = derived.get(config);
  if (!keys) {
    keys = config.keys.encryption.map((k) => derivedKey(mustDecodeKey32(k.key), INFO));
    derived.set(config, keys);
  }
  return keys;
}

function mac(key: Buffer, payload: string): Buffer {
  return createHmac('sha256', key).update(`v1.${payload}`).digest();
}

export function signConsentState(core: Core, clientId: string, tenantId: string): { state: string; expiresAt: number } {
  const expiresAt = core.now() + CONSENT_LINK_TTL_MS;
  const payload = Buffer.from(JSON.stringify([clientId, tenantId, Math.floor(expiresAt / 1000), randomBytes(9).toString('base64url')])).toString('base64url');
  const key = macKeys(core.config)[0] as Buffer;
  return { state: `v1.${payload}.${mac(key, payload).toString('base64url')}`, expiresAt: Math.floor(expiresAt / 1000) * 1000 };
}

function parsePayload(payload: string): Omit<ConsentState, 'id'> | null {
  try {
    const v: unknown = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
    if (!Array.isArray(v) || v.length !== 4) return null;
    const [clientId, tenantId, exp] = v as unknown[];
    if (typeof clientId !== 'string' || typeof tenantId !== 'string' || typeof exp !== 'number' || !Number.isSafeInteger(exp)) return null;
    return { clientId, tenantId, expiresAt: exp * 1000 };
  } catch {
    return null;
  }
}

export function verifyConsentState(core: Core, raw: unknown): StateCheck {
  if (typeof raw !== 'string' || raw.length > MAX_STATE_LENGTH) return { ok: false, reason: 'invalid' };
  const parts = raw.split('.');
  const [version, payload, sig] = parts;
  if (parts.length !== 3 || version !== 'v1' || !payload || !sig || !/^[A-Za-z0-9_-]+$/.test(payload) || !/^[A-Za-z0-9_-]{43}$/.test(sig))
    return { ok: false, reason: 'invalid' };
  const given = Buffer.from(sig, 'base64url');
  const valid = macKeys(core.config).some((key) => {
    const expected = mac(key, payload);
    return sameSecret(expected, given);
  });
  if (!valid) return { ok: false, reason: 'invalid' };
  const state = parsePayload(payload);
  if (!state) return { ok: false, reason: 'invalid' };
  if (core.now() >= state.expiresAt) return { ok: false, reason: 'expired' };
  return { ok: true, state: { ...state, id: createHash('sha256').update(payload).digest('base64url') } };
}
