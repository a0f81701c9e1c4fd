/**
 * Microsoft Entra ID sign-in routes (registered by app.ts inside the /.auth context):
 *
 *   GET /.auth/sso?rd=       start (staff host, portal hosts)
 *   GET /.auth/callback      Entra's redirect URI (staff, portal and central hosts)
 *   GET /.auth/handoff       a portal host redeems a central-callback ticket
 *   GET /.auth/error         why the last sign-in in this browser was refused (after a 303)
 *   GET /.auth/frontchannel-logout   Microsoft's front-channel sign-out (frontchannel.ts)
 *
 * and the end-session hook: signing out of an SSO session also signs out of Entra (with
 * `logout_hint` = the ID token's login_hint claim, so Microsoft does not ask which account).
 */
import type { Core } from '../../core.ts';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { PATHS } from '../../routing/reserved.ts';
import type { SessionData } from '../../session/types.ts';

import { directCallback, refuseSignIn, startSignIn } from './signin.ts';
import { centralCallback, redeemHandoff } from './central.ts';
import { postLogoutRedirectUri } from './urls.ts';
import { showRefusal } from './refusal.ts';
import { frontChannelLogout } from './frontchannel.ts';

type Handler = (core: Core, request: FastifyRequest, reply: FastifyReply) => Promise<FastifyReply>;

/**
 * Run a sign-in step; any failure is refused with a page (fail closed). `oneTimeUrl`: the
 * URL carries a code or ticket, so the page is shown after a redirect to /.auth/error.
 */
function guarded(core: Core, handler: Handler, oneTimeUrl = false) {
  return async (request: FastifyRequest, reply: FastifyReply) => {
    try {
      return await handler(core, request, reply);
    } catch (err) {
      const realm = request.site.kind === 'central' ? null : request.site.realm;
      return refuseSignIn(core, request, reply, err, realm, oneTimeUrl);
    }
  };
}

/** Entra's end-session URL for an SSO session (null: no Entra sign-out). */
export async function entraEndSessionUrl(core: Core, request: FastifyRequest, session: SessionData): Promise<string | null> {
  if (!session.idp) return null;
  const { config, policy } = core;
  const clientId = session.client === null ? (await policy.staffSso()).clientId : (config.sites.portal?.entra?.clientId ?? null);
  if (!clientId) return null;
  return core.entra.endSessionUrl(session.idp.tid, clientId, postLogoutRedirectUri(config, request.siteHost), session.idp.loginHint);
}

// eslint-disable-next-line @typescript-eslint/require-await -- a Fastify plugin: async so avvio awaits it without a done callback
export async function entraRoutes(app: FastifyInstance, { core }: { readonly core: Core }): Promise<void> {
  // GET only: a HEAD (link preview, scanner) must not consume an attempt or a ticket
  const only = { exposeHeadRoute: false };
  app.get(PATHS.sso, only, guarded(core, startSignIn));
  app.get(
    PATHS.callback,
    only,
    guarded(core, (a, request, reply) => (request.site.kind === 'central' ? centralCallback(a, request, reply) : directCallback(a, request, reply)), true),
  );
  app.get(PATHS.handoff, only, guarded(core, redeemHandoff, true));
  app.get(PATHS.error, (request, reply) => showRefusal(core, request, reply));
  app.get(PATHS.frontchannelLogout, only, (request, reply) => frontChannelLogout(core, request, reply));
}
