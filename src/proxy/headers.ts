/**
 * The headers an upstream receives: strip, then inject.
 * - every inbound identity header variant is removed (see identity/headers.ts);
 * - forwarding headers are rebuilt (inbound ones are believed only from trusted proxies);
 * - hop-by-hop headers (and those a Connection header lists) stay on their hop, both ways;
 * - the gateway's own cookies are removed from Cookie;
 * - for an authenticated request, the signed assertion and convenience headers are added.
 *
 * And the headers a client receives from an upstream: hop-by-hop ones dropped, and
 * no Set-Cookie that would overwrite or shadow the gateway's own cookies.
 *
 * Hot path: both directions build flat `[name, value, name, value…]` lists (what
 * undici and node:http take without converting), decide each header name with one
 * Map lookup, and never copy the inbound header object.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { util } from 'undici';
import type { ProxiedRequest } from './types.ts';
import { FORWARDING_HEADERS, HEADERS, headerText, isIdentityHeaderName } from '../identity/headers.ts';
import { withoutCookies, type StrippedCookie } from '../util/cookies.ts';
import { addUndiciHeaderNames } from '../util/library-patches.ts';
import type { Identity } from '../session/types.ts';

export interface UpstreamIdentity {
  readonly identity: Identity;
  readonly assertion: string;
}

/**
 * Hop-by-hop headers (RFC 9110 §7.6.1) and `expect`: they describe the client's
 * connection to the gateway, not the gateway's to the upstream (undici refuses
 * most of them, which turned an old client's `Keep-Alive` into a 502).
 */
export const HOP_BY_HOP: ReadonlySet<string> = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'te',
  'trailer',
  'upgrade',
  'http2-settings',
  'expect',
]);

/** what to do with an inbound header, by lower-case name (absent: pass it on unless it is an identity header) */
const DROP = 1;
const COOKIE = 2;
const INBOUND = new Map<string, number>([...[...HOP_BY_HOP, ...FORWARDING_HEADERS].map((n) => [n, DROP] as const), ['cookie', COOKIE]]);

/** the names upstreamHeaders adds to every proxied request */
const ADDED = ['x-forwarded-for', 'x-forwarded-proto', 'x-forwarded-host', ...Object.values(HEADERS)];
// undici checks each request header's name unless it knows it: it learns these once (see library-patches.ts)
addUndiciHeaderNames(ADDED);

/** Header names listed in a Connection header (also hop-by-hop), lower case; null when none (the usual case). */
function connectionTokens(value: string | string[] | undefined): ReadonlySet<string> | null {
  if (value === undefined || value === 'keep-alive' || value === 'close' || value === 'Keep-Alive' || value === 'Upgrade' || value === 'upgrade') return null;
  const tokens = (Array.isArray(value) ? value.join(',') : value)
    .split(',')
    .map((t) => t.trim().toLowerCase())
    .filter((t) => t.length > 0);
  return tokens.length > 0 ? new Set(tokens) : null;
}

/**
 * The request headers for the upstream, as a flat list. The Host header is kept
 * (upstreams see the name the client used); the WebSocket handshake headers
 * (Sec-WebSocket-*) are kept too, since the tunnel leaves the handshake to the two ends.
 * `stripped`: the Cookie header already stripped (the fast lane's cache), used only when it
 * was made from this request's very Cookie header.
 */
export function upstreamHeaders(
  request: Pick<ProxiedRequest, 'raw' | 'ips' | 'protocol' | 'host'>,
  inbound: IncomingHttpHeaders,
  cookieNames: readonly string[],
  auth: UpstreamIdentity | null,
  stripped?: StrippedCookie,
): string[] {
  const out: string[] = [];
  const listed = connectionTokens(inbound.connection);
  for (const name in inbound) {
    const value = inbound[name];
    if (value === undefined) continue;
    const action = INBOUND.get(name);
    if (action === DROP) continue;
    if (action === COOKIE) {
      const kept =
        stripped !== undefined && stripped.from === value ? stripped.kept : withoutCookies(Array.isArray(value) ? value.join('; ') : value, cookieNames);
      if (kept !== undefined) out.push('cookie', kept);
      continue;
    }
    if (isIdentityHeaderName(name)) continue;
    if (listed !== null && listed.has(name)) continue;
    if (typeof value === 'string') out.push(name, value);
    else for (const v of value) out.push(name, v);
  }

  const remote = request.raw.socket.remoteAddress ?? '';
  // request.ips is longer than one entry only when the direct peer is a trusted proxy
  const trustedPeer = Array.isArray(request.ips) && request.ips.length > 1;
  const inboundXff = inbound['x-forwarded-for'];
  out.push(
    'x-forwarded-for',
    trustedPeer && typeof inboundXff === 'string' && inboundXff.length > 0 ? `${inboundXff}, ${remote}` : remote,
    'x-forwarded-proto',
    request.protocol,
    'x-forwarded-host',
    request.host,
  );
  if (auth) out.push(...identityHeaders(auth));
  return out;
}

