/**
 * Who may use the settings pages, and the CSRF rule of their forms.
 *
 * - only the staff site serves them (portal and central hosts: 404);
 * - a valid staff session whose user is still an active admin in the store;
 *   no session: sign-in (browsers) or 401; anyone else: 403;
 * - every POST carries the flow cookie's CSRF token (compared in constant time)
 *   and comes from this site (Sec-Fetch-Site / Origin).
 */
import { GatewayError } from '../errors.ts';
import type { Core } from '../core.ts';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { PATHS } from '../routing/reserved.ts';
import { STAFF_REALM } from '../routing/sites.ts';
import { isSameOrigin } from '../auth/core-routes.ts';
import { replyError, wantsHtml, acceptsHtml } from '../pages/errors.ts';
import type { SessionData } from '../session/types.ts';
import type { User } from '../store/types.ts';
import { sameSecret } from '../util/security.ts';

export interface AdminActor {
  readonly session: SessionData;
  readonly user: User;
}

const actors = new WeakMap<FastifyRequest, AdminActor>();

/** The admin that passed the guard (only inside the admin routes). */
export function actorOf(request: FastifyRequest): AdminActor {
  const actor = actors.get(request);
  if (!actor) throw new Error('admin route reached without the admin guard');
  return actor;
}

/** A sealed session of another realm or host: someone signed in, but not here. */
function foreignSession(request: FastifyRequest): boolean {
  const raw = request.session.get('s');
  return raw !== undefined && raw !== null && raw.v === 1 && (raw.realm !== request.site.realm || raw.host !== request.siteHost);
}

function forbidden(request: FastifyRequest, reply: FastifyReply): FastifyReply {
  return replyError(request, reply, 'FORBIDDEN', {
    html: acceptsHtml(request),
    detail: 'Only Staff administrators can open the settings pages.',
  });
}

function unauthenticated(request: FastifyRequest, reply: FastifyReply): FastifyReply {
  if (wantsHtml(request)) {
    return reply
      .code(303)
      .header('cache-control', 'no-store')
      .redirect(`${PATHS.login}?rd=${encodeURIComponent(request.url)}`);
  }
  return replyError(request, reply, 'UNAUTHENTICATED', { html: acceptsHtml(request) });
}

/** onRequest hook for every route under /.auth/admin/. */
export function adminGuard(core: Core) {
  return async function guard(request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply | undefined> {
    if (request.site.kind !== 'staff') return replyError(request, reply, 'NOT_FOUND');
    const session = await core.sessions.current(request);
    if (!session) return foreignSession(request) ? forbidden(request, reply) : unauthenticated(request, reply);
    if (session.realm !== STAFF_REALM || session.role !== 'admin') return forbidden(request, reply);
    // the role in the session may be stale: the store decides
    const user = await core.store.getUser(STAFF_REALM, session.uid);
    if (!user || user.status !== 'active' || user.role !== 'admin') return forbidden(request, reply);
    actors.set(request, { session, user });
    return undefined;
  };
}

/** Flows last 15 minutes; a page rendered late in a flow starts a new one so its forms live long enough. */
const FLOW_REFRESH_AFTER_MS = 5 * 60_000;

/** The CSRF token for the forms of the page being rendered (from the flow cookie). */
export function csrfToken(core: Core, request: FastifyRequest): string {
  const flow = core.sessions.flow(request);
  if (flow && core.now() - flow.started < FLOW_REFRESH_AFTER_MS) return flow.csrf;
  return core.sessions.startFlow(request, '/').csrf;
}

const sameToken = sameSecret;

/** A form post from this site with the flow's CSRF token. */
export function csrfValid(core: Core, request: FastifyRequest, sent: unknown): boolean {
  if (!isSameOrigin(request)) return false;
  const flow = core.sessions.flow(request);
  return flow !== null && typeof sent === 'string' && sent.length > 0 && sameToken(sent, flow.csrf);
}

/** A form post whose CSRF token is missing or wrong: thrown, rendered by the error handler. */
export function csrfError(request: FastifyRequest): GatewayError {
  return new GatewayError('CSRF', undefined, { presentation: { html: acceptsHtml(request) } });
}
