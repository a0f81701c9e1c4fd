/**
 * Front-channel sign-out (the app registration's "Front-channel logout URL"): when a
 * person signs out of Microsoft elsewhere, Microsoft loads
 * `GET /.auth/frontchannel-logout?iss=…&sid=…` in a hidden frame. The frame carries no
 * usable cookie (third-party context), so the gateway ends, server-side, every session
 * started from that Entra session: a revocation keyed by tenant + `sid` that every replica
 * sees within the revocation bound (src/session/revocation.ts).
 *
 * No CSRF token exists in this protocol; what makes a request count is `iss`: exactly the
 * issuer of a tenant this host signs in with (staff: the staff tenant; a portal host: its
 * client's tenant; the central host: any portal client's tenant). A forged call can only
 * sign someone out of the gateway, never in. The answer may be framed only by Microsoft's
 * origin (CSP frame-ancestors = the authority host).
 */
import type { Core } from '../../core.ts';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { html } from '../../pages/html.ts';
import { SID_PATTERN, isGuid } from './claims.ts';
import { tenantAuthority } from './urls.ts';

/** The tenants whose Entra sessions this host's sessions come from. */
async function tenantsOfHost(core: Core, request: FastifyRequest): Promise<string[]> {
  const { policy, config } = core;
  const site = request.site;
  if (site.kind === 'staff') {
    const s = await policy.staffSso();
    return isGuid(s.tenantId) ? [s.tenantId.toLowerCase()] : [];
  }
  const clients = site.kind === 'portal' && site.clientId ? [site.clientId] : (config.sites.portal?.clients ?? []).map((c) => c.id);
  const tenants = await Promise.all(clients.map(async (id) => (await policy.portalAuth(id)).tenantId));
  return tenants.filter(isGuid).map((t) => t.toLowerCase());
}

function answer(core: Core, reply: FastifyReply, status: number, text: string): FastifyReply {
  const authority = new URL(core.config.entra.authorityHost).origin;
  return reply
    .code(status)
    .header('cache-control', 'no-store')
    .header('content-security-policy', `default-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors ${authority}`)
    .header('referrer-policy', 'no-referrer')
    .header('x-content-type-options', 'nosniff')
    .type('text/html; charset=utf-8')
    .send(html`<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Signed out</title></head><body><p>${text}</p></body></html>`.toString());
}

export async function frontChannelLogout(core: Core, request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
  const q = (request.query ?? {}) as Record<string, unknown>;
  const iss = typeof q.iss === 'string' ? q.iss : '';
  const sid = typeof q.sid === 'string' ? q.sid : '';
  const { config, revocation, auditor, now } = core;
  if (!SID_PATTERN.test(sid) || iss.length > 300) return answer(core, reply, 400, 'The sign-out request is incomplete (sid and iss are required).');
  const tid = (await tenantsOfHost(core, request)).find((t) => tenantAuthority(config, t) === iss);
  if (!tid) {
    request.log.info({ iss: iss.slice(0, 120) }, 'front-channel sign-out refused: not the issuer of a tenant this host signs in with');
    return answer(core, reply, 400, 'This sign-out request is not from the directory this site signs in with.');
  }
  try {
    await revocation.revokeIdpSession(tid, sid, now());
  } catch (err) {
    // kept and retried by the revocation check: this replica already treats those sessions as ended
    request.log.warn({ err }, 'front-channel sign-out not yet recorded in the store (retrying)');
  }
  await auditor.record({
    type: 'signout.frontchannel',
    outcome: 'success',
    realm: request.site.kind === 'central' ? 'portal' : request.site.realm,
    userId: null,
    actor: null,
    ip: request.ip,
    details: { tid },
  });
  return answer(core, reply, 200, 'Signed out.');
}
