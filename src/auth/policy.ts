/**
 * Sign-in policy per site, from the SSO settings that staff admins edit (stored in
 * the store so every replica sees a change within CACHE_MS, without restart).
 *
 * - staff: password + TOTP always available unless SSO is enabled AND SSO-only is on;
 *   "Sign in with Microsoft" when SSO is enabled.
 * - portal client: SSO when the client's tenant is set and SSO is enabled (and the
 *   portal's multi-tenant app is configured); password sign-in unless the client
 *   turned it off while SSO is on; TOTP per the client's MFA policy.
 *
 * The same rules decide whether existing sessions may go on (realmSessionRules, read by
 * src/session/revocation.ts): a password session ends when password sign-in is no longer
 * allowed, an SSO session when SSO is off or its tenant is not the configured one. And
 * every write of these settings goes through putSignInSettings, which stamps the moment a
 * way of signing in was taken away (`passwordSessionsValidAfter`, `ssoSessionsValidAfter`):
 * sessions started before it stay ended even when the setting is turned back.
 */
import { boundedCache } from '../util/bounded-cache.ts';
import type { Config } from '../config/schema.ts';
import { portalRealm, STAFF_REALM, type Site } from '../routing/sites.ts';
import { StoreError, type Setting, type Store } from '../store/types.ts';
import type { RealmSessionRules } from '../session/revocation.ts';
import type { MicrosoftIds } from './entra/diagnostics.ts';

export const STAFF_SSO_KEY = 'sso.staff';
export const portalAuthKey = (clientId: string): string => `portal.auth.${clientId}`;

/** Staff SSO settings (Settings → Security → Single Sign-On). */
export interface StaffSsoSettings {
  readonly tenantId: string | null;
  readonly clientId: string | null;
  /** sealed with the encryption key (secretbox, aad `sso.staff`); never sent to a browser */
  readonly clientSecretEnc: string | null;
  readonly secretSetAt: number | null;
  /** when the client secret expires (entered by the admin; Azure shows it), epoch ms; null: not entered */
  readonly secretExpiresAt?: number | null;
  /** certificate credentials (src/auth/entra/staff-credentials.ts), oldest first */
  readonly certificates?: readonly StaffCertificate[];
  /** staff roles from Entra (src/auth/entra/roles.ts): members of these app roles or groups are admins */
  readonly roleMapping?: RoleMapping | null;
  /** fingerprint (hash of tenant, client id and secret) of the values that last passed Test Connection */
  readonly testedFingerprint: string | null;
  readonly testedAt: number | null;
  readonly enabled: boolean;
  readonly ssoOnly: boolean;
  /** create unknown members of the tenant as staff `member`s on first SSO sign-in */
  readonly autoProvision: boolean;
  /**
   * link an unlinked account with no password, authenticator or admin role to the
   * Microsoft identity whose token vouches for its email (`xms_edov`); see entra/users.ts
   */
  readonly autoLink: boolean;
  readonly updatedBy: string | null;
  readonly updatedAt: number | null;
}

/**
 * When the realm last took a way of signing in away (epoch ms; 0: never): sessions of
 * that kind started before it are over. Written by putSignInSettings only.
 */
export interface SessionEpochs {
  readonly passwordSessionsValidAfter: number;
  readonly ssoSessionsValidAfter: number;
}

/** Which Entra claim makes a staff member an admin, and its values (app role values, or group object ids). */
export interface RoleMapping {
  readonly source: 'roles' | 'groups';
  readonly values: readonly string[];
}

/** A certificate credential of the staff app: the certificate in clear, its private key sealed. */
export interface StaffCertificate {
  readonly pem: string;
  readonly thumbprint: string;
  readonly x5tS256: string;
  readonly notBefore: number;
  readonly notAfter: number;
  /** the PKCS#8 private key, sealed with the encryption key (aad `sso.staff.cert.<x5tS256>`) */
  readonly keyEnc: string;
  readonly createdAt: number;
  readonly createdBy: string | null;
  /** fingerprint (tenant, client id, certificate) of the settings it last passed Test Connection with */
  readonly testedFingerprint: string | null;
  readonly testedAt: number | null;
  /** the last Test Connection with it (shown on the page) */
  readonly lastTest?: {
    readonly ok: boolean;
    readonly at: number;
    readonly code: string | null;
    readonly message: string;
    readonly hint: string | null;
  } | null;
}

export const DEFAULT_STAFF_SSO: StaffSsoSettings & SessionEpochs = Object.freeze({
  tenantId: null,
  clientId: null,
  clientSecretEnc: null,
  secretSetAt: null,
  testedFingerprint: null,
  testedAt: null,
  enabled: false,
  ssoOnly: false,
  autoProvision: false,
  autoLink: false,
  updatedBy: null,
  updatedAt: null,
  passwordSessionsValidAfter: 0,
  ssoSessionsValidAfter: 0,
});

