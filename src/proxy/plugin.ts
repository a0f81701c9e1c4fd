/**
 * Proxying to the site's upstream: the authorization gate, then the exchange on
 * undici's dispatcher (one connection pool per upstream origin, built at startup):
 * streamed bodies both ways, WebSocket upgrades joined byte for byte, per-site
 * timeouts, 502/504 pages. See forward.ts and tunnel.ts for the engine.
 *
 * The gate runs in the route's handler: public path → proxied without identity;
 * valid session → proxied with signed identity headers; otherwise the browser is
 * sent to sign in, or an API client gets 401 JSON. Any error in that decision
 * denies (Fastify's error handler answers 500).
 *
 * WebSocket handshakes arrive on the server's 'upgrade' event; they are routed
 * through Fastify like any request (same hooks, same gate) with a response bound
 * to the raw connection, so a refusal is an ordinary 401/404/421 answer.
 */
import { patchServerClose } from '../util/library-patches.ts';
import { ServerResponse, type IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import type { AssertionSigner } from '../identity/signer.ts';
import type { Site } from '../routing/sites.ts';
import { PATHS } from '../routing/reserved.ts';
import { identityOf } from '../session/types.ts';
import { replyError, wantsHtml } from '../pages/errors.ts';
import { upstreamHeaders, type UpstreamIdentity } from './headers.ts';
import { forward, type ExchangeHooks } from './forward.ts';
import { tunnel, type UpgradeSocket } from './tunnel.ts';
import type { UpstreamPools } from './upstreams.ts';
import type { UpstreamReports } from './reports.ts';
import { gateRoute, PROXIED_METHODS } from './gate.ts';

export interface ProxyPluginOptions {
  readonly signer: AssertionSigner;
  /** one connection pool per upstream origin (src/proxy/upstreams.ts), destroyed when the app closes */
  readonly pools: UpstreamPools;
  /** latency and failures of upstreams (./reports.ts), shared with the fast lane */
  readonly reports: UpstreamReports;
}

const kUpgrade = Symbol('regentra.proxy.upgrade');
type UpgradeRequest = IncomingMessage & { [kUpgrade]?: UpgradeSocket };

/** The unauthenticated answer: sign-in redirect for a browser navigation, 401 JSON otherwise. */
export function unauthenticated(request: FastifyRequest, reply: FastifyReply): FastifyReply {
  const loginUrl = `${PATHS.login}?rd=${encodeURIComponent(request.url)}`;
  if (wantsHtml(request)) return reply.code(302).header('cache-control', 'no-store').redirect(loginUrl);
  return replyError(request, reply, 'UNAUTHENTICATED', {
    headers: { 'www-authenticate': `Cookie realm="${request.site.realm}", login="${PATHS.login}"` },
  });
}

/** request bodies are not parsed here: they stream to the upstream as they arrive */
function passThrough(_request: FastifyRequest, payload: unknown, done: (err: Error | null, body?: unknown) => void): void {
  done(null, payload);
}

async function proxyPlugin(app: FastifyInstance, opts: ProxyPluginOptions): Promise<void> {
  const { signer, pools, reports } = opts;
  const sessions = app.sessions;
  const cookieNames = sessions.cookieNames;

  const hooks: ExchangeHooks = {
    ownCookies: reports.ownCookies,
    answered: reports.answered,
    failed(request, reply, error) {
      const code = reports.failure(request, error, request.log);
      if (reply.sent || reply.raw.headersSent) {
        reply.raw.destroy();
        return;
      }
      replyError(request, reply, code);
    },
  };

  /** open WebSocket tunnels, ended when the server closes */
  const tunnels = new Set<{ close(): void }>();
  const track = (t: { close(): void }, closed: Promise<void>) => {
    tunnels.add(t);
    void closed.then(() => tunnels.delete(t));
  };

  function proxy(request: FastifyRequest, reply: FastifyReply, site: Site, auth: UpstreamIdentity | null): void {
    const headers = upstreamHeaders(request, request.headers, cookieNames, auth);
    const pool = pools.get(site.upstream);
    const upgrade = (request.raw as UpgradeRequest)[kUpgrade];
    if (upgrade === undefined) {
      const viaFastify = request.session.changed === true || request.flowSession.changed === true ? reply : undefined;
      // a refreshed session's cookie (session/refresh-cache.ts): on a direct response, the exchange adds it
      const setCookie = viaFastify ? undefined : sessions.refreshCookie(request);
      forward(request, reply, { pool, path: request.url, headers, timeoutMs: site.responseTimeoutMs, viaFastify, setCookie }, hooks);
      return;
    }
    const protocol = request.headers.upgrade;
    if (request.method !== 'GET' || typeof protocol !== 'string' || protocol.toLowerCase() !== 'websocket') {
      replyError(request, reply, 'BAD_REQUEST');
      return;
    }
    tunnel(request, reply, upgrade, { pool, path: request.url, headers, timeoutMs: site.responseTimeoutMs, track }, hooks);
  }

  async function authorize(request: FastifyRequest, reply: FastifyReply, site: Site): Promise<void> {
    try {
      const session = await sessions.current(request);
      if (!session) {
        unauthenticated(request, reply);
        return;
      }
      const identity = identityOf(session);
      proxy(request, reply, site, { identity, assertion: await signer.assertion(identity, site.audience) });
    } catch (err) {
      // fail closed: the error handler answers 500
      if (!reply.sent) void reply.send(err);
    }
  }

  function handler(request: FastifyRequest, reply: FastifyReply): void {
    const site = request.site;
    switch (gateRoute(site, request.url)) {
      case 'refuse':
        replyError(request, reply, 'NOT_FOUND');
        return;
      case 'public':
        proxy(request, reply, site, null);
        return;
      case 'session':
        void authorize(request, reply, site);
    }
  }

  // eslint-disable-next-line @typescript-eslint/require-await -- a Fastify plugin: async so avvio awaits it without a done callback
  await app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', passThrough);
    for (const url of ['/', '/*']) scope.route({ method: [...PROXIED_METHODS], url, handler });
  });

  // WebSocket handshakes: through Fastify's routing (hooks, gate) with a response on the raw connection
  const server = app.server;
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    // node:http no longer watches an upgraded connection: a reset while the gate or the
    // upstream is deciding must not become an uncaught 'error'
    socket.on('error', () => socket.destroy());
    (req as UpgradeRequest)[kUpgrade] = { socket, head };
    const res = new ServerResponse(req);
    res.assignSocket(socket as Socket);
    // any answer other than a switch (401, 404, 421, 502…) ends the connection
    res.once('finish', () => socket.destroy());
    app.routing(req, res);
  });
  // closing the server (a reload retiring this app, a shutdown) ends the tunnels too
  patchServerClose(server, () => {
    for (const t of tunnels) t.close();
  });

  app.addHook('onClose', async () => {
    for (const t of tunnels) t.close();
    await pools.destroy();
  });
}

export const proxyRoutes = fp(proxyPlugin, { name: 'regentra-proxy', fastify: '5.x', dependencies: ['regentra-sessions'] });
