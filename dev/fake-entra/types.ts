// Public and internal types of the Entra ID stand-in.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Provider } from 'oidc-provider';
import type { TenantKeys } from './keys.ts';
import type { Refusal } from './errors.ts';

export type { Refusal };

export interface FakeUser {
  /** object id (GUID) — `oid` in tokens, `id` in Graph */
  oid: string;
  name: string;
  /** `preferred_username` (usually the UPN) */
  preferredUsername: string;
  /** `email` claim of the ID token; omitted from the token when undefined */
  email?: string;
  /**
   * Is the email's domain one the tenant verified (Entra's "email domain owner verified")?
   * Default true. Strict mode, as Entra does: an unverified email is left out of the ID
   * token unless the app requests the `xms_edov` optional claim (then the token carries
   * the email with `xms_edov: false`). `xms_edov` itself is only sent when requested.
   */
  emailVerified?: boolean;
  /** Graph `mail` (defaults to `email`, else null) */
  mail?: string;
  /** Graph `userPrincipalName` (defaults to `preferredUsername`) */
  userPrincipalName?: string;
  /** app roles assigned to the user, per app (client id): the ID token's `roles` claim */
  appRoles?: Record<string, string[]>;
  /** group object ids: the ID token's `groups` claim (as with groupMembershipClaims set) */
  groups?: string[];
  /** too many groups for the token: Entra sends `_claim_names`/`_claim_sources` (overage) instead of `groups` */
  groupsOverage?: boolean;
}

export interface FakeTenant {
  /** tenant id (GUID) */
  id: string;
  /** display name, used on pages and in AADSTS messages */
  name: string;
  users: FakeUser[];
  /**
   * Users may consent to apps for themselves (Enterprise applications → Consent and
   * permissions). Strict mode: a user of this tenant signing in to a multi-tenant app that
   * has no consent here sees "Permissions requested"; accepting creates the app's service
   * principal in the tenant (the app is then "present": client credentials work) and a
   * grant for that user only. Default false: only an admin can consent (AADSTS65001).
   */
  allowUserConsent?: boolean;
}

export interface FakeApp {
  clientId: string;
  clientSecret: string;
  /** tenant id of the tenant the app is registered in */
  homeTenant: string;
  multiTenant: boolean;
  /**
   * The app registration's one list of redirect URIs (Authentication → Web → Redirect URIs).
   * As in Entra, every URI the app sends — authorize, admin consent and sign-out's
   * post_logout_redirect_uri — must be in it, exactly; anything else is AADSTS50011.
   */
  redirectUris: string[];
  /** optional claims of the ID token (Token configuration); `xms_edov` and `login_hint` are only sent when listed */
  optionalClaims?: Array<'xms_edov' | 'login_hint'>;
  /** the "Front-channel logout URL" of the app registration (fe.signOutOfMicrosoft) */
  frontChannelLogoutUrl?: string;
  /** uploaded certificates (PEM) for client assertions (fake-entra/assertions.ts) */
  certificates?: string[];
}

export interface StartFakeEntraOptions {
  /** default 0 (random port); host is always 127.0.0.1 */
  port?: number;
  tenants: FakeTenant[];
  apps: FakeApp[];
  /**
   * 'global' (default): Microsoft Graph is `https://graph.microsoft.com` (served at `${url}/graph`);
   * 'national': the stand-in plays a national cloud whose Graph resource is its own
   * `graphUrl`, and refuses the global Graph's scopes (AADSTS500011) as such a cloud does.
   */
  cloud?: 'global' | 'national';
  /**
   * Behave as Microsoft documents (default true; false only for tests of the stand-in's
   * own friendly mode): the browser's Microsoft session is reused unless `prompt` says
   * otherwise (even an account of another tenant), unverified emails are left out of ID
   * tokens, user consent is modelled, Graph checks the token's scopes, and an unregistered
   * post_logout_redirect_uri is an error page.
   */
  strict?: boolean;
}

export interface IdTokenOverrideResult {
  /** the complete claim set to sign (spread the input to modify it); default: the input */
  claims?: Record<string, unknown>;
  /** default RS256 with the tenant key; ES256 uses a key that is not in the JWKS; none is unsigned */
  alg?: 'none' | 'ES256' | 'RS256';
  /** RS256 with a key (and kid) that is not in the tenant's JWKS */
  unknownKey?: boolean;
  /** return this text verbatim as the id_token */
  raw?: string;
}

