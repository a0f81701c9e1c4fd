/** Sending an admin page for the signed-in admin (sidebar with the configured portal clients). */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { sendAdminPage, type AdminSection } from '../pages/admin.ts';
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

export function sendAdmin(app: FastifyInstance, request: FastifyRequest, reply: FastifyReply, status: number, page: AdminPage): FastifyReply {
  return sendAdminPage(reply, status, { ...page, signedInAs: actorOf(request).user.email, clients: portalClients(app) });
}
