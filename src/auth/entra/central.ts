/**
 * Portal sign-in through the central callback host (`sites.portal.centralCallbackHost`):
 * one redirect URI for every client's portal.
 *
 * 1. The client host starts the attempt: its flow cookie keeps the attempt id; the
 *    `state` sent to Entra is a sealed envelope (attempt.ts) with the nonce, PKCE
 *    verifier, client id, tenant and client host.
 * 2. The central host opens the envelope (refused if it does not open or has expired),
 *    consumes the attempt id once, redeems the code and resolves the user in that
 *    client's realm; it creates no session. It redirects to the client host's
 *    /.auth/handoff with a ticket: sealed (aad bound to that host), ≤ 60 s, one id.
 * 3. The client host opens the ticket (another host's aad does not open it), checks
 *    realm, host and expiry, checks the attempt id against ITS flow cookie (the same
 *    browser that started), consumes the ticket id once, and starts its own session.
 */
import type { Core } from '../../core.ts';
import { randomBytes } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { PATHS } from '../../routing/reserved.ts';
import { noStore } from '../../session/plugin.ts';
import { isGuid, LOGIN_HINT, ROLE_VALUE, SID_PATTERN } from './claims.ts';
import { aadstsError, EntraError } from './errors.ts';
import { callbackParams, consumeState, currentAttempt, openCentralState, sameString } from './attempt.ts';
import { portalTarget } from './target.ts';
import { redeemAndResolve } from './redeem.ts';
import { establishSession } from './signin.ts';
import { publicOrigin, redirectUriFor } from './urls.ts';

/** how long a hand-off ticket is valid */
export const TICKET_LIFETIME_MS = 60_000;
const MAX_TICKET = 4096;
const ticketAad = (host: string) => `entra.handoff.v1:${host}`;

interface Ticket {
  readonly id: string;
  readonly realm: string;
  readonly host: string;
  /** the attempt id kept in the client host's flow cookie */
  readonly attempt: string;
  readonly uid: string;
  readonly tid: string;
  readonly oid: string;
  readonly amr: readonly string[];
  /** the Entra session id (front-channel sign-out), when Entra sent one */
  readonly sid?: string | null;
  /** the person's app roles (portal apps receive them) */
  readonly roles?: readonly string[];
  /** epoch seconds */
  readonly authTime: number;
  /** epoch ms */
  readonly exp: number;
  /** the ID token's login_hint claim, or null */
  readonly lh: string | null;
}

function sealTicket(core: Core, t: Ticket): string {
  return core.secretBox.seal(JSON.stringify(t), ticketAad(t.host));
}

function openTicket(core: Core, sealed: string, host: string): Ticket | null {
  let t: Ticket;
  try {
    t = JSON.parse(core.secretBox.open(sealed, ticketAad(host))) as Ticket;
  } catch {
    return null;
  }
  const ok =
    typeof t === 'object' &&
    t !== null &&
    typeof t.id === 'string' &&
    typeof t.realm === 'string' &&
    t.host === host &&
    typeof t.attempt === 'string' &&
    typeof t.uid === 'string' &&
    isGuid(t.tid) &&
    isGuid(t.oid) &&
    Array.isArray(t.amr) &&
    t.amr.every((v) => typeof v === 'string') &&
    typeof t.authTime === 'number' &&
    typeof t.exp === 'number' &&
    (t.lh === null || (typeof t.lh === 'string' && LOGIN_HINT.test(t.lh)));
  return ok ? t : null;
}