/**
 * What the admin consent callback established for a client's tenant. `granted` is
 * recorded only when an app-only token from the tenant succeeded (`appPresent`): that
 * proves Regentra's app has a service principal there, which an administrator's consent
 * creates — but so does a user's own consent; `adminConsent` records that Microsoft's
 * answer (through the browser) said an administrator consented.
 */
export interface ConsentStatus {
  readonly status: 'none' | 'granted' | 'failed';
  /** when the status was recorded (for `granted`: when the app's presence was confirmed) */
  readonly at: number | null;
  readonly tenantId: string | null;
  readonly error: string | null;
  /** the callback said `admin_consent=True`; absent in records written before it was kept */
  readonly adminConsent?: boolean;
  /** an app-only token from the tenant succeeded at `at`; absent in records written before it was kept */
  readonly appPresent?: boolean;
  /** Microsoft's trace / correlation ids of a failure */
  readonly microsoft?: MicrosoftIds | null;
}

/** A client's portal authentication settings (Settings → Portal → Authentication). */
export interface PortalAuthSettings {
  readonly tenantId: string | null;
  readonly ssoEnabled: boolean;
  /** password sign-in stays allowed while SSO is on */
  readonly passwordAllowed: boolean;
  readonly consent: ConsentStatus;
  /** who gets an account at first Microsoft sign-in: anyone in the client's tenant, or only people an admin added */
  readonly provisioning: PortalProvisioning;
  /** as StaffSsoSettings.autoLink */
  readonly autoLink: boolean;
  readonly updatedBy: string | null;
  readonly updatedAt: number | null;
}

export const DEFAULT_PORTAL_AUTH: PortalAuthSettings & SessionEpochs = Object.freeze({
  tenantId: null,
  ssoEnabled: false,
  passwordAllowed: true,
  consent: Object.freeze({ status: 'none' as const, at: null, tenantId: null, error: null }),
  provisioning: 'tenant',
  autoLink: false,
  updatedBy: null,
  updatedAt: null,
  passwordSessionsValidAfter: 0,
  ssoSessionsValidAfter: 0,
});

export type PortalProvisioning = 'tenant' | 'invited';

export interface SignInPolicy {
  /** show and accept "Sign in with Microsoft" */
  readonly sso: boolean;
  /**
   * show and accept email + password — always with the built-in TOTP ("Users who sign in
   * via email/password (non-SSO) still use Regentra's built-in MFA"). Settings stored by an
   * earlier version with a portal's TOTP "not required" are read as required.
   */
  readonly password: boolean;
}

export interface PolicyService {
  forSite(site: Site): Promise<SignInPolicy>;
  staffSso(): Promise<StaffSsoSettings>;
  portalAuth(clientId: string): Promise<PortalAuthSettings>;
  /** drop cached settings (after a local write) */
  invalidate(): void;
}

/** How long settings are cached: the bound for a change to reach every replica. */
export const SETTINGS_CACHE_MS = 2_000;

/** What a realm's settings allow: the ways of signing in, and which SSO application signs in. */
interface RealmAccess {
  readonly sso: boolean;
  readonly password: boolean;
  /** the tenant SSO sessions come from (lower case), or null without SSO */
  readonly tenant: string | null;
  /** what identifies the SSO application and tenant: a change ends SSO sessions */
  readonly ssoIdentity: string | null;
}

function staffAccess(s: StaffSsoSettings): RealmAccess {
  // a credential: the client secret, or a certificate (src/auth/entra/staff-credentials.ts)
  const sso = s.enabled && s.tenantId !== null && s.clientId !== null && (s.clientSecretEnc !== null || (s.certificates?.length ?? 0) > 0);
  return {
    sso,
    password: !(sso && s.ssoOnly),
    tenant: sso ? s.tenantId.toLowerCase() : null,
    ssoIdentity: sso ? `${s.tenantId}|${s.clientId}`.toLowerCase() : null,
  };
}

function portalAccess(p: PortalAuthSettings, portalApp: boolean): RealmAccess {
  const sso = portalApp && p.ssoEnabled && p.tenantId !== null;
  return { sso, password: !sso || p.passwordAllowed, tenant: sso ? p.tenantId.toLowerCase() : null, ssoIdentity: sso ? p.tenantId.toLowerCase() : null };
}

const PORTAL_PREFIX = 'portal.auth.';

