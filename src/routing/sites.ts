/**
 * The host → site table (pure). A site is what one host name serves: the staff
 * app, one client's portal, or the portal's central OIDC callback host.
 * Built once per config; lookups cost O(number of labels) whatever the number of clients.
 */
import type { Config } from '../config/schema.ts';

export type SiteKind = 'staff' | 'portal' | 'central';

export interface Site {
  /** the realm sessions on this site belong to: `staff` or `portal:<clientId>`; `central` for the callback host */
  readonly realm: string;
  readonly kind: SiteKind;
  /** portal client id, or null */
  readonly clientId: string | null;
  /** human name: "Staff" or the client's name */
  readonly name: string;
  /** upstream origin, e.g. http://127.0.0.1:3001 (the config refuses a path) */
  readonly upstream: string;
  /** `aud` of the identity JWT for this site */
  readonly audience: string;
  /** public path prefixes (ending in '/') and exact paths */
  readonly publicPrefixes: readonly string[];
  readonly publicExact: ReadonlySet<string>;
  /** forward paths that upstreams may decode differently (`ambiguousPaths: allow`); otherwise they are a 400 */
  readonly allowAmbiguousPaths: boolean;
  readonly connectTimeoutMs: number;
  readonly responseTimeoutMs: number;
  readonly hosts: readonly string[];
}

export interface SiteTable {
  /** the site for a host name (any case, with or without port or trailing dot), or undefined */
  lookup(host: string | undefined): Site | undefined;
  readonly sites: readonly Site[];
  bySiteRealm(realm: string): Site | undefined;
}

export const STAFF_REALM = 'staff';
export const portalRealm = (clientId: string): string => `portal:${clientId}`;

export function buildSiteTable(config: Config): SiteTable {
  const sites: Site[] = [];
  const exact = new Map<string, Site>();
  const wildcard = new Map<string, Site>(); // key: ".support.example.com"

  const add = (site: Site) => {
    sites.push(site);
    for (const h of site.hosts) {
      if (h.startsWith('*.')) wildcard.set(h.slice(1), site);
      else exact.set(h, site);
    }
  };

  const staff = config.sites.staff;
  add(
    makeSite({
      realm: STAFF_REALM,
      kind: 'staff',
      clientId: null,
      name: 'Staff',
      upstream: staff.upstream,
      audience: staff.audience ?? 'staff',
      publicPaths: publicPaths(staff.publicPaths),
      timeouts: staff.timeouts,
      hosts: staff.hosts,
      allowAmbiguousPaths: staff.ambiguousPaths === 'allow',
    }),
  );

  const portal = config.sites.portal;
  if (portal) {
    // one copy of what every client's site shares (there may be thousands of clients)
    const shared = publicPaths(portal.publicPaths);
    for (const client of portal.clients) {
      add(
        makeSite({
          realm: portalRealm(client.id),
          kind: 'portal',
          clientId: client.id,
          name: client.name,
          upstream: client.upstream ?? portal.upstream,
          audience: portal.audience ?? 'portal',
          publicPaths: shared,
          timeouts: portal.timeouts,
          hosts: client.hosts,
          allowAmbiguousPaths: portal.ambiguousPaths === 'allow',
        }),
      );
    }
    if (portal.centralCallbackHost) {
      add(
        makeSite({
          realm: 'central',
          kind: 'central',
          clientId: null,
          name: 'Support portal sign-in',
          upstream: portal.upstream,
          audience: portal.audience ?? 'portal',
          publicPaths: publicPaths([]),
          timeouts: portal.timeouts,
          hosts: [portal.centralCallbackHost],
          allowAmbiguousPaths: portal.ambiguousPaths === 'allow',
        }),
      );
    }
  }

  const byRealm = new Map(sites.map((s) => [s.realm, s]));
  return Object.freeze({
    sites: Object.freeze(sites),
    bySiteRealm: (realm: string) => byRealm.get(realm),
    lookup(hostHeader: string | undefined): Site | undefined {
      const host = canonicalHost(hostHeader);
      if (host === null) return undefined;
      const hit = exact.get(host);
      if (hit !== undefined || wildcard.size === 0) return hit;
      // try every proper suffix that starts at a dot: a.b.c → .b.c, .c
      for (let i = host.indexOf('.'); i !== -1; i = host.indexOf('.', i + 1)) {
        const site = wildcard.get(host.slice(i));
        if (site !== undefined) return i > 0 ? site : undefined;
      }
      return undefined;
    },
  });
}

