/**
 * Microsoft's clouds: which Graph belongs to which sign-in authority, and the Graph
 * scopes derived from `entra.graphUrl`. A tenant lives in one cloud, and its Entra
 * knows only that cloud's Graph: asking the US Government authority for the global
 * `https://graph.microsoft.com/.default` is refused (AADSTS500011), so every scope the
 * gateway sends (sign-in `User.Read`, the app-only `.default` of Test Connection and of
 * the consent check, the admin consent link) names the configured Graph.
 *
 * Per Microsoft's national-cloud guidance, the global cloud may use the short `User.Read`;
 * elsewhere the full form `https://graph.microsoft.us/User.Read` is used, which names the
 * resource unambiguously. The pairs below are Microsoft's published endpoints
 * (learn.microsoft.com/graph/deployments); config validation (src/config/load.ts)
 * refuses any other pair unless `entra.allowInsecure` (a local stand-in) is set.
 */
import type { Config } from './schema.ts';

export interface MicrosoftCloud {
  readonly name: string;
  /** `entra.authorityHost` */
  readonly authorityHosts: readonly string[];
  /** `entra.graphUrl` values (the Graph service roots) of this cloud */
  readonly graphUrls: readonly string[];
}

export const GLOBAL_GRAPH = 'https://graph.microsoft.com';

export const MICROSOFT_CLOUDS: readonly MicrosoftCloud[] = Object.freeze([
  { name: 'Global (including Microsoft 365 GCC)', authorityHosts: ['https://login.microsoftonline.com'], graphUrls: [GLOBAL_GRAPH] },
  {
    name: 'US Government (GCC High, DoD)',
    authorityHosts: ['https://login.microsoftonline.us'],
    graphUrls: ['https://graph.microsoft.us', 'https://dod-graph.microsoft.us'],
  },
  {
    name: 'China (operated by 21Vianet)',
    authorityHosts: ['https://login.chinacloudapi.cn', 'https://login.partner.microsoftonline.cn'],
    graphUrls: ['https://microsoftgraph.chinacloudapi.cn'],
  },
]);

/** A URL as origin + path without trailing slashes (scheme and host lower-cased). */
export function normalizeRoot(url: string): string {
  try {
    const u = new URL(url);
    return `${u.origin}${u.pathname.replace(/\/+$/, '')}`;
  } catch {
    return url.replace(/\/+$/, '');
  }
}

/** Why this authority / Graph pair is not one of Microsoft's clouds (the setting at fault), or null. */
export function cloudMismatch(authorityHost: string, graphUrl: string): { setting: 'authorityHost' | 'graphUrl'; message: string } | null {
  const authority = normalizeRoot(authorityHost);
  const graph = normalizeRoot(graphUrl);
  const cloud = MICROSOFT_CLOUDS.find((c) => c.authorityHosts.includes(authority));
  if (!cloud) {
    const known = MICROSOFT_CLOUDS.flatMap((c) => c.authorityHosts).join(', ');
    return {
      setting: 'authorityHost',
      message: `${authority} is not a Microsoft Entra authority (one of ${known}; entra.allowInsecure: true only for a local stand-in)`,
    };
  }
  if (!cloud.graphUrls.includes(graph)) {
    return { setting: 'graphUrl', message: `${graph} is not Microsoft Graph of the ${cloud.name} cloud of ${authority}: use ${cloud.graphUrls.join(' or ')}` };
  }
  return null;
}

/** The Graph resource (application ID URI) scopes are built from: `entra.graphResource`, else `entra.graphUrl`. */
export function graphResource(config: Config): string {
  return normalizeRoot(config.entra.graphResource ?? config.entra.graphUrl);
}

/** The app-only scope: `{graph}/.default` (Test Connection, the consent check, the admin consent link). */
export function graphDefaultScope(config: Config): string {
  return `${graphResource(config)}/.default`;
}

/** The sign-in scopes: OIDC plus Graph's User.Read (short only for the global Graph). */
export function signInScopes(config: Config): string {
  const resource = graphResource(config);
  return `openid profile email ${resource === GLOBAL_GRAPH ? 'User.Read' : `${resource}/User.Read`}`;
}