export type IdTokenOverride = (claims: Record<string, unknown>) => IdTokenOverrideResult;

export interface RecordedRequest {
  /** the tenant path segment as sent (may be an unknown tenant) */
  tenant: string;
  params: Record<string, string>;
}

export interface RecordedTokenRequest extends RecordedRequest {
  /** how the client authenticated (the secret itself is never recorded) */
  clientAuth: 'client_secret_post' | 'client_secret_basic' | 'private_key_jwt' | 'none';
  clientId: string | undefined;
}

export interface ConsentCallback {
  tenant: string;
  clientId: string;
  outcome: 'accepted' | 'declined';
  redirectUri: string;
  scope: string | undefined;
  state: string | undefined;
}

export interface FollowOptions {
  /** on the sign-in page, sign in as this user (oid); default: the auto-login user, else fail */
  as?: string;
  /** press Cancel on the sign-in (unless `as` picks an account) / admin-consent / permissions page */
  cancel?: boolean;
  /** the browser (cookie jar) to use: keeps the Microsoft session between calls; default a fresh one */
  browser?: FakeBrowser;
}

/** A cookie jar for follow(): the same browser across several sign-ins. */
export interface FakeBrowser {
  /** the stand-in's cookies this browser holds, `name=value; …` (undefined: none) */
  header(): string | undefined;
  store(setCookies: string[]): void;
}

export type ConsentKind = 'admin' | 'user';

export interface FakeEntra {
  /** authorityHost, e.g. http://127.0.0.1:PORT; the issuer of tenant T is `${url}/${T}/v2.0` */
  readonly url: string;
  /** Graph base URL, `${url}/graph`: GET `${graphUrl}/v1.0/me` with a Bearer access token */
  readonly graphUrl: string;
  /** the Graph resource (application ID URI) scopes name: `https://graph.microsoft.com`, or `graphUrl` for a national cloud */
  readonly graphResource: string;
  /** answer invalid_client token errors (401) with a WWW-Authenticate challenge, as Entra does in some cases */
  challengeInvalidClient(on: boolean): void;
  /** refuse the next sign-in (authorize: after the person signs in) or token request with this Entra error */
  refuseNext(endpoint: 'authorize' | 'token', kind: Refusal): void;
  /** Graph refuses every call: 403 Authorization_RequestDenied, or 401 InvalidAuthenticationToken; null: normal */
  refuseGraph(kind: 'forbidden' | 'invalid-token' | null): void;
  close(): Promise<void>;
  /** upload a certificate (PEM or DER) to the app registration, as in Certificates & secrets → Certificates */
  uploadCertificate(clientId: string, certificate: string | Buffer): void;
  /**
   * The user signs out of Microsoft: their session in the tenant ends (the next sign-in gets a new
   * `sid`) and the front-channel logout URLs Microsoft would load in hidden frames are returned.
   */
  signOutOfMicrosoft(tenantId: string, oid: string): string[];
  /** delete an uploaded certificate by its SHA-1 thumbprint (hex) */
  removeCertificate(clientId: string, thumbprint: string): void;
  /** sign this user in on every following interactive authorize request of the tenant (null: show the page) */
  setAutoLogin(tenantId: string, oid: string | null): void;
  /** record admin consent for a multi-tenant app in a foreign tenant */
  grantConsent(tenantId: string, clientId: string): void;
  /** how the app came to be present in a tenant: 'admin', 'user' (a user consented for themselves), or null */
  consentKind(tenantId: string, clientId: string): ConsentKind | null;
  /** a new browser (empty cookie jar) to pass to follow() */
  browser(): FakeBrowser;
  revokeConsent(tenantId: string, clientId: string): void;
  /** true: every endpoint answers 503; 'reset': every connection is destroyed; false: back to normal */
  setDown(down: boolean | 'reset'): void;
  /** delay every response by this many milliseconds (0: off) */
  setDelay(ms: number): void;
  /** serve invalid JSON as discovery document, or an invalid JWKS */
  setGarbage(kind: 'discovery' | 'jwks' | null): void;
  /** re-mint the next id_token issued by any token endpoint; null clears a pending override */
  overrideNextIdToken(fn: IdTokenOverride | null): void;
  /**
   * Act as a browser: follow `url` (an authorize or admin-consent URL) through the
   * stand-in's redirects and pages with a fresh cookie jar, and resolve with the first
   * URL outside the stand-in (the client's redirect_uri with code/state or error).
   * Rejects with FakeEntraPageError if an error page or an unanswered sign-in page is reached.
   */
  follow(url: string | URL, options?: FollowOptions): Promise<URL>;
  readonly authorizeRequests: RecordedRequest[];
  readonly tokenRequests: RecordedTokenRequest[];
  readonly consentCallbacks: ConsentCallback[];
  /** Graph calls: which endpoint, which tenant/user the token belonged to (null if rejected) */
  readonly graphRequests: Array<{ path: string; status: number; tenant: string | null; oid: string | null }>;
}

