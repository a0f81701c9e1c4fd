/**
 * verifyIdentity: the helper backends use to trust the gateway's identity header.
 *
 *   import { verifyIdentity } from 'regentra-gateway/verify';
 *   const who = await verifyIdentity(req.headers, { jwksUrl: 'http://gateway/.auth/jwks.json', audience: 'staff', issuer: 'regentra-gateway' });
 *
 * It checks the ES256/EdDSA signature against the gateway's JWKS (fetched and
 * cached by `jose`), `iss`, `aud`, `exp`/`nbf` (30 s leeway) and the presence of the
 * claims; anything else throws an IdentityError with a stable `code`.
 */
import { createLocalJWKSet, createRemoteJWKSet, errors as joseErrors, jwtVerify, type JSONWebKeySet, type JWTVerifyGetKey } from 'jose';

export interface VerifiedIdentity {
  readonly sub: string;
  readonly email: string;
  readonly name: string;
  readonly realm: string;
  readonly client: string | null;
  readonly role: string | null;
  /** portal: the person's Entra app roles ([] when none) */
  readonly roles: readonly string[];
  /** what the gateway checked: ["pwd","otp"], ["pwd","otp","rcv"], ["pwd"] or ["sso"] */
  readonly amr: readonly string[];
  /** SSO sign-ins: what Microsoft says it checked (its ID token's `amr`, claim `idp_amr`); null otherwise */
  readonly idpAmr: readonly string[] | null;
  readonly authTime: number;
  readonly sid: string;
  readonly claims: Readonly<Record<string, unknown>>;
}

export interface VerifyOptions {
  /** the gateway's JWKS URL (…/.auth/jwks.json) */
  readonly jwksUrl?: string | URL;
  /** or the JWKS itself */
  readonly keys?: JSONWebKeySet;
  readonly audience: string;
  readonly issuer: string;
  /** seconds of clock tolerance (default 30) */
  readonly clockTolerance?: number;
}

export type IdentityErrorCode = 'MISSING' | 'MULTIPLE' | 'INVALID' | 'EXPIRED' | 'CLAIMS' | 'CONFIG';

export class IdentityError extends Error {
  readonly code: IdentityErrorCode;
  constructor(code: IdentityErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'IdentityError';
    this.code = code;
  }
}

const keySets = new Map<string, JWTVerifyGetKey>();

function keySet(opts: VerifyOptions): JWTVerifyGetKey {
  if (opts.keys) return createLocalJWKSet(opts.keys);
  if (!opts.jwksUrl) throw new IdentityError('CONFIG', 'verifyIdentity needs jwksUrl or keys');
  const url = String(opts.jwksUrl);
  let set = keySets.get(url);
  if (!set) {
    set = createRemoteJWKSet(new URL(url), { cooldownDuration: 30_000, cacheMaxAge: 600_000 });
    keySets.set(url, set);
  }
  return set;
}

type HeaderBag = Readonly<Record<string, string | readonly string[] | undefined>> | Headers;

function readHeader(headers: HeaderBag, name: string): string | readonly string[] | undefined {
  if (typeof (headers as Headers).get === 'function') return (headers as Headers).get(name) ?? undefined;
  const bag = headers as Readonly<Record<string, string | readonly string[] | undefined>>;
  return bag[name] ?? Object.entries(bag).find(([k]) => k.toLowerCase() === name)?.[1];
}

export async function verifyIdentity(headers: HeaderBag, opts: VerifyOptions): Promise<VerifiedIdentity> {
  const raw = readHeader(headers, 'x-regentra-identity');
  if (raw === undefined || raw === '') throw new IdentityError('MISSING', 'no X-Regentra-Identity header: the request did not come through the gateway');
  if (typeof raw !== 'string' || raw.includes(',')) throw new IdentityError('MULTIPLE', 'more than one X-Regentra-Identity header');
  // outside the try: a verifier without keys is a configuration error, not an invalid token
  const keys = keySet(opts);
  let payload: Record<string, unknown>;
  try {
    ({ payload } = await jwtVerify(raw, keys, {
      audience: opts.audience,
      issuer: opts.issuer,
      algorithms: ['ES256', 'EdDSA'],
      clockTolerance: opts.clockTolerance ?? 30,
      requiredClaims: ['sub', 'exp', 'iat', 'realm', 'sid'],
    }));
  } catch (err) {
    if (err instanceof joseErrors.JWTExpired) throw new IdentityError('EXPIRED', 'the identity assertion has expired', { cause: err });
    if (err instanceof joseErrors.JWTClaimValidationFailed)
      throw new IdentityError('CLAIMS', `identity assertion claim check failed: ${err.claim} ${err.reason}`, { cause: err });
    throw new IdentityError('INVALID', 'the identity assertion is not valid', { cause: err });
  }
  const str = (v: unknown) => (typeof v === 'string' ? v : '');
  return Object.freeze({
    sub: str(payload.sub),
    email: str(payload.email),
    name: str(payload.name),
    realm: str(payload.realm),
    client: typeof payload.client === 'string' ? payload.client : null,
    role: typeof payload.role === 'string' ? payload.role : null,
    roles: Array.isArray(payload.roles) ? payload.roles.filter((r): r is string => typeof r === 'string') : [],
    amr: Array.isArray(payload.amr) ? payload.amr.filter((a): a is string => typeof a === 'string') : [],
    idpAmr: Array.isArray(payload.idp_amr) ? payload.idp_amr.filter((a): a is string => typeof a === 'string') : null,
    authTime: typeof payload.auth_time === 'number' ? payload.auth_time : 0,
    sid: str(payload.sid),
    claims: Object.freeze({ ...payload }),
  });
}
