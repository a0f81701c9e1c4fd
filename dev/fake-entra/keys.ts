// Signing keys of the stand-in tenants, the JWKS they publish, and ID token minting
// (Entra-shaped claims, test overrides).
import { microsoftSid } from './sessions.ts';
import { createHash, randomBytes } from 'node:crypto';
import { SignJWT, decodeJwt, exportJWK, generateKeyPair, type JWK, type CryptoKey } from 'jose';
import type { FakeUser, IdTokenOverride, TenantBase } from './types.ts';

interface SigningKey {
  readonly kid: string;
  readonly privateKey: CryptoKey;
  readonly publicKey: CryptoKey;
  readonly publicJwk: JWK;
}

export interface TenantKeys {
  /** RS256 key published in the JWKS and handed to oidc-provider */
  readonly rsa: SigningKey;
  /** its private JWK (oidc-provider's `jwks` configuration) */
  readonly rsaPrivateJwk: JWK;
  /** ES256 key that is NOT published (Entra publishes RSA keys only) */
  readonly ec: SigningKey;
}

/** Entra key ids look like base64url SHA-1 certificate thumbprints (27 characters). */
function entraKid(): string {
  return randomBytes(20).toString('base64url');
}

async function signingKey(alg: 'RS256' | 'ES256'): Promise<{ key: SigningKey; privateJwk: JWK }> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  const kid = entraKid();
  const privateJwk = { ...(await exportJWK(privateKey)), kid, alg, use: 'sig' };
  const publicJwk = { ...(await exportJWK(publicKey)), kid, use: 'sig' };
  return { key: { kid, privateKey, publicKey, publicJwk }, privateJwk };
}

export async function createTenantKeys(): Promise<TenantKeys> {
  const [rsa, ec] = await Promise.all([signingKey('RS256'), signingKey('ES256')]);
  return { rsa: rsa.key, rsaPrivateJwk: rsa.privateJwk, ec: ec.key };
}

let rogue: Promise<SigningKey> | undefined;
/** an RSA key no tenant publishes (shared by all stand-ins in the process) */
function rogueKey(): Promise<SigningKey> {
  rogue ??= signingKey('RS256').then((k) => k.key);
  return rogue;
}

/** The tenant's JWKS as Entra serves it (`kty`, `use`, `kid`, `x5t`, `n`, `e`, `issuer`). */
export function tenantJwks(tenant: TenantBase): { keys: JWK[] } {
  const { kty, n, e, kid } = tenant.keys.rsa.publicJwk;
  return { keys: [{ kty, use: 'sig', kid, x5t: kid, n, e, issuer: tenant.issuer } as JWK] };
}

/** Stable pairwise subject: Entra's `sub` is unique per user and application. */
export function pairwiseSub(tenantId: string, clientId: string, oid: string): string {
  return createHash('sha256').update(`${tenantId.toLowerCase()}|${clientId.toLowerCase()}|${oid.toLowerCase()}`).digest('base64url');
}

/**
 * The `login_hint` optional claim: opaque to apps (Microsoft's is an encoded account
 * reference); the stand-in's decodes to the tenant and user, for login_hint / logout_hint.
 */
export function loginHintClaim(tenantId: string, user: FakeUser): string {
  return `O.${Buffer.from(JSON.stringify({ t: tenantId.toLowerCase(), o: user.oid.toLowerCase() })).toString('base64url')}`;
}

/** The account a `login_hint` / `logout_hint` names: a login_hint claim, or a UPN / email / oid matched by the caller. */
export function parseLoginHintClaim(value: string): { tenant: string; oid: string } | null {
  if (!value.startsWith('O.')) return null;
  try {
    const v = JSON.parse(Buffer.from(value.slice(2), 'base64url').toString('utf8')) as { t?: unknown; o?: unknown };
    return typeof v.t === 'string' && typeof v.o === 'string' ? { tenant: v.t, oid: v.o } : null;
  } catch {
    return null;
  }
}

/** Entra-style opaque identifiers (`uti`, `aio`, `rh`). */
export function opaqueId(bytes: number): string {
  return randomBytes(bytes).toString('base64url');
}

// Order of claims in a real Entra v2.0 ID token (cosmetic, but handy when reading tokens).
const CLAIM_ORDER = [
  'aud',
  'iss',
  'iat',
  'nbf',
  'exp',
  'aio',
  'email',
  'login_hint',
  'name',
  'nonce',
  'oid',
  'preferred_username',
  'rh',
  'sid',
  'sub',
  'tid',
  'uti',
  'ver',
  'xms_edov',
];

/** Turn oidc-provider's ID token claims into Entra's shape (nbf, uti, rh, aio, claim order). */
export function entraIdTokenClaims(providerClaims: Record<string, unknown>): Record<string, unknown> {
  const claims: Record<string, unknown> = {
    ...providerClaims,
    nbf: providerClaims.iat,
    aio: opaqueId(48),
    rh: `1.${opaqueId(36)}.`,
    uti: opaqueId(16),
    ver: '2.0',
  };
  const ordered: Record<string, unknown> = {};
  for (const name of CLAIM_ORDER) if (name in claims) ordered[name] = claims[name];
  for (const [name, value] of Object.entries(claims)) if (!(name in ordered)) ordered[name] = value;
  return ordered;
}

async function sign(claims: Record<string, unknown>, alg: 'RS256' | 'ES256', key: SigningKey): Promise<string> {
  return new SignJWT(claims).setProtectedHeader({ typ: 'JWT', alg, kid: key.kid }).sign(key.privateKey);
}

function unsigned(claims: Record<string, unknown>): string {
  const part = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  return `${part({ typ: 'JWT', alg: 'none' })}.${part(claims)}.`;
}

/**
 * Re-mint an ID token issued by oidc-provider: Entra-shaped claims, signed by the
 * tenant key — or, when an override is given, whatever the test asked for.
 */
export async function remintIdToken(
  tenant: TenantBase,
  providerIdToken: string,
  override: IdTokenOverride | null,
  adjust: (claims: Record<string, unknown>) => Record<string, unknown> = (c) => c,
): Promise<string> {
  const claims = entraIdTokenClaims(adjust(decodeJwt(providerIdToken)));
  // Entra's session id: the same for every app the person signs in to in this session (sessions.ts)
  if (claims.sid === undefined && typeof claims.oid === 'string') claims.sid = microsoftSid(tenant, claims.oid);
  // app roles and groups of the user, as Entra adds them
  const user = typeof claims.oid === 'string' ? tenant.users.get(claims.oid.toLowerCase()) : undefined;
  const roles = user?.appRoles?.[String(claims.aud)];
  if (roles && roles.length > 0) claims.roles = roles;
  if (user?.groupsOverage) {
    claims._claim_names = { groups: 'src1' };
    claims._claim_sources = { src1: { endpoint: `https://graph.microsoft.com/v1.0/users/${user.oid}/getMemberObjects` } };
  } else if (user?.groups) {
    claims.groups = user.groups;
  }
  if (!override) return sign(claims, 'RS256', tenant.keys.rsa);

  const result = override(structuredClone(claims));
  if (result.raw !== undefined) return result.raw;
  const finalClaims = result.claims ?? claims;
  switch (result.alg ?? 'RS256') {
    case 'none':
      return unsigned(finalClaims);
    case 'ES256':
      return sign(finalClaims, 'ES256', tenant.keys.ec);
    case 'RS256':
      return sign(finalClaims, 'RS256', result.unknownKey ? await rogueKey() : tenant.keys.rsa);
  }
}
