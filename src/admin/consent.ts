/**
 * GET /.auth/consent/callback (staff host; no session: the client's Azure admin is
 * not a Regentra user). Microsoft sends the admin here after the admin-consent page:
 * `admin_consent=True&tenant=…&state=…` or `error=…&error_description=…&state=…`.
 *
 * The state must verify (MAC, expiry) and name a configured client whose saved tenant
 * is the state's; it is then used up (consumeOnce in the store: once across replicas),
 * so a link's answer cannot be replayed. A grant must come from that tenant, and
 * Microsoft must confirm that Regentra's app is present there (an app-only token from
 * that tenant: ../auth/entra/consent-check.ts), since the answer itself travels through
 * the browser. Otherwise nothing is recorded as granted. What is recorded says what was
 * checked: the app's presence (confirmed) and that the callback reported an
 * administrator's consent. For the same reason an error answer never downgrades a
 * confirmed grant (declining the consent page does not remove a consent given before):
 * the grant stays, the declined attempt is audited.
 *
 * The person reading these pages is the CLIENT's Azure AD administrator, not a Regentra
 * admin: they know their Azure portal, not Regentra's settings. Every page says what
 * happened, and — since a link answers once — to ask the support team that sent the
 * link for a new one when they need to answer again.
 */
import { SETTINGS } from '../settings/store.ts';
import type { Core } from '../core.ts';
import { portalAppCredentials } from '../auth/entra/portal-credentials.ts';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { portalAuthKey, type ConsentStatus, type PortalAuthSettings } from '../auth/policy.ts';
import { PATHS } from '../routing/reserved.ts';
import { portalRealm } from '../routing/sites.ts';
import { replyError } from '../pages/errors.ts';
import { sendPage } from '../pages/layout.ts';
import { html, type SafeHtml } from '../pages/html.ts';
import type { PortalClientConfig } from '../config/schema.ts';
import { loadSetting, saveSetting } from './settings.ts';
import { verifyConsentState } from './consent-state.ts';
import { confirmAdminConsent, describeAadsts, entraIds, microsoftIdsHtml } from '../auth/entra/index.ts';
import { findClient } from './portal.ts';
import { GUID } from '../util/security.ts';

const OAUTH_ERROR = /^[a-z_]{1,64}$/;

type Query = Record<string, unknown>;

function str(q: Query, name: string, max = 2048): string | undefined {
  const v = q[name];
  return typeof v === 'string' && v.length <= max ? v : undefined;
}

const CONTACT = 'If you have questions, or this keeps happening, contact the support team that sent you the admin consent link.';

function page(reply: FastifyReply, status: number, title: string, body: SafeHtml, contact = true): FastifyReply {
  return sendPage(reply, status, {
    title,
    siteName: 'Admin consent',
    body: html`<h1>${title}</h1>${body}${contact ? html`<p class="hint">${CONTACT}</p>` : ''}`,
  });
}

/** Microsoft's refusal in words for the client's Azure AD administrator (nothing of Regentra's own settings). */
/** each link answers once (the state is used up): a second answer needs a new link */
const NEW_LINK = 'Ask the support team that sent you the admin consent link for a new one (each link can be used once), open it';

function forClientAdmin(aadsts: string | null, clientName: string): { what: string; retry: string } {
  const signInAsAdmin = `ask the support team that sent you the admin consent link for a new one (each link can be used once), open it and sign in with an account that may grant consent for ${clientName}’s directory (a Global Administrator, Privileged Role Administrator or Cloud Application Administrator).`;
  switch (aadsts) {
    case 'AADSTS65004':
      return {
        what: 'The permission request was declined, so no consent was given.',
        retry:
          'If that was a mistake, ask the support team that sent you the admin consent link for a new one (each link can be used once), open it and select Accept.',
      };
    case 'AADSTS90094':
    case 'AADSTS90008':
    case 'AADSTS65001':
      return { what: 'The account used cannot grant consent for the whole organisation.', retry: `To try again, ${signInAsAdmin}` };
    case 'AADSTS50020':
      return { what: `The account used belongs to another organisation’s directory, not ${clientName}’s.`, retry: `To try again, ${signInAsAdmin}` };
    default:
      return { what: 'Microsoft did not complete the consent.', retry: `To try again, ${signInAsAdmin}` };
  }
}