/** The realm whose sign-in settings live under `key`, or null for any other setting. */
function accessOf(config: Config, key: string, value: unknown): RealmAccess | null {
  if (key === STAFF_SSO_KEY) return staffAccess({ ...DEFAULT_STAFF_SSO, ...(value as Partial<StaffSsoSettings>) });
  if (key.startsWith(PORTAL_PREFIX))
    return portalAccess({ ...DEFAULT_PORTAL_AUTH, ...(value as Partial<PortalAuthSettings>) }, config.sites.portal?.entra !== undefined);
  return null;
}

/**
 * Write a setting at `expectedVersion` (as Store.putSetting). For a realm's sign-in
 * settings (staff SSO, a client's portal authentication), the write also stamps when a
 * way of signing in was taken away, in the same row (so every replica sees both at
 * once): password sign-in no longer allowed → `passwordSessionsValidAfter = now`; SSO
 * turned off, or its tenant or application changed → `ssoSessionsValidAfter = now`.
 * The stamps are kept from the stored value: a caller cannot reset them. The one way
 * these settings are written (admin pages, CLI).
 */
export async function putSignInSettings<T extends object>(
  store: Store,
  config: Config,
  key: string,
  next: T,
  expectedVersion: number,
  now: number,
): Promise<Setting<T>> {
  const stored = await store.getSetting<Partial<T> & Partial<SessionEpochs>>(key);
  const before = accessOf(config, key, stored?.value ?? {});
  if (before === null) return store.putSetting(key, next, expectedVersion);
  if ((stored?.version ?? 0) !== expectedVersion) throw new StoreError('CONFLICT', `setting ${key} changed since version ${expectedVersion}`);
  const after = accessOf(config, key, next) as RealmAccess;
  const epochs: SessionEpochs = {
    passwordSessionsValidAfter: before.password && !after.password ? now : (stored?.value.passwordSessionsValidAfter ?? 0),
    ssoSessionsValidAfter: before.sso && after.ssoIdentity !== before.ssoIdentity ? now : (stored?.value.ssoSessionsValidAfter ?? 0),
  };
  return store.putSetting(key, { ...next, ...epochs }, expectedVersion);
}

/**
 * What the realm's settings allow of existing sessions, read from the store (the caller
 * caches it: src/session/revocation.ts). An unknown realm allows nothing.
 */
export async function realmSessionRules(config: Config, store: Store, realm: string): Promise<RealmSessionRules> {
  let key: string | null = null;
  if (realm === STAFF_REALM) key = STAFF_SSO_KEY;
  const client = config.sites.portal?.clients.find((c) => portalRealm(c.id) === realm);
  if (client) key = portalAuthKey(client.id);
  if (key === null)
    return { password: false, sso: false, ssoTenant: null, passwordValidAfter: Number.MAX_SAFE_INTEGER, ssoValidAfter: Number.MAX_SAFE_INTEGER };
  const s = await store.getSetting<Partial<SessionEpochs>>(key);
  const access = accessOf(config, key, s?.value ?? {}) as RealmAccess;
  return {
    password: access.password,
    sso: access.sso,
    ssoTenant: access.tenant,
    passwordValidAfter: s?.value.passwordSessionsValidAfter ?? 0,
    ssoValidAfter: s?.value.ssoSessionsValidAfter ?? 0,
  };
}

export function createPolicyService(config: Config, store: Store): PolicyService {
  const cache = boundedCache<string, { value: unknown }>(20_000, { ttl: SETTINGS_CACHE_MS });
  const portalApp = config.sites.portal?.entra !== undefined;

  async function read<T>(key: string, fallback: T): Promise<T> {
    const hit = cache.get(key);
    if (hit) return hit.value as T;
    // the TTL runs from before the read, so that a value read just before a change on another
    // replica is dropped within SETTINGS_CACHE_MS of the change, however long the read took
    const start = cache.perf.now();
    const s = await store.getSetting<T>(key);
    const value = s ? { ...fallback, ...s.value } : fallback;
    cache.set(key, { value }, { start });
    return value;
  }

  const service: PolicyService = {
    staffSso: () => read(STAFF_SSO_KEY, DEFAULT_STAFF_SSO),
    portalAuth: (clientId) => read(portalAuthKey(clientId), DEFAULT_PORTAL_AUTH),
    invalidate: () => cache.clear(),
    async forSite(site) {
      if (site.kind === 'staff') {
        const { sso, password } = staffAccess(await service.staffSso());
        return { sso, password };
      }
      if (site.kind === 'portal' && site.clientId) {
        const p = await service.portalAuth(site.clientId);
        const { sso, password } = portalAccess(p, portalApp);
        return { sso, password };
      }
      return { sso: false, password: false };
    },
  };
  return service;
}