/**
 * The injected identity headers for one assertion. An assertion is reused for a
 * session and audience until shortly before it expires (identity/signer.ts), and so
 * is this list: the text encoding is done once per assertion, not per request.
 */
const identityCache = new Map<string, readonly string[]>();
const IDENTITY_CACHE_MAX = 10_000;

export function identityHeaders(auth: UpstreamIdentity): readonly string[] {
  const hit = identityCache.get(auth.assertion);
  if (hit !== undefined) return hit;
  const id = auth.identity;
  const list = [
    HEADERS.identity,
    auth.assertion,
    HEADERS.userId,
    id.sub,
    HEADERS.email,
    headerText(id.email),
    HEADERS.name,
    headerText(id.name),
    HEADERS.realm,
    id.realm,
  ];
  if (id.client) list.push(HEADERS.client, id.client);
  if (id.role) list.push(HEADERS.role, id.role);
  if (id.roles && id.roles.length > 0) list.push(HEADERS.roles, id.roles.join(' '));
  list.push(HEADERS.authMethod, id.amr.join(' '));
  // a plain Map trimmed in insertion order: the oldest assertions are the first to expire anyway
  if (identityCache.size >= IDENTITY_CACHE_MAX) identityCache.delete(identityCache.keys().next().value as string);
  identityCache.set(auth.assertion, Object.freeze(list));
  return list;
}

/** `__Host-regentra_session` → `regentra_session` (lower case): the name a cookie prefix decorates. */
function baseCookieName(name: string): string {
  return name
    .trim()
    .toLowerCase()
    .replace(/^__(host|secure)-/, '');
}

/** The base names (see baseCookieName) of the gateway's cookies: no upstream Set-Cookie may use them. */
export function ownCookieNames(cookieNames: readonly string[]): ReadonlySet<string> {
  return new Set(cookieNames.map(baseCookieName));
}

/** Would this Set-Cookie value overwrite or shadow one of the gateway's cookies? */
export function isOwnSetCookie(setCookie: string, own: ReadonlySet<string>): boolean {
  const eq = setCookie.indexOf('=');
  return own.has(baseCookieName(eq === -1 ? setCookie : setCookie.slice(0, eq)));
}

/**
 * An upstream's response headers, as undici's dispatcher hands them over (the raw
 * `[name, value, name, value…]` list, Buffers from a real connection; a repeated header
 * as repeated pairs, in the upstream's order), as the flat list to send to the client:
 * names lower-cased, hop-by-hop headers and the gateway's cookies removed. Values stay
 * byte for byte as node:http writes them (latin1 both ways). For a 101 (WebSocket)
 * response, Upgrade is kept (the caller adds Connection).
 */
export function clientHeaders(raw: readonly (Buffer | string)[], own: ReadonlySet<string>, upgrade = false): string[] {
  const out: string[] = [];
  let listed: string | null = null;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    // known names come from undici's table of interned lower-case strings (no copy)
    const name = util.headerNameToString(raw[i] as Buffer | string);
    const value = raw[i + 1] as Buffer | string;
    const v = typeof value === 'string' ? value : value.toString('latin1');
    if (HOP_BY_HOP.has(name)) {
      if (name === 'connection') listed = listed === null ? v : `${listed},${v}`;
      else if (upgrade && name === 'upgrade') out.push(name, v);
      continue;
    }
    if (name === 'set-cookie' && isOwnSetCookie(v, own)) continue;
    out.push(name, v);
  }
  const tokens = listed === null ? null : connectionTokens(listed);
  if (tokens === null) return out;
  const kept: string[] = [];
  for (let i = 0; i < out.length; i += 2) {
    const name = out[i] as string;
    if (!tokens.has(name) || (upgrade && name === 'upgrade')) kept.push(name, out[i + 1] as string);
  }
  return kept;
}
