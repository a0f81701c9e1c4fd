/**
 * The URLs Entra sees: redirect URIs, the tenant authority, admin consent and the
 * post-sign-out target. Built from the configuration only (never from a request's
 * Host header), so what is registered in the app registration is what is sent.
 */
import type { Config } from '../../config/schema.ts';
import { PATHS } from '../../routing/reserved.ts';
import { graphDefaultScope } from './cloud.ts';

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
