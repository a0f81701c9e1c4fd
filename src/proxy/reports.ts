/**
 * What the proxy records about upstreams, for Fastify's proxy route and the fast lane
 * alike: the upstream latency by site kind, and a failure (logged, counted, and turned
 * into the error the client is answered with: 504 for a timeout, else 502).
 */
import type { FastifyBaseLogger } from 'fastify';
import type { ErrorCode } from '../errors.ts';
import type { Metrics } from '../ops/metrics.ts';
import type { ProxiedRequest } from './types.ts';

export interface UpstreamReports {
  /** the gateway's cookie names (as ownCookieNames gives them): upstreams may not set them */
  readonly ownCookies: ReadonlySet<string>;
  /** the upstream answered with `status` after `seconds` */
  answered(this: void, request: ProxiedRequest, status: number, seconds: number): void;
  /** the upstream failed: logged (with `log`, the request's logger when there is one) and counted; the error to answer */
  failure(this: void, request: ProxiedRequest, error: Error, log?: FastifyBaseLogger): ErrorCode;
}

const isTimeout = (error: Error & { code?: string }) => /timeout/i.test(`${error.code ?? ''} ${error.name} ${(error.cause as Error | undefined)?.name ?? ''}`);

export function upstreamReports(opts: {
  readonly metrics: Metrics;
  readonly log: FastifyBaseLogger;
  readonly ownCookies: ReadonlySet<string>;
}): UpstreamReports {
  const { metrics } = opts;
  const observe = metrics.hot.upstreamLatency;
  return Object.freeze({
    ownCookies: opts.ownCookies,
    answered(request: ProxiedRequest, _status: number, seconds: number) {
      observe(request.site.kind, seconds);
    },
    failure(request: ProxiedRequest, error: Error, log: FastifyBaseLogger = opts.log): ErrorCode {
      const timedOut = isTimeout(error);
      const code = (error as { code?: string }).code;
      log.warn({ err: { name: error.name, code, message: error.message }, upstream: request.site.upstream }, 'upstream request failed');
      metrics.upstreamErrors.inc({ site: request.site.kind, kind: timedOut ? 'timeout' : 'unavailable' });
      return timedOut ? 'UPSTREAM_TIMEOUT' : 'UPSTREAM_DOWN';
    },
  });
}
