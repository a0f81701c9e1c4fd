/**
 * The gateway's own endpoints that do not belong to one sign-in method:
 * JWKS, the current identity, sign-out, the signed-out page and page assets.
 */
import type { Core } from '../core.ts';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { PATHS } from '../routing/reserved.ts';
import { safeRedirectTarget } from '../routing/redirect.ts';
import { ASSETS } from '../pages/layout.ts';
import { sendPage } from '../pages/layout.ts';
import { html } from '../pages/html.ts';
import { replyError } from '../pages/errors.ts';
import { realmKind } from '../ops/metrics.ts';
import { authMethods, type SessionData } from '../session/types.ts';

/** What a sign-out asks the browser to forget of this origin (docs/security.md). */
export const CLEAR_ON_SIGN_OUT = '"cache", "storage"';

/** A request made by this site's own pages (not a cross-site form or image). */
export function isSameOrigin(request: FastifyRequest): boolean {
  const site = request.headers['sec-fetch-site'];
  if (typeof site === 'string') return site === 'same-origin' || site === 'none';
  const origin = request.headers.origin;
  if (typeof origin !== 'string') return false;
  try {
    return new URL(origin).host.toLowerCase() === String(request.headers.host ?? '').toLowerCase();
  } catch {
    return false;
  }
}

/** RFC 9110 If-None-Match: `*`, or a list of (possibly weak) entity tags, compared weakly. */
export function etagMatches(header: string | undefined, etag: string): boolean {
  if (!header) return false;
  if (header.trim() === '*') return true;
  return header.split(',').some((t) => t.trim().replace(/^W\//, '') === etag);
}

export interface CoreRoutesOptions {
  readonly core: Core;
  /** where to send the browser after sign-out (Entra's end-session URL for an SSO session), or null */
  readonly endSessionUrl: (request: FastifyRequest, session: SessionData) => Promise<string | null>;
}

// eslint-disable-next-line @typescript-eslint/require-await -- a Fastify plugin: async so avvio awaits it without a done callback
export async function coreRoutes(app: FastifyInstance, { core, endSessionUrl }: CoreRoutesOptions): Promise<void> {
  const { jwks, auditor, metrics } = core;

  app.get(PATHS.jwks, (request, reply) => {
    reply.header('etag', jwks.etag).header('cache-control', 'public, max-age=300, must-revalidate').header('access-control-allow-origin', '*');
    if (etagMatches(request.headers['if-none-match'], jwks.etag)) return reply.code(304).send();
    return reply.type('application/jwk-set+json').send(jwks.body);
  });

  app.get(PATHS.me, async (request, reply) => {
    const s = await core.sessions.current(request);
    reply.header('cache-control', 'no-store');
    if (!s) return replyError(request, reply, 'UNAUTHENTICATED', { html: false });
    const { amr, idpAmr } = authMethods(s);
    return {
      sub: s.uid,
      email: s.email,
      name: s.name,
      realm: s.realm,
      client: s.client,
      role: s.role,
      amr,
      idp_amr: idpAmr,
      authTime: s.authTime,
      sid: s.sid,
      idp: s.idp ? { tid: s.idp.tid, oid: s.idp.oid } : null,
    };
  });

  app.get(`${PATHS.assets}:name`, (request, reply) => {
    const name = (request.params as { name: string }).name;
    const asset = name === 'gateway.js' ? ASSETS.js : null;
    if (!asset) return replyError(request, reply, 'NOT_FOUND');
    reply.header('etag', asset.etag).header('cache-control', 'public, max-age=31536000, immutable').header('x-content-type-options', 'nosniff');
    if (etagMatches(request.headers['if-none-match'], asset.etag)) return reply.code(304).send();
    return reply.type(asset.type).send(asset.body);
  });

  async function signOut(request: FastifyRequest, reply: FastifyReply, session: SessionData | null) {
    // the browser drops what it kept of this host's pages (HTTP and back/forward caches) and the
    // apps' storage, so Back shows no signed-in page. Not "cookies": that clears the whole
    // registrable domain (every portal and the staff host); the gateway's cookies are host-only
    // and cleared by Set-Cookie below.
    reply.header('clear-site-data', CLEAR_ON_SIGN_OUT);
    const after = `${PATHS.signedOut}?rd=${encodeURIComponent(safeRedirectTarget((request.query as { rd?: unknown }).rd))}`;
    core.sessions.end(request);
    core.sessions.endFlow(request);
    if (!session) return reply.code(303).header('cache-control', 'no-store').redirect(after);
    // end this session server-side too, so that a copied cookie dies with the sign-out
    await core.revocation.revokeSession(session, core.now()).catch((err: unknown) => {
      request.log.warn(
        { err },
        'sign-out: the store did not record the revocation; the cookie is cleared, the session refused here, and the revocation retried',
      );
    });
    core.sessionRegistry.ended(session.sid);
    metrics.signIns.inc({ realm: realmKind(session.realm), method: 'signout', outcome: 'success' });
    await auditor.record({
      type: 'signout',
      outcome: 'success',
      realm: session.realm,
      userId: session.uid,
      actor: session.uid,
      ip: request.ip,
      details: { sid: session.sid, amr: session.amr },
    });
    const idpUrl = await endSessionUrl(request, session).catch(() => null);
    return reply
      .code(303)
      .header('cache-control', 'no-store')
      .redirect(idpUrl ?? after);
  }

  app.post(PATHS.logout, async (request, reply) => {
    const session = await core.sessions.current(request);
    if (session && !isSameOrigin(request)) return replyError(request, reply, 'CSRF', { html: true });
    return signOut(request, reply, session);
  });

  app.get(PATHS.logout, async (request, reply) => {
    const session = await core.sessions.current(request);
    // a link on the site's own pages signs out at once; anything cross-site gets a confirmation
    if (!session || isSameOrigin(request)) return signOut(request, reply, session);
    const rd = safeRedirectTarget((request.query as { rd?: unknown }).rd);
    return sendPage(reply, 200, {
      title: 'Sign out',
      siteName: request.site.name,
      // an SSO sign-out continues at Entra's end-session endpoint (CSP form-action covers redirects)
      formTargets: [new URL(core.config.entra.authorityHost).origin],
      body: html`<h1>Sign out?</h1>
<p class="lead">You are signed in as <strong>${session.email}</strong>.</p>
<form method="post" action="${PATHS.logout}?rd=${encodeURIComponent(rd)}"><button class="btn" type="submit">Sign out</button></form>
<p class="links"><a href="${rd}">Stay signed in</a></p>`,
    });
  });

  app.get(PATHS.signedOut, (request, reply) => {
    const rd = safeRedirectTarget((request.query as { rd?: unknown }).rd);
    return sendPage(reply, 200, {
      title: 'Signed out',
      siteName: request.site.name,
      body: html`<h1>You are signed out</h1>
<p class="lead">You have been signed out of ${request.site.name}. Close the browser to finish, or sign in again.</p>
<a class="btn" href="${PATHS.login}?rd=${encodeURIComponent(rd)}">Sign in again</a>`,
    });
  });
}
