/**
 * Settings → Portal → Authentication, per client (selected in the sidebar switcher):
 * the client's tenant, Entra SSO on/off, password sign-in while SSO is on, the TOTP
 * policy, and the admin consent link with its status.
 *
 * Refused: an invalid tenant ID; enabling SSO without a tenant or without Regentra's
 * multi-tenant app (sites.portal.entra). A new tenant resets the consent status.
 */
import { GatewayError } from '../errors.ts';
import { SETTINGS } from '../settings/store.ts';
import type { Core } from '../core.ts';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { DEFAULT_PORTAL_AUTH, portalAuthKey, type PortalAuthSettings, type PortalProvisioning } from '../auth/policy.ts';
import { portalRealm } from '../routing/sites.ts';
import { replyError } from '../pages/errors.ts';
import { ADMIN_PATHS, type Notice } from '../pages/admin.ts';
import type { PortalClientConfig } from '../config/schema.ts';
import { actorOf, csrfToken, csrfValid, csrfError } from './access.ts';
import { auditSettingsChange, changes, CONFLICT_TEXT, formVersion, loadSetting, saveSetting } from './settings.ts';
import { checkbox, formBody, parseTenantId, textField } from './forms.ts';
import { adminConsentUrl, registeredRedirectUris } from '../auth/entra/index.ts';
import { signConsentState } from './consent-state.ts';
import { portalBody, type PortalView } from './portal-view.ts';
import { rememberClient, rememberedClient, sendAdmin } from './shell.ts';

type PortalForm = PortalView['form'];

const DONE: Readonly<Record<string, Notice>> = Object.freeze({
  saved: { kind: 'ok', text: 'Saved. Every server picks the change up within a few seconds.' },
  unchanged: { kind: 'ok', text: 'Nothing changed.' },
});

export function findClient(core: Core, id: unknown): PortalClientConfig | undefined {
  return typeof id === 'string' ? core.config.sites.portal?.clients.find((c) => c.id === id) : undefined;
}

