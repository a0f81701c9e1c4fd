/**
 * Signs the `X-Regentra-Identity` assertion (a short-lived JWT) with the first
 * signing key. Signing per request is expensive, so an assertion is reused per
 * session and audience until shortly before it expires (lru-cache).
 */
import { randomUUID } from 'node:crypto';
import { SignJWT } from 'jose';
import { boundedCache } from '../util/bounded-cache.ts';
import type { Identity } from '../session/types.ts';
import type { SigningKey } from './keys.ts';

export interface AssertionSigner {
  /** a signed JWT for this identity and audience (cached) */
  assertion(identity: Identity, audience: string): Promise<string>;
  /** the cached assertion assertion() would answer with, or undefined when a new one is to be minted */
  cachedAssertion(identity: Identity, audience: string): string | undefined;
}

export interface SignerOptions {
  readonly key: SigningKey;
  readonly issuer: string;
  readonly ttlSeconds: number;
  readonly now: () => number;
  /** cache size (sessions × audiences) */
  readonly max?: number;
}

interface Cached {
  readonly jwt: string;
  /** epoch ms after which a new assertion is minted */
  readonly renewAt: number;
}

export function createSigner(opts: SignerOptions): AssertionSigner {
  const cache = boundedCache<string, Cached>(opts.max ?? 50_000);
  // renew when less than a quarter of the lifetime (at least 10 s) is left
  const reuseMs = Math.max(0, opts.ttlSeconds * 1000 - Math.max(10_000, (opts.ttlSeconds * 1000) / 4));

  async function mint(identity: Identity, audience: string, nowMs: number): Promise<string> {
    const iat = Math.floor(nowMs / 1000);
    const claims: Record<string, unknown> = {
      email: identity.email,
      name: identity.name,
      realm: identity.realm,
      amr: identity.amr,
      auth_time: identity.authTime,
      sid: identity.sid,
    };
    if (identity.client) claims.client = identity.client;
    if (identity.role) claims.role = identity.role;
    // Microsoft's own methods, apart from the gateway's `amr` (SSO sessions only)
    if (identity.idpAmr !== null) claims.idp_amr = identity.idpAmr;
    if (identity.roles && identity.roles.length > 0) claims.roles = identity.roles;
    return new SignJWT(claims)
      .setProtectedHeader({ alg: opts.key.alg, kid: opts.key.kid, typ: 'JWT' })
      .setIssuer(opts.issuer)
      .setAudience(audience)
      .setSubject(identity.sub)
      .setIssuedAt(iat)
      .setNotBefore(iat - 5)
      .setExpirationTime(iat + opts.ttlSeconds)
      .setJti(randomUUID())
      .sign(opts.key.privateKey);
  }

  // the role is part of the key: a session re-issued with a new role gets a new assertion at once
  const keyOf = (identity: Identity, audience: string) => `${identity.sid}\u0000${audience}\u0000${identity.role ?? ''}`;

  return {
    cachedAssertion(identity, audience) {
      const hit = cache.get(keyOf(identity, audience));
      return hit !== undefined && opts.now() < hit.renewAt ? hit.jwt : undefined;
    },
    async assertion(identity, audience) {
      const nowMs = opts.now();
      const key = keyOf(identity, audience);
      const hit = cache.get(key);
      if (hit && nowMs < hit.renewAt) return hit.jwt;
      const jwt = await mint(identity, audience, nowMs);
      cache.set(key, { jwt, renewAt: nowMs + reuseMs });
      return jwt;
    },
  };
}
