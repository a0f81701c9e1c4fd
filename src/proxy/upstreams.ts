/**
 * One undici connection pool per upstream origin, built once per configuration
 * from the site table (several sites may share an origin; they then share a pool,
 * with the longest of their connect timeouts).
 *
 * Keep-alive connections, no pipelining (a slow response must not hold up the
 * requests queued behind it on the same connection), at most CONNECTIONS per origin.
 */
import { Pool } from 'undici';
import type { Site } from '../routing/sites.ts';

/** connections per upstream origin (as @fastify/http-proxy was configured before) */
export const CONNECTIONS = 128;
/** how long an idle upstream connection is kept (undici uses the upstream's own Keep-Alive hint when shorter) */
export const KEEP_ALIVE_MS = 30_000;

export interface UpstreamPools {
  /** the pool for a site's upstream origin (every site's origin has one) */
  get(origin: string): Pool;
  readonly size: number;
  /** abort whatever is still running and close every connection */
  destroy(): Promise<void>;
}

export function createUpstreamPools(sites: readonly Site[]): UpstreamPools {
  const connectTimeouts = new Map<string, number>();
  for (const s of sites) connectTimeouts.set(s.upstream, Math.max(connectTimeouts.get(s.upstream) ?? 0, s.connectTimeoutMs));
  const pools = new Map<string, Pool>();
  for (const [origin, timeout] of connectTimeouts) {
    pools.set(origin, new Pool(origin, { connections: CONNECTIONS, pipelining: 1, keepAliveTimeout: KEEP_ALIVE_MS, connect: { timeout } }));
  }
  return Object.freeze({
    get(origin: string): Pool {
      const pool = pools.get(origin);
      if (pool === undefined) throw new Error(`no upstream pool for ${origin}`);
      return pool;
    },
    size: pools.size,
    async destroy() {
      await Promise.all([...pools.values()].map((p) => p.destroy()));
    },
  });
}
