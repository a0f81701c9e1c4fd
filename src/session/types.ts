/** What a signed-in session holds (sealed in the session cookie). */
export interface SessionData {
  /** format version */
  readonly v: 1;
  /** session id (random); the `sid` claim */
  readonly sid: string;
  /** realm the session belongs to: `staff` or `portal:<clientId>` */
  readonly realm: string;
  /** the host it was issued for (canonical, lower case) */
  readonly host: string;
  /** stable user id in the gateway's store; the `sub` claim */
  readonly uid: string;
  readonly email: string;
  readonly name: string;
  /** staff role */
  readonly role: 'admin' | 'member' | null;
  /** portal client id, or null for staff */
  readonly client: string | null;
  /**
   * what the gateway itself checked: ["pwd","otp"], ["pwd","otp","rcv"], ["pwd"] or ["sso"]
   * (never a value Microsoft sent: those are idpAmr)
   */
  readonly amr: readonly string[];
  /** SSO sessions: the `amr` values of Microsoft's ID token, as Microsoft sent them (absent in cookies from before this field) */
  readonly idpAmr?: readonly string[];
  /** when the user authenticated (epoch seconds); the `auth_time` claim */
  readonly authTime: number;
  /** when the session was created (epoch ms) */
  readonly iat: number;
  /** last activity (epoch ms), refreshed at most once a minute */
  readonly seen: number;
  /**
   * set for SSO sessions: the Entra tenant and object id, the ID token's `login_hint` claim
   * when the app registration sends it (end-session's `logout_hint`, re-sign-in's
   * `login_hint`), and `sid`: the Entra session the sign-in came from (front-channel
   * sign-out), when Entra sent one
   */
  readonly idp: { readonly tid: string; readonly oid: string; readonly loginHint?: string; readonly sid?: string } | null;
  /** portal SSO: the person's app roles from Entra (`roles` claim), sent to the portal app */
  readonly roles?: readonly string[];
}

/** The identity sent to upstreams (derived from a valid session). */
export interface Identity {
  readonly sub: string;
  readonly email: string;
  readonly name: string;
  readonly realm: string;
  readonly client: string | null;
  readonly role: 'admin' | 'member' | null;
  /** what the gateway checked (the `amr` claim) */
  readonly amr: readonly string[];
  /** SSO: what Microsoft says it checked (the `idp_amr` claim); null for local sign-ins */
  readonly idpAmr: readonly string[] | null;
  readonly authTime: number;
  readonly sid: string;
  /** Entra app roles (portal SSO), when any */
  readonly roles?: readonly string[];
}

const SSO_AMR: readonly string[] = Object.freeze(['sso']);

/**
 * The gateway's `amr` and Microsoft's, kept apart: a backend reading `otp` in `amr` may
 * take it for the gateway's TOTP, so an SSO session's `amr` is only ["sso"] and Microsoft's
 * values travel as `idp_amr`. Cookies sealed before the two were separated (Microsoft's
 * values merged after "sso") are read the same way.
 */
export function authMethods(s: Pick<SessionData, 'amr' | 'idpAmr' | 'idp'>): { amr: readonly string[]; idpAmr: readonly string[] | null } {
  if (s.idp === null && !s.amr.includes('sso')) return { amr: s.amr, idpAmr: null };
  return { amr: SSO_AMR, idpAmr: s.idpAmr ?? Object.freeze(s.amr.filter((a) => a !== 'sso')) };
}

export function identityOf(s: SessionData): Identity {
  const { amr, idpAmr } = authMethods(s);
  const id: Identity = {
    sub: s.uid,
    email: s.email,
    name: s.name,
    realm: s.realm,
    client: s.client,
    role: s.role,
    amr,
    idpAmr,
    authTime: s.authTime,
    sid: s.sid,
  };
  return s.roles && s.roles.length > 0 ? { ...id, roles: s.roles } : id;
}
