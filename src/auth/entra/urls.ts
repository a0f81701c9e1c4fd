/**
 * The URLs Entra sees: redirect URIs, the tenant authority, admin consent and the
 * post-sign-out target. Built from the configuration only (never from a request's
 * Host header), so what is registered in the app registration is what is sent.
 */
import type { Config } from '../../config/schema.ts';
import { PATHS } from '../../routing/reserved.ts';
import { graphDefaultScope } from '../../config/entra-cloud.ts';

/** `{publicScheme}://{host}[:{publicPort}]` (the port only when not the scheme's default). */
export function publicOrigin(config: Config, host: string): string {
  const { publicScheme, publicPort } = config.server;
  const defaultPort = publicScheme === 'https' ? 443 : 80;
  const port = publicPort !== undefined && publicPort !== defaultPort ? `:${publicPort}` : '';
  return `${publicScheme}://${host.toLowerCase()}${port}`;
}

/** The OIDC redirect URI for a host: `{scheme}://{host}[:{port}]/.auth/callback`. */
export function redirectUriFor(config: Config, host: string): string {
  return `${publicOrigin(config, host)}${PATHS.callback}`;
}

/** `{authorityHost}/{tenantId}/v2.0`: the tenant's issuer (and discovery base). */
export function tenantAuthority(config: Config, tenantId: string): string {
  return `${config.entra.authorityHost.replace(/\/+$/, '')}/${tenantId.toLowerCase()}/v2.0`;
}

/** The app registration's "Front-channel logout URL" for a host (one per registration: the primary host). */
export function frontChannelLogoutUrlFor(config: Config, host: string): string {
  return `${publicOrigin(config, host)}${PATHS.frontchannelLogout}`;
}

/** The staff host that receives admin-consent callbacks (the first exact staff host). */
export function primaryStaffHost(config: Config): string {
  const hosts = config.sites.staff.hosts;
  return hosts.find((h) => !h.startsWith('*.')) ?? (hosts[0] as string).slice(2);
}

/**
 * The admin consent link a client's Azure AD administrator opens:
 * `{authorityHost}/{tenantId}/v2.0/adminconsent?client_id=…&scope={graph}/.default&redirect_uri=…&state=…`
 * (the configured cloud's Graph: ./cloud.ts)
 * with the staff host's `/.auth/consent/callback` as redirect URI.
 */
export function adminConsentUrl(config: Config, clientId: string, tenantId: string, state: string): string {
  const url = new URL(`${config.entra.authorityHost.replace(/\/+$/, '')}/${encodeURIComponent(tenantId.toLowerCase())}/v2.0/adminconsent`);
  url.searchParams.set('client_id', clientId);
  url.searchParams.set('scope', graphDefaultScope(config));
  url.searchParams.set('redirect_uri', `${publicOrigin(config, primaryStaffHost(config))}${PATHS.consentCallback}`);
  url.searchParams.set('state', state);
  return url.href;
}

/** Where Entra sends the browser after sign-out: this host's signed-out page. */
export function postLogoutRedirectUri(config: Config, host: string): string {
  return `${publicOrigin(config, host)}${PATHS.signedOut}`;
}

/** Every redirect URI one Entra app registration must list. */
export interface AppRedirectUris {
  /** to add under Authentication → Web → Redirect URIs, in this order */
  readonly uris: readonly string[];
  /** wildcard hosts: Entra registers no wildcard redirect URI, so each real host needs its own */
  readonly wildcardHosts: readonly string[];
  /**
   * Authentication → Front-channel logout URL (one per app; src/auth/entra/frontchannel.ts),
   * or null when no single host accepts every tenant of the app (portals without a central
   * callback host: each portal host accepts only its own client's tenant)
   */
  readonly frontChannelLogoutUrl: string | null;
}

export interface RedirectUriList {
  readonly staff: AppRedirectUris;
  /** null: no portal site */
  readonly portal: AppRedirectUris | null;
}

const exact = (hosts: readonly string[]) => hosts.filter((h) => !h.startsWith('*.'));
const wild = (hosts: readonly string[]) => hosts.filter((h) => h.startsWith('*.'));

/**
 * Every URI the gateway sends Microsoft, per app: Entra keeps one redirect-URI list per app
 * registration and refuses any other redirect_uri (authorize, admin consent) or
 * post_logout_redirect_uri with AADSTS50011 on its own page. The one source for the admin
 * pages, `regentra-gateway sso redirect-uris` and the docs' instructions.
 *
 * - staff app: the callback and the signed-out page on every staff host;
 * - portal app: the callback on every portal host (or only the central callback host),
 *   the signed-out page on every portal host, and the admin-consent callback on the staff host.
 */
export function registeredRedirectUris(config: Config): RedirectUriList {
  const staffHosts = exact(config.sites.staff.hosts);
  const staff: AppRedirectUris = {
    uris: [...staffHosts.map((h) => redirectUriFor(config, h)), ...staffHosts.map((h) => postLogoutRedirectUri(config, h))],
    wildcardHosts: wild(config.sites.staff.hosts),
    frontChannelLogoutUrl: `${publicOrigin(config, primaryStaffHost(config))}${PATHS.frontchannelLogout}`,
  };
  const portal = config.sites.portal;
  if (!portal) return { staff, portal: null };
  const allHosts = portal.clients.flatMap((c) => c.hosts);
  const portalHosts = [...new Set(exact(allHosts))];
  const callbacks =
    portal.centralCallbackHost !== undefined ? [redirectUriFor(config, portal.centralCallbackHost)] : portalHosts.map((h) => redirectUriFor(config, h));
  return {
    staff,
    portal: {
      uris: [
        ...callbacks,
        ...portalHosts.map((h) => postLogoutRedirectUri(config, h)),
        `${publicOrigin(config, primaryStaffHost(config))}${PATHS.consentCallback}`,
      ],
      wildcardHosts: [...new Set(wild(allHosts))],
      frontChannelLogoutUrl: portal.centralCallbackHost !== undefined ? `${publicOrigin(config, portal.centralCallbackHost)}${PATHS.frontchannelLogout}` : null,
    },
  };
}
