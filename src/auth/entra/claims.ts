/**
 * What the gateway takes from a verified Entra ID token, and the checks openid-client
 * leaves to us: `tid` is a GUID and the configured tenant, `oid` is a GUID, `iat` is
 * not in the future, and `azp`, when present, is our client (OIDC Core 3.1.3.7 (4)–(5):
 * openid-client checks the signature against the tenant's JWKS, `alg`, `iss`, `aud`,
 * `exp`/`nbf` and `nonce`, but not `azp`).
 * The stable user key is `tid` + `oid`: `email` and `preferred_username` are never keys.
 * `email` is not verified by Microsoft (a tenant's user administrator can set any
 * user's mail): it is only ever trusted to link an account when the token also says
 * `xms_edov: true` (the email domain's owner is verified), and even then only under the
 * rules in users.ts.
 */
import type { IDToken } from 'openid-client';
import { EntraError } from './errors.ts';
import { ID_TOKEN_SKEW_S } from './client.ts';
import { isConsumerTenant } from './tenants.ts';
import { GUID, isGuid } from '../../util/security.ts';

export { GUID, isGuid } from '../../util/security.ts';
const AMR_VALUE = /^[A-Za-z0-9_-]{1,32}$/;
const MAX_NAME = 256;
const MAX_EMAIL = 320;
/** the login_hint claim kept in the session cookie: printable, bounded */
export const LOGIN_HINT = /^[\x21-\x7e]{1,512}$/;

export interface EntraIdentity {
  /** tenant id (lower case) */
  readonly tid: string;
  /** object id (lower case): with tid, the user's stable key */
  readonly oid: string;
  readonly name: string;
  /** the ID token's `email`, or null (then Graph is asked); never a key */
  readonly email: string | null;
  /** the token says the email's domain owner is verified (`xms_edov: true`) */
  readonly emailVerified: boolean;
  /** Entra's authentication methods, when it sent any */
  readonly amr: readonly string[];
  /**
   * the `login_hint` optional claim (opaque; Token configuration → Add optional claim):
   * sent back as `login_hint` when re-authenticating and as `logout_hint` on sign-out
   */
  readonly loginHint: string | null;
  /** Entra's session id (`sid`): front-channel sign-out names it (frontchannel.ts); null when absent */
  readonly sid: string | null;
  /** the app roles assigned to the person for this app (`roles` claim), values as defined in the app registration */
  readonly roles: readonly string[];
  /** group object ids (`groups` claim), when the app registration sends them */
  readonly groups: readonly string[];
  /** Entra left the groups out because there are too many (`_claim_names.groups` or `hasgroups`) */
  readonly groupsOverage: boolean;
}

/** an app role value: Entra allows no spaces; bounded so a session cookie stays small */
export const ROLE_VALUE = /^[A-Za-z0-9._:/-]{1,120}$/;
const MAX_ROLES = 50;
const MAX_GROUPS = 200;

function list(value: unknown, ok: (v: string) => boolean, max: number): readonly string[] {
  if (!Array.isArray(value)) return Object.freeze([]);
  return Object.freeze([...new Set(value.filter((v): v is string => typeof v === 'string' && ok(v)))].slice(0, max));
}

/** an Entra session id as it may appear in a front-channel sign-out URL: bounded, URL-safe text */
export const SID_PATTERN = /^[A-Za-z0-9._~:-]{1,200}$/;

export interface ExpectedToken {
  readonly tenantId: string;
  readonly clientId: string;
  readonly issuer: string;
  /** epoch ms */
  readonly now: number;
}

/** A plausible email address (one @, no spaces or controls, bounded), or null. */
export function plausibleEmail(value: unknown): string | null {
  if (typeof value !== 'string') return null;
  const v = value.trim();
  if (v.length < 3 || v.length > MAX_EMAIL || !/^[^\s@\p{Cc}]+@[^\s@\p{Cc}]+$/u.test(v)) return null;
  return v;
}

