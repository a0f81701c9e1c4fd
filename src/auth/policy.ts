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
import type { Setting, Store } from '../store/types.ts';
export { STAFF_SSO_KEY, PORTAL_AUTH_PREFIX, portalAuthKey, DEFAULT_STAFF_SSO, DEFAULT_PORTAL_AUTH } from '../settings/types.ts';
export type {
  StaffSsoSettings,
  SessionEpochs,
  RoleMapping,
  StaffCertificate,
  ConsentStatus,
  PortalAuthSettings,
  PortalProvisioning,
} from '../settings/types.ts';
import { STAFF_SSO_KEY, portalAuthKey, type PortalAuthSettings, type SessionEpochs, type StaffSsoSettings } from '../settings/types.ts';
import {
  portalAccess,
  readWithDefaults,
  SETTINGS,
  SettingsError,
  signInSpecOf,
  staffAccess,
  writeSetting,
  type DefaultedSpec,
  type RealmAccess,
  type SettingSpec,
} from '../settings/store.ts';
import type { RealmSessionRules } from '../session/revocation.ts';

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

/**
 * Write a realm's sign-in settings (or any setting) at `expectedVersion`, through the one
 * write path (src/settings/store.ts: validated by its schema; a sign-in setting stamps when
 * a way of signing in was taken away, so sessions started before stay ended).
 */
export async function putSignInSettings<T extends object>(
  store: Store,
  config: Config,
  key: string,
  next: T,
  expectedVersion: number,
  now: number,
): Promise<Setting<T>> {
  const spec = signInSpecOf(key);
  if (spec === null) throw new SettingsError('UNKNOWN_SETTING', key);
  return (await writeSetting(store, config, spec as SettingSpec<unknown>, key, next, expectedVersion, now)) as Setting<T>;
}

/**
 * What the realm's settings allow of existing sessions, read from the store (the caller
 * caches it: src/session/revocation.ts). An unknown realm allows nothing.
 */
export async function realmSessionRules(config: Config, store: Store, realm: string): Promise<RealmSessionRules> {
  let access: RealmAccess;
  let epochs: SessionEpochs;
  const client = config.sites.portal?.clients.find((c) => portalRealm(c.id) === realm);
  if (realm === STAFF_REALM) {
    const { value } = await readWithDefaults(store, SETTINGS.staffSso, STAFF_SSO_KEY);
    access = staffAccess(value);
    epochs = value;
  } else if (client) {
    const { value } = await readWithDefaults(store, SETTINGS.portalAuth, portalAuthKey(client.id));
    access = portalAccess(value, config.sites.portal?.entra !== undefined);
    epochs = value;
  } else {
    return { password: false, sso: false, ssoTenant: null, passwordValidAfter: Number.MAX_SAFE_INTEGER, ssoValidAfter: Number.MAX_SAFE_INTEGER };
  }
  return {
    password: access.password,
    sso: access.sso,
    ssoTenant: access.tenant,
    passwordValidAfter: epochs.passwordSessionsValidAfter,
    ssoValidAfter: epochs.ssoSessionsValidAfter,
  };
}

export function createPolicyService(config: Config, store: Store): PolicyService {
  const cache = boundedCache<string, { value: unknown }>(20_000, { ttl: SETTINGS_CACHE_MS });
  const portalApp = config.sites.portal?.entra !== undefined;

  // a stored value that does not match its schema throws (SettingsError CORRUPT): the
  // sign-in decision that needed it fails closed, and nothing is cached
  async function read<T>(spec: DefaultedSpec<T>, key: string): Promise<T> {
    const hit = cache.get(key);
    if (hit) return hit.value as T;
    // the TTL runs from before the read, so that a value read just before a change on another
    // replica is dropped within SETTINGS_CACHE_MS of the change, however long the read took
    const start = cache.perf.now();
    const { value } = await readWithDefaults(store, spec, key);
    cache.set(key, { value }, { start });
    return value;
  }

  const service: PolicyService = {
    staffSso: () => read(SETTINGS.staffSso, STAFF_SSO_KEY),
    portalAuth: (clientId) => read(SETTINGS.portalAuth, portalAuthKey(clientId)),
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
