// The authorization endpoint's Entra-specific checks (tenant, app registration, redirect
// URI, cross-tenant consent) in front of oidc-provider, and the sign-in pages that
// oidc-provider's login interaction sends the browser to.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { randomUUID } from 'node:crypto';
import { AAD, redirectDescription, tokenErrorBody, type AadError } from './errors.ts';
import { dropCookie, expireCookie, queryOf, readForm, redirect, sendHtml, sendJson, withQuery } from './http.ts';
import { errorPage, loginPage } from './pages.ts';
import { GRAPH_RESOURCE, OIDC_SCOPES } from './provider.ts';
import { appStatus, findTenant, type Runtime, type TenantRuntime } from './types.ts';

/** Entra shows these as a page ("Sorry, but we're having trouble signing you in") — no redirect. */
export function sendErrorPage(res: ServerResponse, e: AadError, correlationId = randomUUID()): void {
  sendHtml(res, e.status, errorPage({ code: e.code, message: e.message, correlationId }));
}

export function sendInvalidTenant(res: ServerResponse, segment: string): void {
  sendJson(res, 400, tokenErrorBody(AAD.invalidTenant(segment)));
}

/** Hand a request to the tenant's oidc-provider, mounted at `/${segment}`. */
export async function forwardToProvider(tenant: TenantRuntime, segment: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const original = req.url ?? '/';
  (req as IncomingMessage & { originalUrl?: string }).originalUrl = original;
  req.url = original.slice(segment.length + 1) || '/';
  await tenant.handle(req, res);
}

// Entra prompt values oidc-provider does not know; the account picker is always shown anyway.
const ENTRA_ONLY_PROMPTS = new Set(['select_account', 'create']);

export async function handleAuthorize(rt: Runtime, segment: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const params = queryOf(req);
  rt.authorizeRequests.push({ tenant: segment, params: { ...params } });

  const tenant = findTenant(rt, segment);
  if (!tenant) return sendInvalidTenant(res, segment);
  const clientId = params.client_id;
  if (!clientId) return sendErrorPage(res, AAD.missingParameter('client_id'));
  const status = appStatus(rt, tenant, clientId);
  if (status.kind === 'unknown') return sendErrorPage(res, AAD.appNotFound(clientId, tenant.name));
  const redirectUri = params.redirect_uri;
  if (redirectUri !== undefined && !status.app.redirectUris.includes(redirectUri)) {
    return sendErrorPage(res, AAD.redirectMismatch(redirectUri, clientId));
  }
  if (status.kind === 'no-consent') {
    const target = redirectUri ?? (status.app.redirectUris.length === 1 ? status.app.redirectUris[0] : undefined);
    if (!target) return sendErrorPage(res, AAD.missingParameter('redirect_uri'));
    const e = AAD.notConsented(clientId);
    return redirect(res, withQuery(target, { error: 'invalid_client', error_description: redirectDescription(e), state: params.state }));
  }

  // What oidc-provider gets differs from what was sent (recorded above) in two ways:
  const forwarded = new URLSearchParams(params);
  const prompts = (params.prompt ?? '').split(' ').filter((p) => p && !ENTRA_ONLY_PROMPTS.has(p));
  if (prompts.length) forwarded.set('prompt', prompts.join(' '));
  else forwarded.delete('prompt');
  req.url = `/${segment}/oauth2/v2.0/authorize?${forwarded}`;
  // 1. offline_access needs no prompt=consent at Entra: remember the request for issueRefreshToken.
  if ((params.scope ?? '').split(' ').includes('offline_access') && params.code_challenge) {
    if (rt.offlineChallenges.size > 10_000) rt.offlineChallenges.clear();
    rt.offlineChallenges.add(params.code_challenge);
  }
  // 2. Every interactive request starts from a fresh session, so the account picker is shown
  //    (or the auto-login user is used) each time; prompt=none keeps the SSO session. The browser
  //    forgets the old session too (a new one is set when the sign-in completes).
  if (!prompts.includes('none')) {
    const cookie = tenant.provider.cookieName('session');
    dropCookie(req, cookie);
    expireCookie(res, cookie);
  }

  await forwardToProvider(tenant, segment, req, res);
}

/** GET/POST `/${tid}/login/${uid}[/cancel]` — the login interaction. */
export async function handleLogin(
  rt: Runtime,
  tenant: TenantRuntime,
  uid: string,
  cancel: boolean,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const { provider } = tenant;
  const form = req.method === 'POST' ? await readForm(req) : {};
  let details;
  try {
    details = await provider.interactionDetails(req, res);
  } catch {
    return sendErrorPage(res, AAD.sessionExpired());
  }
  if (details.uid !== uid) return sendErrorPage(res, AAD.sessionExpired());
  const clientId = String(details.params.client_id ?? '');

  try {
    if (cancel) {
      if (req.method !== 'POST') return sendErrorPage(res, AAD.invalidRequest('cancel must be posted'));
      const e = AAD.userDeclined();
      await provider.interactionFinished(req, res, { error: e.error, error_description: redirectDescription(e) }, { mergeWithLastSubmission: false });
      return;
    }

    if (details.prompt.name === 'consent') {
      // Only reached with prompt=consent: consent is implied for the home tenant / given by an admin.
      const accountId = details.session?.accountId;
      if (!accountId) return sendErrorPage(res, AAD.sessionExpired());
      const scopes = String(details.params.scope ?? '').split(' ').filter(Boolean);
      const grant = new provider.Grant({ accountId, clientId });
      grant.addOIDCScope(scopes.filter((s) => OIDC_SCOPES.has(s)).join(' '));
      grant.addResourceScope(GRAPH_RESOURCE, scopes.join(' '));
      const grantId = await grant.save();
      await provider.interactionFinished(req, res, { consent: { grantId } }, { mergeWithLastSubmission: true });
      return;
    }

    const chosen = req.method === 'POST' ? form.oid : rt.autoLogin.get(tenant.id.toLowerCase());
    if (chosen) {
      const user = tenant.users.get(chosen.toLowerCase());
      if (!user) return sendErrorPage(res, AAD.unknownUser(chosen));
      await provider.interactionFinished(req, res, { login: { accountId: user.oid, remember: false } }, { mergeWithLastSubmission: false });
      return;
    }
  } catch {
    return sendErrorPage(res, AAD.sessionExpired());
  }

  const redirectUri = typeof details.params.redirect_uri === 'string' ? details.params.redirect_uri : undefined;
  const path = `/${tenant.id}/login/${encodeURIComponent(uid)}`;
  sendHtml(
    res,
    200,
    loginPage({
      tenantName: tenant.name,
      clientId,
      redirectHost: redirectUri ? new URL(redirectUri).host : undefined,
      users: [...tenant.users.values()],
      loginHint: typeof details.params.login_hint === 'string' ? details.params.login_hint : undefined,
      action: path,
      cancelAction: `${path}/cancel`,
    }),
  );
}
