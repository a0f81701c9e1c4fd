/**
 * Proxying to the site's upstream with @fastify/http-proxy (undici underneath):
 * streamed bodies both ways, WebSocket upgrades, per-site timeouts, 502/504 pages.
 *
 * The authorization gate runs as the proxy's preHandler: public path → proxied
 * without identity; valid session → proxied with signed identity headers;
 * otherwise the browser is sent to sign in, or an API client gets 401 JSON.
 * Any error in that decision denies (Fastify's error handler answers 500).
 */
import httpProxy from '@fastify/http-proxy';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import type { AssertionSigner } from '../identity/signer.ts';
import { isPublicPath } from '../routing/sites.ts';
import { isReservedPath, PATHS } from '../routing/reserved.ts';
import { identityOf } from '../session/types.ts';
import { replyError, wantsHtml } from '../pages/errors.ts';
import { filterUpstreamSetCookie, upstreamHeaders, withoutHopByHop, type UpstreamIdentity } from './headers.ts';
import type { Metrics } from '../ops/metrics.ts';

export interface ProxyPluginOptions {
  readonly signer: AssertionSigner;
  readonly connectTimeoutMs: number;
  readonly metrics: Metrics;
}

const kAuth = Symbol('regentra.proxy.auth');
const kStart = Symbol('regentra.proxy.start');
type ProxiedRequest = FastifyRequest & { [kAuth]?: UpstreamIdentity | null; [kStart]?: bigint };

/** http-proxy's types allow HTTP/2 requests; this gateway serves HTTP/1.1 only. */
const asRequest = (r: unknown): FastifyRequest => r as FastifyRequest;

function pathOf(url: string): string {
  const q = url.indexOf('?');
  return q === -1 ? url : url.slice(0, q);
}

/** The unauthenticated answer: sign-in redirect for a browser navigation, 401 JSON otherwise. */
export function unauthenticated(request: FastifyRequest, reply: FastifyReply): FastifyReply {
  const loginUrl = `${PATHS.login}?rd=${encodeURIComponent(request.url)}`;
  if (wantsHtml(request)) return reply.code(302).header('cache-control', 'no-store').redirect(loginUrl);
  return replyError(request, reply, 'UNAUTHENTICATED', {
    headers: { 'www-authenticate': `Cookie realm="${request.site.realm}", login="${PATHS.login}"` },
  });
}

async function proxyPlugin(app: FastifyInstance, opts: ProxyPluginOptions): Promise<void> {
  const { signer, metrics } = opts;
  const cookieNames = app.sessions.cookieNames;
  // one histogram child per site kind (no label hashing per request)
  const latencies = new Map<string, { observe(seconds: number): void }>();
  const latencyOf = (kind: string) => {
    let h = latencies.get(kind);
    if (h === undefined) latencies.set(kind, (h = metrics.upstreamLatency.labels(kind)));
    return h;
  };

  async function gate(request: FastifyRequest, reply: FastifyReply): Promise<void> {
    const r = request as ProxiedRequest;
    const site = request.site;
    const path = pathOf(request.url);
    // never proxied: the reserved prefix (any spelling that normalised to it) and the central callback host
    if (isReservedPath(path) || site.kind === 'central') {
      replyError(request, reply, 'NOT_FOUND');
      return;
    }
    if (isPublicPath(site, path)) {
      r[kAuth] = null;
    } else {
      const session = await app.sessions.current(request);
      if (!session) {
        unauthenticated(request, reply);
        return;
      }
      const identity = identityOf(session);
      r[kAuth] = { identity, assertion: await signer.assertion(identity, site.audience) };
    }
    r[kStart] = process.hrtime.bigint();
  }

  // (rewriteRequestHeaders is supported by the plugin but missing from its types)
  const wsClientOptions = {
    perMessageDeflate: false,
    rewriteRequestHeaders: (_headers: Record<string, unknown>, request: FastifyRequest) =>
      upstreamHeaders(request, request.headers, cookieNames, (request as ProxiedRequest)[kAuth] ?? null, true),
  };
  await app.register(httpProxy, {
    upstream: '',
    prefix: '/',
    websocket: true,
    preHandler: gate,
    // per-site response timeout (undici headers/body timeouts)
    handler: (request: FastifyRequest, reply: FastifyReply, dest: string, options: object) =>
      reply.from(dest, { ...options, timeout: request.site.responseTimeoutMs }),
    httpMethods: ['DELETE', 'GET', 'HEAD', 'PATCH', 'POST', 'PUT', 'OPTIONS'],
    internalRewriteLocationHeader: false,
    undici: { connect: { timeout: opts.connectTimeoutMs }, keepAliveTimeout: 30_000, connections: 128 },
    replyOptions: {
      getUpstream: (request) => asRequest(request).site.upstream,
      rewriteRequestHeaders: (request, headers) => {
        const r = asRequest(request);
        return upstreamHeaders(r, r.headers, cookieNames, (r as ProxiedRequest)[kAuth] ?? null) as typeof headers;
      },
      rewriteHeaders: (upstream) => {
        const headers = withoutHopByHop(upstream);
        if (headers['set-cookie'] === undefined) return headers;
        const setCookie = filterUpstreamSetCookie(headers['set-cookie'], cookieNames);
        const { ['set-cookie']: _dropped, ...rest } = headers;
        return setCookie === undefined ? rest : { ...rest, 'set-cookie': setCookie };
      },
      onResponse: (request, reply, res) => {
        const start = (request as unknown as ProxiedRequest)[kStart];
        if (start !== undefined) latencyOf(asRequest(request).site.kind).observe(Number(process.hrtime.bigint() - start) / 1e9);
        reply.send(res.stream);
      },
      onError: (reply, { error }) => {
        const request = asRequest(reply.request);
        const timedOut = /timeout/i.test(`${(error as { code?: string }).code ?? ''} ${error.name} ${(error.cause as Error | undefined)?.name ?? ''}`);
        request.log.warn({ err: { name: error.name, code: (error as { code?: string }).code, message: error.message }, upstream: request.site.upstream }, 'upstream request failed');
        metrics.upstreamErrors.inc({ site: request.site.kind, kind: timedOut ? 'timeout' : 'unavailable' });
        if (reply.sent || reply.raw.headersSent) {
          reply.raw.destroy();
          return;
        }
        replyError(request, reply as unknown as FastifyReply, timedOut ? 'UPSTREAM_TIMEOUT' : 'UPSTREAM_DOWN');
      },
    },
    wsClientOptions,
  });
}

export const proxyRoutes = fp(proxyPlugin, { name: 'regentra-proxy', fastify: '5.x', dependencies: ['regentra-sessions'] });
