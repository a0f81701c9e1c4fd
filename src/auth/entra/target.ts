/**
 * Which Entra app and tenant a site signs in with, read from the settings at the
 * moment of use (so a change reaches every replica within the policy cache time):
 *
 * - staff: the single-tenant app from Settings → Security → Single Sign-On;
 * - a client's portal: Regentra's multi-tenant app (config), pinned to the client's
 *   tenant from Settings → Portal → Authentication.
 */
import type { Core } from '../../core.ts';
import type { Site } from '../../routing/sites.ts';
import { portalRealm, STAFF_REALM } from '../../routing/sites.ts';
import { EntraError } from './errors.ts';
import { isGuid } from './claims.ts';
import type { EntraAppCredentials } from './secrets.ts';
import { staffCredentials } from './staff-credentials.ts';
import { portalAppCredentials } from './portal-credentials.ts';
import { isConsumerTenant } from './tenants.ts';

export interface SsoTarget {
  readonly kind: 'staff' | 'portal';
  /** `staff` or `portal:<clientId>` */
  readonly realm: string;
  /** the portal client id, or null for staff */
  readonly portalClient: string | null;
  readonly app: EntraAppCredentials;
  /** create unknown users on first sign-in */
  readonly autoProvision: boolean;
  /** link an account by an email the token vouches for (entra/users.ts) */
  readonly autoLink: boolean;
  /** portal flows go through this host when configured */
  readonly centralHost: string | null;
  /** the organisation's verified domain, sent as `domain_hint` (portal clients' `domainHint`) */
  readonly domainHint: string | null;
}

export async function staffTarget(core: Core, site: Site): Promise<SsoTarget> {
  const { policy } = core;
  if (!(await policy.forSite(site)).sso) throw new EntraError('SSO_DISABLED');
  const s = await policy.staffSso();
  // the newest working credential first, the others as fallbacks (staff-credentials.ts)
  const [first, ...others] = staffCredentials(core, s).map((c) => c.credential);
  if (!isGuid(s.tenantId) || isConsumerTenant(s.tenantId) || !s.clientId || !first) throw new EntraError('SSO_MISCONFIGURED');
  return Object.freeze({
    kind: 'staff',
    realm: STAFF_REALM,
    portalClient: null,
    autoProvision: s.autoProvision,
    autoLink: s.autoLink,
    centralHost: null,
    domainHint: null,
    app: Object.freeze({
      tenantId: s.tenantId.toLowerCase(),
      clientId: s.clientId,
      clientSecret: first.clientSecret,
      certificate: first.certificate ?? null,
      alternates: others,
    }),
  });
}

export async function portalTarget(core: Core, clientId: string): Promise<SsoTarget> {
  const { policy, sites, config } = core;
  const site = sites.bySiteRealm(portalRealm(clientId));
  const portalApp = portalAppCredentials(config, core.now());
  if (!site || !portalApp || !(await policy.forSite(site)).sso) throw new EntraError('SSO_DISABLED');
  const p = await policy.portalAuth(clientId);
  const tenantId = p.tenantId;
  if (!isGuid(tenantId) || isConsumerTenant(tenantId)) throw new EntraError('SSO_MISCONFIGURED');
  const domainHint = config.sites.portal?.clients.find((c) => c.id === clientId)?.domainHint ?? null;
  return Object.freeze({
    kind: 'portal',
    realm: site.realm,
    portalClient: clientId,
    autoProvision: p.provisioning !== 'invited',
    autoLink: p.autoLink,
    centralHost: config.sites.portal?.centralCallbackHost ?? null,
    domainHint,
    app: Object.freeze({ ...portalApp, tenantId: tenantId.toLowerCase() }),
  });
}

/** The target of the site a request is on (the central host has none). */
export function targetForSite(core: Core, site: Site): Promise<SsoTarget> {
  if (site.kind === 'staff') return staffTarget(core, site);
  if (site.kind === 'portal' && site.clientId) return portalTarget(core, site.clientId);
  return Promise.reject(new EntraError('SSO_DISABLED'));
}
