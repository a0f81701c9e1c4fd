/**
 * The headers an upstream receives: strip, then inject.
 * - every inbound identity header variant is removed (see identity/headers.ts);
 * - forwarding headers are rebuilt (inbound ones are believed only from trusted proxies);
 * - hop-by-hop headers (and those a Connection header lists) stay on their hop, both ways;
 * - the gateway's own cookies are removed from Cookie;
 * - for an authenticated request, the signed assertion and convenience headers are added.
 */
import type { FastifyRequest } from 'fastify';
import type { IncomingHttpHeaders } from 'node:http';
import { FORWARDING_HEADERS, HEADERS, headerText, isIdentityHeaderName, withoutCookies } from '../identity/headers.ts';
import type { Identity } from '../session/types.ts';

export interface UpstreamIdentity {
  readonly identity: Identity;
  readonly assertion: string;
}

/** WebSocket handshake headers that the ws client sets itself. */
const WS_OWN = new Set(['sec-websocket-key', 'sec-websocket-version', 'sec-websocket-extensions', 'sec-websocket-protocol', 'content-length']);

/**
 * Hop-by-hop headers (RFC 9110 §7.6.1) and `expect`: they describe the client's
 * connection to the gateway, not the gateway's to the upstream (undici refuses
 * most of them, which turned an old client's `Keep-Alive` into a 502).
 */
export const HOP_BY_HOP: ReadonlySet<string> = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'te', 'trailer', 'upgrade', 'http2-settings', 'expect']);

/** Header names listed in a Connection header (also hop-by-hop), lower case; null when none (the usual case). */
function connectionTokens(value: string | string[] | undefined): ReadonlySet<string> | null {
  if (value === undefined || value === 'keep-alive' || value === 'close' || value === 'Keep-Alive' || value === 'Upgrade') return null;
  const tokens = (Array.isArray(value) ? value.join(',') : value).split(',').map((t) => t.trim().toLowerCase()).filter((t) => t.length > 0);
  return tokens.length > 0 ? new Set(tokens) : null;
}

export function upstreamHeaders(
  request: FastifyRequest,
  inbound: IncomingHttpHeaders,
  cookieNames: readonly string[],
  auth: UpstreamIdentity | null,
  forWebSocket = false,
): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  const listed = connectionTokens(inbound.connection);
  for (const name in inbound) {
    const value = inbound[name];
    if (value === undefined) continue;
    if (isIdentityHeaderName(name) || FORWARDING_HEADERS.has(name) || HOP_BY_HOP.has(name)) continue;
    if (listed !== null && listed.has(name)) continue;
    if (forWebSocket && WS_OWN.has(name)) continue;
    if (name === 'cookie') {
      const kept = withoutCookies(Array.isArray(value) ? value.join('; ') : value, cookieNames);
      if (kept !== undefined) out.cookie = kept;
      continue;
    }
    out[name] = value;
  }

  const remote = request.raw.socket.remoteAddress ?? '';
  // request.ips is longer than one entry only when the direct peer is a trusted proxy
  const trustedPeer = Array.isArray(request.ips) && request.ips.length > 1;
  const inboundXff = inbound['x-forwarded-for'];
  out['x-forwarded-for'] = trustedPeer && typeof inboundXff === 'string' && inboundXff.length > 0 ? `${inboundXff}, ${remote}` : remote;
  out['x-forwarded-proto'] = request.protocol;
  out['x-forwarded-host'] = request.host;

  if (auth) {
    const id = auth.identity;
    out[HEADERS.identity] = auth.assertion;
    out[HEADERS.userId] = id.sub;
    out[HEADERS.email] = headerText(id.email);
    out[HEADERS.name] = headerText(id.name);
    out[HEADERS.realm] = id.realm;
    if (id.client) out[HEADERS.client] = id.client;
    if (id.role) out[HEADERS.role] = id.role;
    out[HEADERS.authMethod] = id.amr.join(' ');
  }
  return out;
}

/** `__Host-regentra_session` → `regentra_session` (lower case): the name a cookie prefix decorates. */
function baseCookieName(name: string): string {
  return name.trim().toLowerCase().replace(/^__(host|secure)-/, '');
}

/**
 * Remove Set-Cookie entries that would overwrite or shadow the gateway's own cookies:
 * the same name in any case, with or without a `__Host-`/`__Secure-` prefix.
 */
export function filterUpstreamSetCookie(value: string | string[] | undefined, cookieNames: readonly string[]): string | string[] | undefined {
  if (value === undefined) return undefined;
  const own = new Set(cookieNames.map(baseCookieName));
  const list = Array.isArray(value) ? value : [value];
  const kept = list.filter((c) => {
    const eq = c.indexOf('=');
    return !own.has(baseCookieName(eq === -1 ? c : c.slice(0, eq)));
  });
  if (kept.length === 0) return undefined;
  return Array.isArray(value) ? kept : kept[0];
}

/** Upstream response headers without the hop-by-hop ones (the gateway's connection to the client is its own; trailers are not relayed). */
export function withoutHopByHop<T extends Record<string, unknown>>(headers: T): T {
  // undici hands over lower-case names: look the few hop-by-hop names up rather than scan every header
  const listed = connectionTokens(headers.connection as string | string[] | undefined);
  let out: Record<string, unknown> | null = null;
  for (const name of HOP_BY_HOP) {
    if (headers[name] !== undefined) {
      out ??= { ...headers };
      delete out[name];
    }
  }
  if (listed !== null) {
    for (const name of Object.keys(headers)) {
      if (listed.has(name.toLowerCase())) {
        out ??= { ...headers };
        delete out[name];
      }
    }
  }
  return (out ?? headers) as T;
}