/** How many Host header lines a request has (RFC 9112 §3.2: more than one is a 400). */
export function hostHeaderCount(rawHeaders: readonly string[]): number {
  let n = 0;
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = rawHeaders[i] as string;
    if (name.length === 4 && name.toLowerCase() === 'host') n++;
  }
  return n;
}

/**
 * Host headers already read (a gateway serves a handful of names: the answer for each is
 * worked out once). Bounded in entries (emptied when full) and in length (a longer header
 * names no host and is read, not remembered), so a client sending random names costs the
 * reading it would cost anyway, and at most a few hundred kilobytes.
 */
const canonicalHosts = new Map<string, string | null>();
const CANONICAL_HOSTS_MAX = 1_024;
/** the longest a host can be written: a DNS name (253), its trailing dot and a port (`:65535`) */
const HOST_HEADER_MAX = 260;

/** Lower-case host name without port and trailing dot; null when it is not a plausible DNS name. */
export function canonicalHost(hostHeader: string | undefined): string | null {
  if (!hostHeader) return null;
  if (hostHeader.length > HOST_HEADER_MAX) return null;
  const known = canonicalHosts.get(hostHeader);
  if (known !== undefined) return known;
  const host = readHost(hostHeader);
  if (canonicalHosts.size >= CANONICAL_HOSTS_MAX) canonicalHosts.clear();
  canonicalHosts.set(hostHeader, host);
  return host;
}

function readHost(hostHeader: string): string | null {
  let h = hostHeader;
  if (h.startsWith('[')) return null; // IP literals never name a site
  const colon = h.lastIndexOf(':');
  if (colon !== -1) {
    const portPart = h.slice(colon + 1);
    if (!/^\d{1,5}$/.test(portPart)) return null;
    h = h.slice(0, colon);
  }
  if (h.endsWith('.')) h = h.slice(0, -1);
  h = h.toLowerCase();
  // one trailing dot is the absolute form of a name; a second one is no name (and would be stripped again by lookup)
  if (h.length === 0 || h.length > 253 || !/^[a-z0-9.-]+$/.test(h) || h.startsWith('.') || h.endsWith('.') || h.includes('..')) return null;
  return h;
}

interface PublicPaths {
  readonly prefixes: readonly string[];
  readonly exact: ReadonlySet<string>;
}

/** public paths split into prefixes (ending in '/') and exact paths */
function publicPaths(paths: readonly string[]): PublicPaths {
  return { prefixes: Object.freeze(paths.filter((p) => p.endsWith('/'))), exact: new Set(paths.filter((p) => !p.endsWith('/'))) };
}

const withoutTrailingSlash = (url: string): string => (url.endsWith('/') ? url.slice(0, -1) : url);

function makeSite(input: {
  realm: string;
  kind: SiteKind;
  clientId: string | null;
  name: string;
  upstream: string;
  audience: string;
  publicPaths: PublicPaths;
  timeouts: { connectMs: number; responseMs: number };
  hosts: readonly string[];
  allowAmbiguousPaths: boolean;
}): Site {
  return Object.freeze({
    realm: input.realm,
    kind: input.kind,
    clientId: input.clientId,
    name: input.name,
    upstream: withoutTrailingSlash(input.upstream),
    audience: input.audience,
    publicPrefixes: input.publicPaths.prefixes,
    publicExact: input.publicPaths.exact,
    allowAmbiguousPaths: input.allowAmbiguousPaths,
    connectTimeoutMs: input.timeouts.connectMs,
    responseTimeoutMs: input.timeouts.responseMs,
    // the configuration's arrays are frozen already: no copy then
    hosts: Object.isFrozen(input.hosts) ? input.hosts : Object.freeze([...input.hosts]),
  });
}

/** Is `path` (already normalised) public on `site`? */
export function isPublicPath(site: Site, path: string): boolean {
  if (site.publicExact.has(path)) return true;
  for (const prefix of site.publicPrefixes) {
    if (path.startsWith(prefix) || path === prefix.slice(0, -1)) return true;
  }
  return false;
}
