/**
 * buildApp(config, deps): the gateway as a Fastify instance, registered in an
 * explicit order. Tests call this; main.ts calls it and listens.
 *
 *   1. request → site (host table) and canonical path (rewriteUrl), or a 421/400 page
 *   2. sessions (cookie session + sign-in flow cookie)
 *   3. the gateway's own endpoints under /.auth (forms parsed only there)
 *   4. everything else: the authorization gate, then the proxy
 */
import { watchCredentialExpiry } from './auth/entra/expiry.ts';
import { createServer, type IncomingMessage, type ServerOptions } from 'node:http';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyServerFactory } from 'fastify';
import formbody from '@fastify/formbody';
import type { Config } from './config/schema.ts';
import { buildSiteTable, canonicalHost, hostHeaderCount, type Site } from './routing/sites.ts';
import { trustFunction } from './routing/forwarded.ts';
import { normalizeTarget } from './routing/path.ts';
import { isReservedPath, PATHS } from './routing/reserved.ts';
import { sessionsPlugin } from './session/plugin.ts';
import { storeRevocation } from './session/revocation.ts';
import { storeRegistry } from './session/registry.ts';
import { buildJwks, loadSigningKeys } from './identity/keys.ts';
import { createSigner } from './identity/signer.ts';
import { proxyRoutes } from './proxy/plugin.ts';
import { createFastLane, laneFailureOf, type FastLane, type HttpHandler } from './proxy/lane.ts';
import { createUpstreamPools } from './proxy/upstreams.ts';
import { upstreamReports } from './proxy/reports.ts';
import { ownCookieNames } from './proxy/headers.ts';
import { coreRoutes } from './auth/core-routes.ts';
import { createPolicyService, realmSessionRules } from './auth/policy.ts';
import { passwordRoutes } from './auth/password/routes.ts';
import { entraEndSessionUrl, entraRoutes } from './auth/entra/routes.ts';
import { createEntraClient } from './auth/entra/client.ts';
import { adminRoutes } from './admin/routes.ts';
import { accountRoutes } from './account/routes.ts';
import { acceptsHtml, replyError, replyGatewayError } from './pages/errors.ts';
import { createMetrics, type Metrics } from './ops/metrics.ts';
import { createAuditor } from './ops/audit.ts';
import { accessLogOf, loggerOptions } from './ops/logger.ts';
import { loggerAccessLog } from './ops/access-log.ts';
import { nextRequestId } from './ops/request-id.ts';
import { lazyChildLogger, RequestLogController } from './ops/lazy-logger.ts';
import { createSecretBox } from './store/secretbox.ts';
import { mustDecodeKey32 } from './config/keys.ts';
import type { Core } from './core.ts';
import { StoreError, type Store } from './store/types.ts';
import { GatewayError } from './errors.ts';

export interface AppDeps {
  readonly store: Store;
  /** clock (epoch ms); tests inject one */
  readonly now?: () => number;
  /** a pino logger or false (tests); default: JSON to stdout at config.log.level */
  readonly logger?: FastifyBaseLogger | false;
  readonly metrics?: Metrics;
  /** HTTP client for Entra/Graph calls (tests may route it); default: global fetch */
  readonly fetch?: typeof fetch;
}

export type GatewayApp = FastifyInstance;

/** What buildGateway builds: the Fastify app, and the core its services and routes were given. */
export interface Gateway {
  readonly app: GatewayApp;
  readonly core: Core;
}

/**
 * The node:http options of the public listener. serve() creates its long-lived
 * listener with them and hands each request to the current app's server
 * (src/runtime/reload.ts), so a reload never closes the listening socket.
 */
export function httpServerOptions(config: Config): ServerOptions {
  return {
    maxHeaderSize: config.server.maxHeaderBytes,
    headersTimeout: config.server.headersTimeoutMs,
    requestTimeout: config.server.requestTimeoutMs,
    keepAliveTimeout: config.server.keepAliveTimeoutMs,
    // how often node:http looks for connections past headersTimeout/requestTimeout (default 30 s,
    // which let a slowloris client hold a connection for up to 30 s more than headersTimeoutMs)
    connectionsCheckingInterval: Math.max(50, Math.min(1_000, Math.floor(config.server.headersTimeoutMs / 2))),
    requireHostHeader: true,
    joinDuplicateHeaders: false,
  };
}

const kBadPath = Symbol('regentra.badPath');
/** why the path could read differently upstream (src/routing/path.ts); refused unless the site allows it */
const kAmbiguousPath = Symbol('regentra.ambiguousPath');
type RawRequest = IncomingMessage & { [kBadPath]?: string; [kAmbiguousPath]?: string };

