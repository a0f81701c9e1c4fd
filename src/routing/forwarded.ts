/**
 * Who is asking, through trusted proxies (`server.trustedProxies`).
 *
 * One trust function, compiled once by @fastify/proxy-addr (what Fastify itself uses),
 * is given both to Fastify (its `trustProxy` option) and to the fast lane
 * (src/proxy/lane.ts), and `forwardedView` reads a raw request the way Fastify's
 * request getters do (fastify/lib/request.js, trustProxy set), so that both paths see
 * the same host, scheme and client address:
 * - host and scheme: the last entry of X-Forwarded-Host / X-Forwarded-Proto, believed
 *   only when the direct peer is trusted; else the Host header and the socket's scheme;
 * - the client's address: proxy-addr's walk down X-Forwarded-For while each hop is
 *   trusted (`ips`: the socket's address first, then the hops it believed).
 * Without trusted proxies no forwarding header is read at all.
 */
import type { IncomingMessage } from 'node:http';
import proxyAddr from '@fastify/proxy-addr';

/** proxy-addr's trust function: is the hop at `address` (`hop` hops from the gateway) a trusted proxy? */
export type TrustFunction = (address: string, hop: number) => boolean;

/** The trust function for `server.trustedProxies`, or false when there are none (no forwarding header is believed). */
export function trustFunction(entries: readonly string[]): TrustFunction | false {
  return entries.length > 0 ? proxyAddr.compile([...entries]) : false;
}

export interface ForwardedView {
  /** the host the client asked for (Fastify's request.host) */
  readonly host: string;
  /** the scheme the client used (Fastify's request.protocol) */
  readonly protocol: string;
  /** the client's address (Fastify's request.ip) */
  readonly ip: string | undefined;
  /** the socket's address and the trusted hops' (Fastify's request.ips); undefined without trusted proxies */
  readonly ips: string[] | undefined;
}

/** `a, b, c` → `c` (a header a proxy appended to: the last entry is the one it wrote) */
function lastEntry(value: string): string {
  const comma = value.lastIndexOf(',');
  return comma === -1 ? value.trim() : value.slice(comma + 1).trim();
}

/** The request as Fastify's getters read it with `trustProxy: trust` (see the top of this file). */
export function forwardedView(req: IncomingMessage, trust: TrustFunction | false): ForwardedView {
  const socket = req.socket;
  const scheme = (socket as { encrypted?: boolean }).encrypted === true ? 'https' : 'http';
  const hostHeader = req.headers.host ?? '';
  if (trust === false) return { host: hostHeader, protocol: scheme, ip: socket.remoteAddress, ips: undefined };
  const peerTrusted = socket.remoteAddress !== undefined && trust(socket.remoteAddress, 0);
  const xfh = req.headers['x-forwarded-host'];
  const xfp = req.headers['x-forwarded-proto'];
  const ips = proxyAddr.all(req, trust);
  return {
    host: peerTrusted && typeof xfh === 'string' && xfh.length > 0 ? lastEntry(xfh) : hostHeader,
    protocol: peerTrusted && typeof xfp === 'string' && xfp.length > 0 ? lastEntry(xfp) : scheme,
    ip: ips[ips.length - 1],
    ips,
  };
}
