/**
 * The gate's first question, asked by Fastify's proxy route and by the fast lane alike:
 * what may happen to this path on this site? The one place that decides it.
 */
import { isPublicPath, type Site } from '../routing/sites.ts';
import { isReservedPath } from '../routing/reserved.ts';

/** the methods proxied (Fastify's proxy route and the fast lane; others are answered 404 by the gateway) */
export const PROXIED_METHODS: readonly string[] = Object.freeze(['DELETE', 'GET', 'HEAD', 'PATCH', 'POST', 'PUT', 'OPTIONS']);

/** refuse: answered 404 and never proxied; public: proxied without identity; session: proxied for a valid session only */
export type GateRoute = 'refuse' | 'public' | 'session';

/** `url`: the canonical path and query (src/routing/path.ts) */
export function gateRoute(site: Site, url: string): GateRoute {
  const q = url.indexOf('?');
  const path = q === -1 ? url : url.slice(0, q);
  // never proxied: the reserved prefix (any spelling that normalised to it) and the central callback host
  if (isReservedPath(path) || site.kind === 'central') return 'refuse';
  return isPublicPath(site, path) ? 'public' : 'session';
}
