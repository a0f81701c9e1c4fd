// The stand-in's HTTP server: fault injection (down, delay), then routing on Entra's paths.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { AAD, tokenErrorBody } from './errors.ts';
import { forwardToProvider, handleAuthorize, handleLogin, sendInvalidTenant } from './authorize.ts';
import { handleAdminConsent, handleLogout } from './consent.ts';
import { handleGraph } from './graph.ts';
import { readForm, sendHtml, sendJson } from './http.ts';
import { sendDiscovery, sendJwks } from './metadata.ts';
import { indexPage } from './pages.ts';
import { recordTokenRequest } from './shaping.ts';
import { handleClientAssertion } from './assertions.ts';
import { findTenant, type Runtime, type TenantRuntime } from './types.ts';

function sleep(ms: number): Promise<void> {
  // unref'd: a pending delay must not keep a finished test process alive
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

const notFound = (res: ServerResponse) => sendJson(res, 404, { error: 'not_found', error_description: 'No such endpoint on the Entra stand-in.' });
const methodNotAllowed = (res: ServerResponse) =>
  sendJson(res, 405, tokenErrorBody({ status: 405, error: 'invalid_request', code: 900561, message: 'The endpoint only accepts POST requests.' }));

async function route(rt: Runtime, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const path = new URL(req.url ?? '/', 'http://x').pathname;
  const method = req.method ?? 'GET';

  if (path === '/graph' || path.startsWith('/graph/')) return handleGraph(rt, path.slice('/graph'.length), req, res);
  if (path === '/') return sendHtml(res, 200, indexPage({ url: rt.url, tenants: [...rt.tenants.values()] }));

  // eslint-disable-next-line security/detect-unsafe-regex -- anchored; [^/]+ stops at the '/' the optional group starts with: linear
  const match = /^\/([^/]+)(\/.*)?$/.exec(path);
  if (!match?.[1]) return notFound(res);
  const segment = match[1];
  const rest = match[2] ?? '';
  const tenant = findTenant(rt, segment);
  const known = (fn: (t: TenantRuntime) => Promise<void> | void) => (tenant ? fn(tenant) : sendInvalidTenant(res, segment));

  switch (rest) {
    case '/v2.0/.well-known/openid-configuration':
      return known((t) => sendDiscovery(rt, t, res));
    case '/discovery/v2.0/keys':
      return known((t) => sendJwks(rt, t, res));
    case '/oauth2/v2.0/authorize':
      return handleAuthorize(rt, segment, req, res);
    case '/oauth2/v2.0/token':
      if (method !== 'POST') return methodNotAllowed(res);
      if (!tenant) {
        const body = await readForm(req);
        rt.tokenRequests.push(recordTokenRequest(segment, body, req.headers.authorization));
        return sendInvalidTenant(res, segment);
      }
      if (await handleClientAssertion(rt, tenant, req, res)) return;
      return forwardToProvider(tenant, segment, req, res);
    case '/oauth2/v2.0/logout':
      return known((t) => handleLogout(rt, t, req, res));
    case '/v2.0/adminconsent':
      return known((t) => handleAdminConsent(rt, t, req, res));
  }

  if (/^\/oauth2\/v2\.0\/authorize\/[^/]+$/.test(rest)) {
    // resuming an authorization request after the sign-in page
    return known((t) => forwardToProvider(t, segment, req, res));
  }
  const login = /^\/login\/([^/]+)(\/cancel)?$/.exec(rest);
  if (login?.[1]) {
    const uid = decodeURIComponent(login[1]);
    return known((t) => handleLogin(rt, t, uid, login[2] !== undefined, req, res));
  }
  return notFound(res);
}

async function dispatch(rt: Runtime, req: IncomingMessage, res: ServerResponse): Promise<void> {
  if (rt.down === 'reset') {
    req.socket.resetAndDestroy(); // TCP RST: the client sees ECONNRESET
    return;
  }
  if (rt.delayMs > 0) {
    await sleep(rt.delayMs);
    if (req.socket.destroyed) return;
  }
  if (rt.down === true) {
    sendJson(res, 503, tokenErrorBody(AAD.unavailable()), { 'retry-after': '1' });
    return;
  }
  await route(rt, req, res);
}

export function createEntraServer(rt: Runtime): Server {
  return createServer((req, res) => {
    dispatch(rt, req, res).catch((err: unknown) => {
      if (res.headersSent) {
        res.destroy();
        return;
      }
      const detail = err instanceof Error ? err.message : String(err);
      sendJson(res, 500, tokenErrorBody(AAD.serverError(detail)));
    });
  });
}