// ---- internal ----

/** what is known of a tenant before its oidc-provider instance exists */
export interface TenantBase {
  readonly id: string;
  readonly name: string;
  readonly issuer: string;
  /** by lower-cased oid */
  readonly users: ReadonlyMap<string, FakeUser>;
  readonly keys: TenantKeys;
  readonly allowUserConsent: boolean;
}

export interface TenantRuntime extends TenantBase {
  readonly provider: Provider;
  /** the provider's request listener */
  readonly handle: (req: IncomingMessage, res: ServerResponse) => Promise<void>;
}

/** shared mutable state of one running stand-in */
export interface Runtime {
  url: string;
  graphUrl: string;
  graphResource: string;
  challengeInvalidClient: boolean;
  readonly refusals: { authorize: Refusal | null; token: Refusal | null };
  graphRefusal: 'forbidden' | 'invalid-token' | null;
  readonly tenants: Map<string, TenantRuntime>;
  readonly apps: ReadonlyMap<string, FakeApp>;
  readonly strict: boolean;
  /** the app's service principal in a foreign tenant: by consentKey; `users` who consented for themselves */
  readonly consents: Map<string, { kind: ConsentKind; users: Set<string> }>;
  /** the browser's Microsoft session (stand-in-wide cookie, like login.microsoftonline.com's): id → account */
  readonly browserSessions: Map<string, { tenant: string; oid: string }>;
  readonly autoLogin: Map<string, string>;
  /** code_challenge values of authorize requests that asked for offline_access */
  readonly offlineChallenges: Set<string>;
  overrideNext: IdTokenOverride | null;
  garbage: 'discovery' | 'jwks' | null;
  down: boolean | 'reset';
  delayMs: number;
  readonly authorizeRequests: RecordedRequest[];
  readonly tokenRequests: RecordedTokenRequest[];
  readonly consentCallbacks: ConsentCallback[];
  readonly graphRequests: FakeEntra['graphRequests'];
}

export function consentKey(tenantId: string, clientId: string): string {
  return `${tenantId.toLowerCase()}|${clientId.toLowerCase()}`;
}

export function findTenant(rt: Runtime, segment: string): TenantRuntime | undefined {
  return rt.tenants.get(segment.toLowerCase());
}

/** Can `clientId` be used in `tenant`? ('ok', or why not) */
export function appStatus(
  rt: Runtime,
  tenant: { readonly id: string },
  clientId: string,
): { kind: 'ok'; app: FakeApp } | { kind: 'unknown' } | { kind: 'no-consent'; app: FakeApp } {
  const app = rt.apps.get(clientId.toLowerCase());
  if (!app) return { kind: 'unknown' };
  if (app.homeTenant.toLowerCase() === tenant.id.toLowerCase()) return { kind: 'ok', app };
  if (!app.multiTenant) return { kind: 'unknown' };
  return rt.consents.has(consentKey(tenant.id, app.clientId)) ? { kind: 'ok', app } : { kind: 'no-consent', app };
}

/** Has this user (or an admin for everyone) consented to the app in the tenant? Home apps need no consent. */
export function userConsented(rt: Runtime, tenant: { readonly id: string }, app: FakeApp, oid: string): boolean {
  if (app.homeTenant.toLowerCase() === tenant.id.toLowerCase()) return true;
  const c = rt.consents.get(consentKey(tenant.id, app.clientId));
  return c !== undefined && (c.kind === 'admin' || c.users.has(oid.toLowerCase()));
}

/** Record a consent: an admin's covers everyone; a user's adds that user (the service principal exists either way). */
export function recordConsent(rt: Runtime, tenant: { readonly id: string }, app: FakeApp, kind: ConsentKind, oid?: string): void {
  const key = consentKey(tenant.id, app.clientId);
  const c = rt.consents.get(key) ?? { kind, users: new Set<string>() };
  if (kind === 'admin') c.kind = 'admin';
  if (oid) c.users.add(oid.toLowerCase());
  rt.consents.set(key, c);
}
