/**
 * Signs the `X-Regentra-Identity` assertion (a short-lived JWT) with the first
 * signing key. Signing per request is expensive, so an assertion is reused per
 * session until shortly before it expires (lru-cache).
 *
 * One entry per session id, keyed by the session's own id string (which the session
 * object already holds): a session is bound to one host, so to one site and audience,
 * and the entry records the audience and role it was minted for — another audience or
 * role is a miss that replaces it. A key made of id, audience and role cost a string of
 * its own per session (~200 bytes with its concatenation, issue #17's memory row).
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
  /** cache size (sessions) */
  readonly max?: number;
}

interface Cached {
  readonly jwt: string;
  /** what it was minted for: another audience or role gets a new assertion */
  readonly audience: string;
  readonly role: string | null;
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

  /** the session's assertion for this audience and role, while it is to be reused */
  function reusable(identity: Identity, audience: string, nowMs: number): string | undefined {
    const hit = cache.get(identity.sid);
    // the role is compared: a session re-issued with a new role gets a new assertion at once
    return hit !== undefined && nowMs < hit.renewAt && hit.audience === audience && hit.role === (identity.role ?? null) ? hit.jwt : undefined;
  }

  return {
    cachedAssertion(identity, audience) {
      return reusable(identity, audience, opts.now());
    },
    async assertion(identity, audience) {
      const nowMs = opts.now();
      const hit = reusable(identity, audience, nowMs);
      if (hit !== undefined) return hit;
      const jwt = await mint(identity, audience, nowMs);
      cache.set(identity.sid, { jwt, audience, role: identity.role ?? null, renewAt: nowMs + reuseMs });
      return jwt;
    },
  };
}