export function consentRoutes(app: FastifyInstance, core: Core): void {
  /**
   * Record the consent outcome at the version read (retried when another replica wrote in
   * between). With `keepGrant`, a grant confirmed for this tenant is left as it is: 'kept'.
   */
  async function record(client: PortalClientConfig, expectTenant: string, consent: ConsentStatus, keepGrant = false): Promise<boolean | 'kept'> {
    const key = portalAuthKey(client.id);
    for (let attempt = 0; attempt < 3; attempt++) {
      const current = await loadSetting(core, SETTINGS.portalAuth, key);
      if (current.value.tenantId !== expectTenant) return false;
      if (keepGrant && current.value.consent.status === 'granted' && current.value.consent.tenantId === expectTenant) return 'kept';
      const next: PortalAuthSettings = { ...current.value, consent };
      if (await saveSetting(core, key, next, current.version)) return true;
    }
    return false;
  }

  function audit(request: FastifyRequest, clientId: string | null, outcome: 'success' | 'failure', details: Record<string, unknown>): Promise<void> {
    return core.auditor.record({
      type: 'portal.consent',
      outcome,
      realm: clientId ? portalRealm(clientId) : null,
      userId: null,
      actor: null,
      ip: request.ip,
      details: { client: clientId, ...details },
    });
  }

  async function failed(request: FastifyRequest, reply: FastifyReply, client: PortalClientConfig, tenantId: string, q: Query): Promise<FastifyReply> {
    const oauthError = str(q, 'error', 64);
    const info = describeAadsts(str(q, 'error_description'));
    const error = info
      ? `${info.code}: ${info.message}`
      : OAUTH_ERROR.test(oauthError ?? '')
        ? `Microsoft answered “${oauthError}”.`
        : 'Microsoft reported an error.';
    const microsoft = info?.microsoft ?? entraIds(null, str(q, 'error_description'));
    // the answer came through the browser: it never takes back a grant Microsoft confirmed
    const saved = await record(client, tenantId, { status: 'failed', at: core.now(), tenantId, error, microsoft }, true);
    await audit(request, client.id, 'failure', {
      tenantId,
      error: info?.code ?? oauthError ?? null,
      recorded: saved === true,
      ...(saved === 'kept' ? { reason: 'declined after a confirmed grant: the grant stands' } : {}),
      ...(microsoft ? { microsoft } : {}),
    });
    const words = forClientAdmin(info?.code ?? null, client.name);
    return page(
      reply,
      200,
      'Consent was not granted',
      html`<p class="lead">${client.name}’s users cannot sign in to their support portal with their Microsoft accounts yet: consent for the Regentra portal app was not granted in your directory.</p>
<div class="alert error" role="alert">${words.what}${info ? html` <span class="hint">(Microsoft error ${info.code})</span>` : ''}</div>
${saved === 'kept' ? html`<p>A consent given before stays in place: declining this page does not remove it.</p>` : ''}
<p>${words.retry} Nothing else needs to change on your side.</p>
${microsoftIdsHtml(microsoft)}`,
    );
  }

  async function granted(request: FastifyRequest, reply: FastifyReply, client: PortalClientConfig, tenantId: string, q: Query): Promise<FastifyReply> {
    const from = str(q, 'tenant', 64)?.toLowerCase();
    if (!from || !GUID.test(from) || from !== tenantId) {
      await audit(request, client.id, 'failure', { tenantId, reason: 'wrong tenant', from: from && GUID.test(from) ? from : null });
      return page(
        reply,
        400,
        'Consent was granted in another directory',
        html`<p class="lead">You approved the Regentra portal app in a directory (tenant) other than the one set up for ${client.name}, so it was not recorded for ${client.name}.</p>
<p>${NEW_LINK} and sign in with an administrator account of ${client.name}’s own Azure AD directory.</p>`,
      );
    }
    const portalApp = portalAppCredentials(core.config, core.now());
    if (!portalApp) return replyError(request, reply, 'NOT_FOUND');
    const confirmation = await confirmAdminConsent(core.entra, tenantId, portalApp);
    if (!confirmation.confirmed) {
      const { info } = confirmation;
      if (confirmation.unavailable) {
        await audit(request, client.id, 'failure', { tenantId, reason: 'not confirmed: Microsoft unavailable' });
        return page(
          reply,
          503,
          'Consent could not be confirmed yet',
          html`<p class="lead">Microsoft could not be reached to confirm your consent for ${client.name}, so it was not recorded yet.</p>
<p>In a few minutes, ${NEW_LINK.charAt(0).toLowerCase()}${NEW_LINK.slice(1)} and approve again (approving again is harmless).</p>`,
        );
      }
      const error = `${info.code}: ${info.message}`;
      const microsoft = info.microsoft ?? null;
      const saved = await record(client, tenantId, {
        status: 'failed',
        at: core.now(),
        tenantId,
        error,
        adminConsent: true,
        appPresent: false,
        microsoft,
      });
      await audit(request, client.id, 'failure', {
        tenantId,
        reason: 'not confirmed by Microsoft',
        error: info.code,
        recorded: saved,
        ...(microsoft ? { microsoft } : {}),
      });
      return page(
        reply,
        200,
        'Consent was not confirmed',
        html`<p class="lead">Microsoft’s answer said an administrator consented, but Microsoft did not confirm that the Regentra portal app is present in ${client.name}’s directory, so nothing was recorded as granted.</p>
<div class="alert error" role="alert">${forClientAdmin(info.code, client.name).what} <span class="hint">(Microsoft error ${info.code})</span></div>
<p>${NEW_LINK} and approve it with an administrator account of ${client.name}’s own Azure AD directory.</p>
${microsoftIdsHtml(microsoft)}`,
      );
    }
    // admin_consent=True (the route's condition) and the app-only token succeeded: both facts are kept
    const saved = await record(client, tenantId, {
      status: 'granted',
      at: core.now(),
      tenantId,
      error: null,
      adminConsent: true,
      appPresent: true,
      microsoft: null,
    });
    await audit(request, client.id, saved ? 'success' : 'failure', { tenantId, recorded: saved, adminConsent: true, appPresent: true });
    if (!saved) return replyError(request, reply, 'INTERNAL', { html: true });
    return page(
      reply,
      200,
      'Consent granted',
      html`<p class="lead">Thank you — consent granted for ${client.name}.</p>
<div class="alert ok" role="status">Microsoft confirmed that the Regentra portal app is present in ${client.name}’s directory, and its answer says an administrator consented. ${client.name}’s users can sign in to the support portal with their Microsoft accounts once single sign-on is turned on.</div>
<p>You can close this window.</p>`,
      false,
    );
  }

  app.get(PATHS.consentCallback, async (request, reply) => {
    if (request.site.kind !== 'staff') return replyError(request, reply, 'NOT_FOUND');
    reply.header('cache-control', 'no-store');
    const q = (request.query ?? {}) as Query;
    const check = verifyConsentState(core, q.state);
    if (!check.ok) {
      await audit(request, null, 'failure', { reason: check.reason === 'expired' ? 'expired link' : 'invalid state' });
      return check.reason === 'expired'
        ? page(
            reply,
            400,
            'This consent link has expired',
            html`<p class="lead">Admin consent links are valid for a few days, and this one has expired, so nothing was recorded.</p><p>Ask the support team that sent you the link for a new one, then open it and approve again.</p>`,
            false,
          )
        : page(
            reply,
            400,
            'This consent link is not valid',
            html`<p class="lead">The link was changed or is not from Regentra, so nothing was recorded.</p><p>Open the exact link you were given (copy all of it), or ask the support team that sent it for a new one.</p>`,
            false,
          );
    }
    const client = findClient(core, check.state.clientId);
    const settings = client ? (await loadSetting(core, SETTINGS.portalAuth, portalAuthKey(client.id))).value : null;
    if (!client || !settings || settings.tenantId !== check.state.tenantId) {
      await audit(request, client?.id ?? null, 'failure', { reason: 'link no longer matches the configured tenant' });
      return page(
        reply,
        400,
        'This consent link is out of date',
        html`<p class="lead">${client ? `${client.name}’s` : 'The'} support portal settings changed after this link was created, so nothing was recorded.</p><p>Ask the support team that sent you the link for a new one.</p>`,
        false,
      );
    }
    // each link answers once, on any replica: a replayed answer (the link's state is shared and lasts days) records nothing
    if (!(await core.store.consumeOnce(`consent-state:${check.state.id}`, check.state.expiresAt))) {
      await audit(request, client.id, 'failure', { reason: 'link already used' });
      return page(
        reply,
        400,
        'This consent link was already used',
        html`<p class="lead">Each admin consent link can be used once, so nothing was recorded. If you need to answer again, ask the support team that sent you the link for a new one.</p>`,
        false,
      );
    }
    if (str(q, 'error') !== undefined) return failed(request, reply, client, settings.tenantId, q);
    if (str(q, 'admin_consent', 8)?.toLowerCase() === 'true') return granted(request, reply, client, settings.tenantId, q);
    await audit(request, client.id, 'failure', { reason: 'incomplete answer' });
    return page(
      reply,
      400,
      'Consent could not be recorded',
      html`<p class="lead">The answer from Microsoft was incomplete, so nothing was recorded.</p><p>${NEW_LINK}.</p>`,
    );
  });
}
