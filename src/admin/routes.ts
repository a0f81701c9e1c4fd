/**
 * The staff admin's settings pages under /.auth/admin/ (issue: Entra ID, admin part),
 * and the admin-consent callback that Microsoft sends a client's Azure admin to.
 *
 * Every route under /.auth/admin/ — including unknown ones — first passes the admin
 * guard (staff host, active admin); forms are parsed by the parent context (formbody).
 */
import type { Core } from '../core.ts';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { replyError } from '../pages/errors.ts';
import { ADMIN_PATHS } from '../pages/admin.ts';
import { adminGuard } from './access.ts';
import { ssoRoutes } from './sso.ts';
import { portalRoutes } from './portal.ts';
import { auditRoutes } from './audit-log.ts';
import { peopleRoutes } from './people.ts';
import { consentRoutes } from './consent.ts';

export async function adminRoutes(app: FastifyInstance, { core }: { readonly core: Core }): Promise<void> {
  // eslint-disable-next-line @typescript-eslint/require-await -- a Fastify plugin: async so avvio awaits it without a done callback
  await app.register(async (admin) => {
    admin.addHook('onRequest', adminGuard(core));
    const home = (_request: unknown, reply: FastifyReply) => reply.code(303).redirect(ADMIN_PATHS.sso);
    admin.get(ADMIN_PATHS.home, home);
    admin.get(ADMIN_PATHS.home.slice(0, -1), home);
    ssoRoutes(admin, core);
    portalRoutes(admin, core);
    auditRoutes(admin, core);
    peopleRoutes(admin, core);
    // anything else under /.auth/admin/: the guard has run, then 404
    admin.all(`${ADMIN_PATHS.home}*`, (request, reply) => replyError(request, reply, 'NOT_FOUND'));
  });
  consentRoutes(app, core);
}
