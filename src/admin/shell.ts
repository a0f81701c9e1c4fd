/**
 * Sending an admin page for the signed-in admin (sidebar with the configured portal
 * clients, credential-expiry banner), and the client chosen in the sidebar switcher:
 * remembered in the admin's session cookie (bound to the session id; a new sign-in
 * forgets it), so that every settings page — staff SSO and the audit log too — shows
 * the same client selected.
 */
import type { Core } from '../core.ts';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { formatTime, sendAdminPage, type AdminSection } from '../pages/admin.ts';
import { html } from '../pages/html.ts';
import { describeCredential, expiresInWords, expiringSoon } from '../auth/entra/expiry.ts';
import { expiryBanner } from './sso-credentials-view.ts';
import type { SafeHtml } from '../pages/html.ts';
import { actorOf } from './access.ts';

declare module '@fastify/secure-session' {
  interface SessionData {
    /** the portal client chosen in the settings' switcher, for session `sid` */
    ac: { readonly sid: string; readonly client: string };
  }
}

export interface AdminPage {
  readonly title: string;
  readonly crumbs: readonly string[];
  readonly section: AdminSection;
  readonly body: SafeHtml;
  /** the client this page is about (remembered as the switcher's choice) */
  readonly clientId?: string | null;
  readonly formTargets?: readonly string[];
}

export function portalClients(core: Core): ReadonlyArray<{ readonly id: string; readonly name: string }> {
  return core.config.sites.portal?.clients ?? [];
}

/** Remember `clientId` as this admin session's chosen client. */
export function rememberClient(request: FastifyRequest, clientId: string): void {
  const sid = actorOf(request).session.sid;
  const kept = request.session.get('ac');
  if (kept?.sid !== sid || kept.client !== clientId) request.session.set('ac', { sid, client: clientId });
}

/** The client chosen in this admin session, if it is still configured. */
export function rememberedClient(core: Core, request: FastifyRequest): string | null {
  const kept = request.session.get('ac');
  if (!kept || typeof kept.client !== 'string' || kept.sid !== actorOf(request).session.sid) return null;
  return portalClients(core).some((c) => c.id === kept.client) ? kept.client : null;
}

/** Every settings page opens with the credential-expiry banner while a credential expires within 30 days. */
export async function sendAdmin(core: Core, request: FastifyRequest, reply: FastifyReply, status: number, page: AdminPage): Promise<FastifyReply> {
  if (page.clientId) rememberClient(request, page.clientId);
  const clientId = page.clientId ?? rememberedClient(core, request);
  const soon = await expiringSoon(core).catch(() => []);
  const banner = expiryBanner(
    soon.map((e) => ({ text: `${describeCredential(e)} ${expiresInWords(e.daysLeft)} (${formatTime(e.expiresAt)}).`, expired: e.daysLeft <= 0 })),
  );
  return sendAdminPage(reply, status, {
    ...page,
    clientId,
    body: html`${banner}${page.body}`,
    signedInAs: actorOf(request).user.email,
    clients: portalClients(core),
  });
}