/** GET /.auth/callback on the central host. */
export async function centralCallback(core: Core, request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
  const p = callbackParams(request.query);
  const cs = p.state === null ? null : openCentralState(core, p.state);
  if (!cs) throw p.error !== null ? aadstsError(p.error, p.errorDescription ?? undefined) : new EntraError('SSO_STATE_MISMATCH');
  const clientSite = core.sites.lookup(cs.host);
  if (!clientSite || clientSite.kind !== 'portal' || clientSite.clientId !== cs.clientId) throw new EntraError('SSO_STATE_MISMATCH');
  await consumeState(core, cs.id);
  if (p.error !== null) throw aadstsError(p.error, p.errorDescription ?? undefined);

  const target = await portalTarget(core, cs.clientId);
  if (target.app.tenantId !== cs.tenantId || target.centralHost === null) throw new EntraError('SSO_FLOW_MISSING');
  const { identity, resolved } = await redeemAndResolve(
    core,
    target,
    { redirectUri: redirectUriFor(core.config, target.centralHost), nonce: cs.nonce, verifier: cs.verifier, state: null },
    p,
  );
  const now = core.now();
  const ticket = sealTicket(core, {
    id: randomBytes(18).toString('base64url'),
    realm: target.realm,
    host: cs.host,
    attempt: cs.id,
    uid: resolved.user.id,
    tid: identity.tid,
    oid: identity.oid,
    amr: identity.amr,
    sid: identity.sid,
    roles: identity.roles,
    authTime: Math.floor(now / 1000),
    exp: now + TICKET_LIFETIME_MS,
    lh: identity.loginHint,
  });
  await core.auditor.record({
    type: 'signin.handoff',
    outcome: 'info',
    realm: target.realm,
    userId: resolved.user.id,
    actor: resolved.user.id,
    ip: request.ip,
    details: { method: 'sso', tid: identity.tid, oid: identity.oid, account: resolved.outcome },
  });
  return noStore(reply).redirect(`${publicOrigin(core.config, cs.host)}${PATHS.handoff}?ticket=${encodeURIComponent(ticket)}`, 303);
}

/** GET /.auth/handoff?ticket= on a client's portal host. */
export async function redeemHandoff(core: Core, request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
  const site = request.site;
  if (site.kind !== 'portal') throw new EntraError('SSO_TICKET_INVALID');
  const raw = (request.query as { ticket?: unknown } | undefined)?.ticket;
  if (typeof raw !== 'string' || raw.length === 0 || raw.length > MAX_TICKET) throw new EntraError('SSO_TICKET_INVALID');
  const t = openTicket(core, raw, request.siteHost);
  const now = core.now();
  if (!t || t.realm !== site.realm || t.exp < now || t.exp > now + TICKET_LIFETIME_MS) throw new EntraError('SSO_TICKET_INVALID');
  // the browser that started the attempt on this host, and nobody else
  const attempt = currentAttempt(core, request);
  if (!attempt || !attempt.central || !sameString(attempt.id, t.attempt)) throw new EntraError('SSO_TICKET_INVALID');
  if (!(await core.store.consumeOnce(`handoff:${t.id}`, t.exp + TICKET_LIFETIME_MS))) throw new EntraError('SSO_TICKET_INVALID');
  if (!(await core.policy.forSite(site)).sso) throw new EntraError('SSO_DISABLED');

  const user = await core.store.getUser(site.realm, t.uid);
  if (!user || user.externalTid?.toLowerCase() !== t.tid || user.externalOid?.toLowerCase() !== t.oid) throw new EntraError('SSO_TICKET_INVALID');
  if (user.status !== 'active') throw new EntraError('SSO_USER_DISABLED');
  const rd = core.sessions.flow(request)?.rd ?? '/';
  return establishSession(core, request, reply, {
    user,
    rd,
    outcome: 'handoff',
    authTime: t.authTime,
    identity: {
      tid: t.tid,
      oid: t.oid,
      amr: t.amr,
      loginHint: t.lh,
      sid: typeof t.sid === 'string' && SID_PATTERN.test(t.sid) ? t.sid : null,
      roles: Array.isArray(t.roles) ? t.roles.filter((r) => typeof r === 'string' && ROLE_VALUE.test(r)) : [],
    },
  });
}
