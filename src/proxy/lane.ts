/**
 * The fast lane: a signed-in (or public) proxied request answered from node:http's
 * `request` event, ahead of Fastify's router (issue #17: Fastify's request and reply
 * objects, its hook runner, the two secure-session decodes and the per-request logger
 * were a third of a proxied request's cost).
 *
 * It is not a second gateway: it takes a request only when every decision comes out
 * the plain way, with the same functions Fastify's path uses —
 *   the canonical path (routing/path.ts), one Host header, the host, scheme and client
 *   address through trusted proxies (routing/forwarded.ts), the site (routing/sites.ts),
 *   the gate's route (gate.ts), the session's checks (session/plugin.ts laneSession),
 *   the identity assertion, strip-then-inject (headers.ts) and the exchange (forward.ts).
 * Anything else — a request with a body, a target that does not normalise or could read differently upstream,
 * an unknown host, a reserved path, no cookie, a session that is expired, revoked or
 * opened with an older key, a flow in progress, a method or an upgrade the proxy route
 * does not take, an app that is closing — is handed to Fastify
 * untouched, where the full path decides and answers (redirects, 401s, error pages).
 * An upstream failure before the first response byte is answered by Fastify too: the
 * request is handed over marked with the error's code (laneFailureOf), and the gateway's
 * first hook renders that error page (so pages, JSON and request ids stay one code path).
 *
 * Fail closed: an exception anywhere in the lane's decision hands the request to Fastify
 * before anything is sent, which decides again from scratch.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks'; // not the global getter (see forward.ts)
import type { FastifyBaseLogger } from 'fastify';
import type { AccessLog } from '../ops/access-log.ts';
import { nextRequestId } from '../ops/request-id.ts';
import type { ErrorCode } from '../errors.ts';
import type { AssertionSigner } from '../identity/signer.ts';
import { normalizeTarget } from '../routing/path.ts';
import { forwardedView, type TrustFunction } from '../routing/forwarded.ts';
import { canonicalHost, hostHeaderCount, type SiteTable } from '../routing/sites.ts';
import type { LaneSession, SessionManager } from '../session/plugin.ts';
import { identityOf } from '../session/types.ts';
import { forward, hasBody, type ExchangeHooks } from './forward.ts';
import { gateRoute, PROXIED_METHODS } from './gate.ts';
import { upstreamHeaders, type UpstreamIdentity } from './headers.ts';
import type { ProxiedReply, ProxiedRequest } from './types.ts';
import type { UpstreamPools } from './upstreams.ts';
import type { UpstreamReports } from './reports.ts';

/** node:http's request handler of the Fastify app (what serverFactory is given) */
export type HttpHandler = (req: IncomingMessage, res: ServerResponse) => void;

export interface FastLane {
  /** answer `req` in the lane, or hand it to Fastify: every request goes through here exactly once */
  handle(req: IncomingMessage, res: ServerResponse): void;
  /** from now on every request goes to Fastify (the app is closing: it answers 503) */
  close(): void;
}

export interface FastLaneOptions {
  readonly sites: SiteTable;
  readonly sessions: SessionManager;
  readonly signer: AssertionSigner;
  readonly pools: UpstreamPools;
  /** what the proxy route reports about upstreams (plugin.ts upstreamReports), the same for both paths */
  readonly upstream: UpstreamReports;
  /** counts an answered request (ops/metrics.ts HotMetrics.request) */
  countRequest(this: void, siteKind: string, status: number): void;
  /** counts a request the lane forwarded (ops/metrics.ts HotMetrics.fastLane) */
  countForwarded(this: void): void;
  /** the app's logger: its level says whether access-log lines are written (at info) */
  readonly log: FastifyBaseLogger;
  /** where the access-log line goes (Fastify's RequestLogController writes the same line for its requests) */
  readonly accessLog: AccessLog;
  /** the Fastify app's handler: everything the lane does not take */
  readonly fastify: HttpHandler;
  /** which peers' X-Forwarded-* headers are believed (routing/forwarded.ts): the function Fastify is given as trustProxy */
  readonly trust: TrustFunction | false;
}

/** the methods the proxy route takes */
const METHODS: ReadonlySet<string> = new Set(PROXIED_METHODS);

const kFailure = Symbol('regentra.lane.failure');
type MarkedRequest = IncomingMessage & { [kFailure]?: ErrorCode };

/** The error a request handed over by the lane after an upstream failure is to be answered with, if any. */
export function laneFailureOf(req: IncomingMessage): ErrorCode | undefined {
  return (req as MarkedRequest)[kFailure];
}

/** the response side of a lane request: the engine writes to node:http's response directly */
class LaneReply implements ProxiedReply {
  readonly raw: ServerResponse;
  constructor(res: ServerResponse) {
    this.raw = res;
  }
  hijack(): void {}
  get sent(): boolean {
    return this.raw.headersSent;
  }
}

interface LaneRequest extends ProxiedRequest {
  /** canonical host (routing/sites.ts canonicalHost) */
  readonly siteHost: string;
  /** the client's address (Fastify's request.ip) */
  readonly ip: string | undefined;
  readonly started: number;
}