export function portalRoutes(app: FastifyInstance, core: Core): void {
  const { config } = core;
  const portalApp = config.sites.portal?.entra;

  function consentLink(client: PortalClientConfig, s: PortalAuthSettings): PortalView['consent'] {
    if (!portalApp || !s.tenantId) return null;
    const { state, expiresAt } = signConsentState(core, client.id, s.tenantId);
    return { url: adminConsentUrl(config, portalApp.clientId, s.tenantId, state), expiresAt };
  }

  async function render(
    request: FastifyRequest,
    reply: FastifyReply,
    client: PortalClientConfig,
    status: number,
    x: { notice?: Notice | null; form?: PortalForm; tenantError?: string | null } = {},
  ): Promise<FastifyReply> {
    const { value: settings, version } = await loadSetting(core, SETTINGS.portalAuth, portalAuthKey(client.id));
    const view: PortalView = {
      csrf: csrfToken(core, request),
      version,
      client: { id: client.id, name: client.name, hosts: client.hosts },
      settings,
      portalApp: portalApp !== undefined,
      form: x.form ?? {
        tenantId: settings.tenantId ?? '',
        ssoEnabled: settings.ssoEnabled,
        passwordAllowed: settings.passwordAllowed,
        provisioning: settings.provisioning,
        autoLink: settings.autoLink,
      },
      tenantError: x.tenantError ?? null,
      notice: x.notice ?? null,
      consent: consentLink(client, settings),
      redirectUris: registeredRedirectUris(config).portal,
    };
    return sendAdmin(core, request, reply, status, {
      title: `Authentication — ${client.name}`,
      crumbs: ['Portal', client.name, 'Authentication'],
      section: 'portal',
      clientId: client.id,
      body: portalBody(view),
    });
  }

  function parseForm(body: Record<string, unknown>, current: PortalProvisioning): { form: PortalForm; provisioning: PortalProvisioning | null } {
    const provRaw = textField(body, 'provisioning', 20);
    // absent (a form from before the choice existed): unchanged; anything else but the two: refused
    const provisioning = provRaw === '' ? current : provRaw === 'tenant' || provRaw === 'invited' ? provRaw : null;
    return {
      form: {
        tenantId: textField(body, 'tenantId') ?? '',
        ssoEnabled: checkbox(body, 'ssoEnabled'),
        passwordAllowed: checkbox(body, 'passwordAllowed'),
        provisioning: provisioning ?? 'tenant',
        autoLink: checkbox(body, 'autoLink'),
      },
      provisioning,
    };
  }

  /** Why these values cannot be saved, or null. */
  function refusal(form: PortalForm): string | null {
    if (form.ssoEnabled && !portalApp)
      return 'Entra SSO cannot be enabled: Regentra’s multi-tenant app registration (sites.portal.entra) is not configured on this gateway. Ask your operator to configure it.';
    if (form.ssoEnabled && !form.tenantId) return 'Enter the client’s Azure AD tenant ID to enable Entra SSO.';
    return null;
  }

  async function save(request: FastifyRequest, reply: FastifyReply, client: PortalClientConfig): Promise<FastifyReply> {
    const body = formBody(request);
    if (!csrfValid(core, request, body.csrf)) throw csrfError(request);
    const actor = actorOf(request);
    const key = portalAuthKey(client.id);
    const current = await loadSetting(core, SETTINGS.portalAuth, key);
    const version = formVersion(body);
    const { form, provisioning } = parseForm(body, current.value.provisioning);
    if (version === null || provisioning === null || body.action !== 'save')
      return replyError(request, reply, 'BAD_REQUEST', { html: true, detail: 'The form is incomplete. Reload the page and try again.' });
    if (version !== current.version) return render(request, reply, client, 409, { notice: { kind: 'error', text: CONFLICT_TEXT } });
    const tenant = parseTenantId(textField(body, 'tenantId'), 'tenant ID', true);
    if (!tenant.ok) return render(request, reply, client, 400, { form, tenantError: tenant.error, notice: { kind: 'error', text: 'Check the tenant ID.' } });
    const normalised: PortalForm = { ...form, tenantId: tenant.value };
    const why = refusal(normalised);
    if (why) {
      await auditSettingsChange(core, request, actor, { setting: key, outcome: 'failure', realm: portalRealm(client.id), client: client.id, reason: why });
      return render(request, reply, client, 409, { form, notice: { kind: 'error', text: why } });
    }
    const s = current.value;
    const tenantId = tenant.value || null;
    // consent was given in the old tenant: a new tenant starts again
    const newTenant = tenantId !== s.tenantId;
    const next: PortalAuthSettings = {
      ...s,
      tenantId,
      ssoEnabled: normalised.ssoEnabled,
      passwordAllowed: normalised.passwordAllowed,
      provisioning,
      autoLink: normalised.autoLink,
      consent: newTenant ? DEFAULT_PORTAL_AUTH.consent : s.consent,
    };
    const diff: Record<string, unknown> = changes(s, next, ['tenantId', 'ssoEnabled', 'passwordAllowed', 'provisioning', 'autoLink']);
    if (Object.keys(diff).length === 0) return reply.code(303).redirect(`${ADMIN_PATHS.portal(client.id)}?done=unchanged`);
    if (newTenant && s.consent.status !== 'none') diff.consent = 'reset (new tenant)';
    const stamped: PortalAuthSettings = { ...next, updatedBy: actor.user.email, updatedAt: core.now() };
    if (!(await saveSetting(core, key, stamped, current.version)))
      return render(request, reply, client, 409, { notice: { kind: 'error', text: CONFLICT_TEXT } });
    await auditSettingsChange(core, request, actor, { setting: key, outcome: 'success', realm: portalRealm(client.id), client: client.id, changes: diff });
    return reply
      .code(303)
      .header('cache-control', 'no-store')
      .redirect(`${ADMIN_PATHS.portal(client.id)}?done=saved`);
  }

  /** The client the URL names; an unknown one is a 404. */
  const clientOf = (request: FastifyRequest): PortalClientConfig => {
    const client = findClient(core, (request.params as { clientId?: unknown }).clientId);
    if (!client) throw new GatewayError('NOT_FOUND', 'There is no portal client with this id.');
    return client;
  };

  const first = () => config.sites.portal?.clients[0];

  // Portal: the client chosen before in this session, else the first
  app.get(ADMIN_PATHS.portalHome, (request, reply) => {
    const client = findClient(core, rememberedClient(core, request)) ?? first();
    if (!client) return replyError(request, reply, 'NOT_FOUND', { detail: 'No portal clients are configured.' });
    return reply.code(303).redirect(ADMIN_PATHS.portal(client.id));
  });

  // the sidebar switcher (a GET form: works without script; the page script submits it on change)
  app.get(ADMIN_PATHS.portalSwitch, (request, reply) => {
    const client = findClient(core, (request.query as { client?: unknown }).client);
    if (!client) return replyError(request, reply, 'NOT_FOUND', { detail: 'There is no portal client with this id.' });
    rememberClient(request, client.id);
    // switching while on a client's People page stays on People
    const to = (request.query as { to?: unknown }).to;
    return reply
      .code(303)
      .header('cache-control', 'no-store')
      .redirect(to === 'people' ? ADMIN_PATHS.people(portalRealm(client.id)) : ADMIN_PATHS.portal(client.id));
  });

  const route = `${ADMIN_PATHS.portalHome}:clientId/authentication`;
  app.get(route, async (request, reply) => {
    const client = clientOf(request);
    const done = (request.query as { done?: unknown }).done;
    return render(request, reply, client, 200, { notice: typeof done === 'string' && Object.hasOwn(DONE, done) ? DONE[done] : null });
  });

  app.post(route, async (request, reply) => {
    const client = clientOf(request);
    return save(request, reply, client);
  });
}
