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
  /** authentication methods, e.g. ["pwd","otp"] or ["sso","mfa"] */
  readonly amr: readonly string[];
  /** when the user authenticated (epoch seconds); the `auth_time` claim */
  readonly authTime: number;
  /** when the session was created (epoch ms) */
  readonly iat: number;
  /** last activity (epoch ms), refreshed at most once a minute */
  readonly seen: number;
  /**
   * set for SSO sessions: the Entra tenant and object id (for end-session), and `sid`: the
   * Entra session the sign-in came from (front-channel sign-out), when Entra sent one
   */
  readonly idp: { readonly tid: string; readonly oid: string; readonly sid?: string } | null;
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
  readonly amr: readonly string[];
  readonly authTime: number;
  readonly sid: string;
  /** Entra app roles (portal SSO), when any */
  readonly roles?: readonly string[];
}

export function identityOf(s: SessionData): Identity {
  const id: Identity = { sub: s.uid, email: s.email, name: s.name, realm: s.realm, client: s.client, role: s.role, amr: s.amr, authTime: s.authTime, sid: s.sid };
  return s.roles && s.roles.length > 0 ? { ...id, roles: s.roles } : id;
}
