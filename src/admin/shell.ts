/** Sending an admin page for the signed-in admin (sidebar with the configured portal clients, credential-expiry banner). */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { formatTime, sendAdminPage, type AdminSection } from '../pages/admin.ts';
import { html } from '../pages/html.ts';
import { describeCredential, expiresInWords, expiringSoon } from '../auth/entra/expiry.ts';
import { expiryBanner } from './sso-credentials-view.ts';
import type { SafeHtml } from '../pages/html.ts';
import { actorOf } from './access.ts';

export interface AdminPage {
  readonly title: string;
  readonly crumbs: readonly string[];
  readonly section: AdminSection;
  readonly body: SafeHtml;
  readonly clientId?: string | null;
  readonly formTargets?: readonly string[];
}

export function portalClients(app: FastifyInstance): ReadonlyArray<{ readonly id: string; readonly name: string }> {
  return app.gateway.config.sites.portal?.clients ?? [];
}

/** Every settings page opens with the credential-expiry banner while a credential expires within 30 days. */
export async function sendAdmin(app: FastifyInstance, request: FastifyRequest, reply: FastifyReply, status: number, page: AdminPage): Promise<FastifyReply> {
  const soon = await expiringSoon(app).catch(() => []);
  const banner = expiryBanner(soon.map((e) => ({ text: `${describeCredential(e)} ${expiresInWords(e.daysLeft)} (${formatTime(e.expiresAt)}).`, expired: e.daysLeft <= 0 })));
  return sendAdminPage(reply, status, { ...page, body: html`${banner}${page.body}`, signedInAs: actorOf(request).user.email, clients: portalClients(app) });
}