function text(value: unknown, max: number): string {
  return typeof value === 'string'
    ? value
        .replace(/\p{Cc}/gu, '')
        .trim()
        .slice(0, max)
    : '';
}

/** Check the claims openid-client does not, and extract the identity; throws EntraError. */
export function identityFromClaims(claims: Readonly<IDToken>, expected: ExpectedToken): EntraIdentity {
  const c = claims as Readonly<Record<string, unknown>>;
  if (!isGuid(c.tid)) throw new EntraError('SSO_TOKEN_INVALID');
  // a personal Microsoft account is never a member of an organisation (belt and braces: no such tenant is configurable)
  if (isConsumerTenant(c.tid)) throw new EntraError('SSO_PERSONAL_ACCOUNT');
  if (c.tid.toLowerCase() !== expected.tenantId.toLowerCase()) throw new EntraError('SSO_WRONG_TENANT');
  // belt and braces: openid-client compared these already
  const aud = Array.isArray(c.aud) ? c.aud : [c.aud];
  if (c.iss !== expected.issuer || !aud.includes(expected.clientId)) throw new EntraError('SSO_TOKEN_INVALID');
  // the token was issued to us: an `azp` naming another client, or several audiences
  // without an `azp`, is a token for someone else
  if (c.azp !== undefined && c.azp !== expected.clientId) throw new EntraError('SSO_TOKEN_INVALID');
  if (aud.length > 1 && c.azp === undefined) throw new EntraError('SSO_TOKEN_INVALID');
  if (typeof c.iat !== 'number' || c.iat > expected.now / 1000 + ID_TOKEN_SKEW_S) throw new EntraError('SSO_TOKEN_INVALID');
  if (!isGuid(c.oid)) throw new EntraError('SSO_TOKEN_INVALID');
  const email = plausibleEmail(c.email);
  const amr = Array.isArray(c.amr) ? c.amr.filter((v): v is string => typeof v === 'string' && AMR_VALUE.test(v)).slice(0, 8) : [];
  return Object.freeze({
    tid: c.tid.toLowerCase(),
    oid: c.oid.toLowerCase(),
    name: text(c.name, MAX_NAME) || text(c.preferred_username, MAX_NAME),
    email,
    emailVerified: email !== null && c.xms_edov === true,
    amr: Object.freeze(amr),
    loginHint: typeof c.login_hint === 'string' && LOGIN_HINT.test(c.login_hint) ? c.login_hint : null,
    sid: typeof c.sid === 'string' && SID_PATTERN.test(c.sid) ? c.sid : null,
    roles: list(c.roles, (v) => ROLE_VALUE.test(v), MAX_ROLES),
    groups: list(c.groups, (v) => GUID.test(v), MAX_GROUPS).map((g) => g.toLowerCase()),
    groupsOverage: c.hasgroups === true || (typeof c._claim_names === 'object' && c._claim_names !== null && 'groups' in c._claim_names),
  });
}

/**
 * openid-client refused the ID token because its `iss` is not the configured tenant's:
 * when the (unverified) `tid` names another tenant, say so instead of "could not be
 * verified". Only the message changes: the sign-in is refused either way.
 */
export function explainRefusedToken(err: EntraError, tenantId: string): EntraError {
  if (err.code !== 'SSO_TOKEN_INVALID') return err;
  const opError = (err.cause as { cause?: unknown } | undefined)?.cause as { code?: unknown; cause?: unknown } | undefined;
  const detail = opError?.cause as { claim?: unknown; claims?: { tid?: unknown } } | undefined;
  if (
    opError?.code === 'OAUTH_JWT_CLAIM_COMPARISON_FAILED' &&
    detail?.claim === 'iss' &&
    isGuid(detail.claims?.tid) &&
    detail.claims.tid.toLowerCase() !== tenantId.toLowerCase()
  ) {
    return new EntraError(isConsumerTenant(detail.claims.tid) ? 'SSO_PERSONAL_ACCOUNT' : 'SSO_WRONG_TENANT', { cause: err.cause });
  }
  return err;
}