export function createFastLane(opts: FastLaneOptions): FastLane {
  const { sites, sessions, signer, pools, fastify, countRequest, countForwarded, log, accessLog } = opts;
  const cookieNames = sessions.cookieNames;
  const cookieNeedles = cookieNames.map((n) => `${n}=`);
  const trust = opts.trust;
  let open = true;

  const hooks: ExchangeHooks<LaneRequest, LaneReply> = {
    ownCookies: opts.upstream.ownCookies,
    answered(request, status, seconds) {
      opts.upstream.answered(request, status, seconds);
      countRequest(request.site.kind, status);
    },
    failed(request, reply, error) {
      const code = opts.upstream.failure(request, error);
      if (reply.sent) {
        reply.raw.destroy();
        return;
      }
      // Fastify answers it (the gateway's first hook renders the page): one way to render errors
      (request.raw as MarkedRequest)[kFailure] = code;
      fastify(request.raw, reply.raw);
    },
    ended(request, status) {
      if ((log as FastifyBaseLogger & { isLevelEnabled?(level: string): boolean }).isLevelEnabled?.('info') !== true) return;
      accessLog.completed({
        reqId: nextRequestId(),
        method: request.method,
        url: request.url,
        host: request.host,
        ip: request.ip,
        statusCode: status,
        responseTime: performance.now() - request.started,
      });
    },
  };

  function proxy(request: LaneRequest, res: ServerResponse, auth: UpstreamIdentity | null, session: LaneSession | null): void {
    const site = request.site;
    const headers = upstreamHeaders(request, request.headers, cookieNames, auth, session?.cookie);
    const setCookie = session?.setCookie;
    countForwarded();
    forward(request, new LaneReply(res), { pool: pools.get(site.upstream), path: request.url, headers, timeoutMs: site.responseTimeoutMs, setCookie }, hooks);
  }

  /** the session part of the decision: synchronous when the revocation state and the assertion are cached */
  function signedIn(request: LaneRequest, res: ServerResponse): void {
    const session = sessions.laneSession(request.raw, request.ip, request.site, request.siteHost);
    if (session instanceof Promise) {
      session.then((s) => withSession(request, res, s)).catch(() => handOver(request.raw, res));
      return;
    }
    withSession(request, res, session);
  }

  function withSession(request: LaneRequest, res: ServerResponse, session: LaneSession | null): void {
    if (session === null) {
      fastify(request.raw, res);
      return;
    }
    const identity = identityOf(session.data);
    const audience = request.site.audience;
    const cached = signer.cachedAssertion(identity, audience);
    if (cached !== undefined) {
      proxy(request, res, { identity, assertion: cached }, session);
      return;
    }
    signer
      .assertion(identity, audience)
      .then((assertion) => proxy(request, res, { identity, assertion }, session))
      .catch(() => handOver(request.raw, res));
  }

  /** an error in the lane's decision, before anything was sent: Fastify decides from scratch (and answers 500 if the error is real) */
  function handOver(req: IncomingMessage, res: ServerResponse): void {
    if (!res.headersSent) fastify(req, res);
    else res.destroy();
  }

  /** the lane's request, or null when Fastify is to decide */
  function take(req: IncomingMessage): { request: LaneRequest; route: 'public' | 'session' } | null {
    const method = req.method;
    if (method === undefined || !METHODS.has(method) || req.headers.upgrade !== undefined) return null;
    // a request body: Fastify's path checks its Content-Type (a malformed one is a 400) as it streams it
    if (hasBody(req.headers)) return null;
    const target = normalizeTarget(req.url ?? '');
    if (!target.ok || target.ambiguous !== undefined) return null;
    if (hostHeaderCount(req.rawHeaders) !== 1) return null;
    const view = forwardedView(req, trust);
    const host = canonicalHost(view.host);
    if (host === null) return null;
    const site = sites.lookup(host);
    if (site === undefined) return null;
    const url = target.query ? `${target.path}?${target.query}` : target.path;
    const route = gateRoute(site, url);
    if (route === 'refuse') return null;
    // a public path with the gateway's cookies: Fastify's path re-seals a cookie opened with an older key
    if (route === 'public' && req.headers.cookie !== undefined && cookieNeedles.some((n) => (req.headers.cookie as string).includes(n))) return null;
    const request: LaneRequest = {
      raw: req,
      method,
      url,
      headers: req.headers,
      site,
      protocol: view.protocol,
      host: view.host,
      siteHost: host,
      ip: view.ip,
      ips: view.ips,
      started: performance.now(),
    };
    return { request, route };
  }

  return {
    handle(req, res) {
      let taken: ReturnType<typeof take>;
      try {
        taken = open ? take(req) : null;
      } catch {
        taken = null; // fail closed: Fastify decides from scratch
      }
      if (taken === null) {
        fastify(req, res);
        return;
      }
      const { request, route } = taken;
      try {
        if (route === 'public') proxy(request, res, null, null);
        else signedIn(request, res);
      } catch {
        handOver(req, res);
      }
    },
    close() {
      open = false;
    },
  };
}