/** The gateway as a Fastify instance (see buildGateway). */
export async function buildApp(config: Config, deps: AppDeps): Promise<GatewayApp> {
  return (await buildGateway(config, deps)).app;
}

export async function buildGateway(config: Config, deps: AppDeps): Promise<Gateway> {
  const now = deps.now ?? Date.now;
  const sites = buildSiteTable(config);
  const metrics = deps.metrics ?? createMetrics();

  // Fastify's node:http handler, with the fast lane in front of it once the proxy is registered (src/proxy/lane.ts)
  let fastifyHandler: HttpHandler | null = null;
  let lane: FastLane | null = null;
  const trust = trustFunction(config.server.trustedProxies);
  const serverFactory: FastifyServerFactory = (handler) => {
    fastifyHandler = handler;
    const server = createServer(httpServerOptions(config), (req, res) => {
      if (lane !== null) lane.handle(req, res);
      else handler(req, res);
    });
    // an Expect other than 100-continue: answered like any request (node:http would send its own 417)
    server.on('checkExpectation', handler);
    return server;
  };

  const app = Fastify({
    serverFactory,
    ...(deps.logger ? { loggerInstance: deps.logger } : { logger: deps.logger === false ? false : loggerOptions(config.log.level) }),
    // one trust function for Fastify and the fast lane (routing/forwarded.ts)
    trustProxy: trust,
    requestIdHeader: false,
    // UUID-shaped, unique per process without a random draw per request (ops/request-id.ts)
    genReqId: nextRequestId,
    // a request's child logger is made when it first writes a line (most never do); the
    // access-log lines cost nothing unless info is enabled (src/ops/lazy-logger.ts)
    childLoggerFactory: lazyChildLogger,
    logController: new RequestLogController(deps.logger ? accessLogOf(deps.logger) : undefined),
    bodyLimit: config.server.formBodyLimitBytes,
    forceCloseConnections: 'idle',
    return503OnClosing: true,
    rewriteUrl(req) {
      const n = normalizeTarget(req.url ?? '');
      if (!n.ok) {
        (req as RawRequest)[kBadPath] = n.reason;
        return '/';
      }
      if (n.ambiguous !== undefined) (req as RawRequest)[kAmbiguousPath] = n.ambiguous;
      return n.query ? `${n.path}?${n.query}` : n.path;
    },
  });

  const signingKeys = loadSigningKeys(config);
  const revocation = storeRevocation(deps.store, {
    ttlMs: config.session.revocationCheckSeconds * 1000,
    sessionLifetimeMs: config.session.absoluteLifetimeSeconds * 1000,
    now,
    onError: (err) => app.log.warn({ err }, 'revocation: store unavailable (checks use the last known state; sign-outs are retried)'),
    realmRules: (realm) => realmSessionRules(config, deps.store, realm),
  });
  const base = {
    config,
    store: deps.store,
    now,
    sites,
    metrics,
    signer: createSigner({ key: signingKeys[0]!, issuer: config.identity.issuer, ttlSeconds: config.identity.ttlSeconds, now }),
    jwks: buildJwks(signingKeys),
    auditor: createAuditor(deps.store, app.log, now),
    policy: createPolicyService(config, deps.store),
    revocation,
    sessionRegistry: storeRegistry(deps.store, { lifetimeMs: config.session.absoluteLifetimeSeconds * 1000, log: app.log }),
    secretBox: createSecretBox(config.keys.encryption.map((k) => ({ id: k.id, key: mustDecodeKey32(k.key) }))),
    fetch: deps.fetch ?? globalThis.fetch,
    entra: createEntraClient({ config, fetch: deps.fetch ?? globalThis.fetch, metrics }),
  };
  app.decorateRequest('site', null as unknown as Site);
  app.decorateRequest('siteHost', '');

  // 1. host → site, and refuse targets that did not normalise
  app.addHook('onRequest', (request, reply, done) => {
    const bad = (request.raw as RawRequest)[kBadPath];
    if (bad !== undefined) {
      replyError(request, reply, 'BAD_PATH', { detail: bad });
      return;
    }
    // node:http keeps the first of several Host headers; a front proxy may have used another one
    if (hostHeaderCount(request.raw.rawHeaders) > 1) {
      replyError(request, reply, 'BAD_REQUEST', { detail: 'more than one Host header', headers: { connection: 'close' } });
      return;
    }
    const host = canonicalHost(request.host);
    const site = host === null ? undefined : sites.lookup(host);
    if (site === undefined || host === null) {
      // the public keys are served on any host name, so that backends can fetch them
      // through an internal address (e.g. http://regentra-gateway:8080/.auth/jwks.json)
      if (request.method === 'GET' && (request.url === PATHS.jwks || request.url.startsWith(`${PATHS.jwks}?`))) return done();
      replyError(request, reply, 'UNKNOWN_HOST');
      return;
    }
    // a path an upstream could decode into another one: refused before any decision uses it
    const ambiguous = (request.raw as RawRequest)[kAmbiguousPath];
    if (ambiguous !== undefined && !site.allowAmbiguousPaths) {
      replyError(request, reply, 'BAD_PATH', { detail: ambiguous });
      return;
    }
    request.site = site;
    request.siteHost = host;
    // handed over by the fast lane after the upstream failed: answered with that error's page
    const failure = laneFailureOf(request.raw);
    if (failure !== undefined) {
      replyError(request, reply, failure);
      return;
    }
    done();
  });

  const countRequest = metrics.hot.request;
  app.addHook('onResponse', (request, reply, done) => {
    if (request.site && !isReservedPath(request.url)) countRequest(request.site.kind, reply.statusCode);
    done();
  });

  app.setErrorHandler((err: Error & { statusCode?: number; code?: string }, request, reply) => {
    // a coded error raised on purpose anywhere (a service, a hook, a route): rendered from its code
    if (err instanceof GatewayError) {
      if (err.status >= 500) request.log.error({ err }, 'request failed');
      else request.log.info({ err: { message: err.message, code: err.code } }, 'request refused');
      return replyGatewayError(request, reply, err);
    }
    const status = err.statusCode ?? 500;
    if (status === 413) return replyError(request, reply, 'PAYLOAD_TOO_LARGE');
    if (status >= 400 && status < 500) {
      request.log.info({ err: { message: err.message, code: err.code } }, 'bad request');
      return replyError(request, reply, 'BAD_REQUEST');
    }
    // the database is unreachable: nothing was saved; say so plainly (503), not "something went wrong"
    if (err instanceof StoreError && err.code === 'UNAVAILABLE') {
      request.log.warn({ err: { message: err.message, code: err.code } }, 'store unavailable');
      return replyError(request, reply, 'STORE_UNAVAILABLE', {
        html: acceptsHtml(request),
        title: 'Temporarily unavailable',
        message:
          'The gateway cannot reach its database right now, so this could not be done and nothing was saved. People already signed in are not affected. Try again in a moment.',
      });
    }
    // fail closed: an error anywhere in a decision denies with a generic page
    request.log.error({ err }, 'request failed');
    return replyError(request, reply, 'INTERNAL');
  });
  app.setNotFoundHandler((request, reply) => replyError(request, reply, 'NOT_FOUND'));

  // 2. sessions
  await app.register(sessionsPlugin, { config, now, revocation, registry: base.sessionRegistry });
  const core: Core = Object.freeze({ ...base, sessions: app.sessions, log: app.log });

  // 3. the gateway's own endpoints (forms are parsed only here)
  await app.register(async (auth) => {
    await auth.register(formbody, { bodyLimit: config.server.formBodyLimitBytes });
    await auth.register(coreRoutes, { core, endSessionUrl: (request, session) => entraEndSessionUrl(core, request, session) });
    await auth.register(passwordRoutes, { core });
    await auth.register(entraRoutes, { core });
    await auth.register(adminRoutes, { core });
    await auth.register(accountRoutes, { core });
  });
  watchCredentialExpiry(app, core);

  // 4. the gate and the proxy: Fastify's route, and the fast lane ahead of Fastify for the plain cases
  const pools = createUpstreamPools(sites.sites);
  const reports = upstreamReports({ metrics, log: app.log, ownCookies: ownCookieNames(core.sessions.cookieNames) });
  await app.register(proxyRoutes, { signer: core.signer, pools, reports });
  const fastLane = createFastLane({
    sites,
    sessions: core.sessions,
    signer: core.signer,
    pools,
    upstream: reports,
    countRequest,
    countForwarded: metrics.hot.fastLane,
    log: app.log,
    accessLog: (deps.logger ? accessLogOf(deps.logger) : undefined) ?? loggerAccessLog(app.log),
    fastify: fastifyHandler ?? ((req, res) => app.routing(req, res)),
    trust,
  });
  app.addHook('preClose', (done) => {
    fastLane.close();
    done();
  });
  lane = fastLane;

  app.addHook('onClose', async () => {
    await revocation.close();
    if (!deps.metrics) metrics.close();
  });
  return { app, core };
}
