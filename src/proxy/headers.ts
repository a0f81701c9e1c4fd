/**
 * The headers an upstream receives: strip, then inject.
 * - every inbound identity header variant is removed (see identity/headers.ts);
 * - forwarding headers are rebuilt (inbound ones are believed only from trusted proxies);
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
const WS_OWN = new Set(['host', 'connection', 'upgrade', 'sec-websocket-key', 'sec-websocket-version', 'sec-websocket-extensions', 'sec-websocket-protocol', 'content-length', 'transfer-encoding']);

export function upstreamHeaders(
  request: FastifyRequest,
  inbound: IncomingHttpHeaders,
  cookieNames: readonly string[],
  auth: UpstreamIdentity | null,
  forWebSocket = false,
): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const name in inbound) {
    const value = inbound[name];
    if (value === undefined) continue;
    if (isIdentityHeaderName(name) || FORWARDING_HEADERS.has(name)) continue;
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

/** Remove Set-Cookie entries that would overwrite the gateway's own cookies. */
export function filterUpstreamSetCookie(value: string | string[] | undefined, cookieNames: readonly string[]): string | string[] | undefined {
  if (value === undefined) return undefined;
  const list = Array.isArray(value) ? value : [value];
  const kept = list.filter((c) => {
    const name = c.slice(0, Math.max(0, c.indexOf('='))).trim();
    return !cookieNames.some((n) => n.toLowerCase() === name.toLowerCase() || name.toLowerCase() === n.replace(/^__Host-/, '').toLowerCase());
  });
  if (kept.length === 0) return undefined;
  return Array.isArray(value) ? kept : kept[0];
}
