// Admin consent (`/${tid}/v2.0/adminconsent`) and sign-out (`/${tid}/oauth2/v2.0/logout`).
import type { IncomingMessage, ServerResponse } from 'node:http';
import { decodeJwt } from 'jose';
import { AAD, redirectDescription } from './errors.ts';
import { cookieValue, expireCookie, queryOf, readForm, redirect, sendHtml, withQuery } from './http.ts';
import { adminConsentPage, signedOutPage, signOutPickerPage } from './pages.ts';
import { GRAPH_RESOURCE } from './provider.ts';
import { BROWSER_SESSION_COOKIE, browserAccount, hintNames, sendErrorPage } from './authorize.ts';
import { appStatus, recordConsent, type Runtime, type TenantRuntime } from './types.ts';

/**
 * GET shows "Grant consent for <tenant>" (or accepts at once when an auto-login user is set
 * for the tenant); the page posts back here with decision=accept|cancel.
 */
export async function handleAdminConsent(rt: Runtime, tenant: TenantRuntime, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const params = req.method === 'POST' ? await readForm(req) : queryOf(req);
  const clientId = params.client_id;
  if (!clientId) return sendErrorPage(res, AAD.missingParameter('client_id'));
  const app = rt.apps.get(clientId.toLowerCase());
  if (!app) return sendErrorPage(res, AAD.appNotFound(clientId, tenant.name));
  const home = app.homeTenant.toLowerCase() === tenant.id.toLowerCase();
  if (!home && !app.multiTenant) return sendErrorPage(res, AAD.notMultiTenant(clientId));
  const redirectUri = params.redirect_uri;
  if (!redirectUri) return sendErrorPage(res, AAD.missingParameter('redirect_uri'));
  if (!app.redirectUris.includes(redirectUri)) return sendErrorPage(res, AAD.redirectMismatch(redirectUri, clientId));

  const scope = params.scope || `${GRAPH_RESOURCE}/.default`;
  const state = params.state;
  const record = (outcome: 'accepted' | 'declined') =>
    rt.consentCallbacks.push({ tenant: tenant.id, clientId: app.clientId, outcome, redirectUri, scope: params.scope, state });

  const decision = req.method === 'POST' ? params.decision : rt.autoLogin.has(tenant.id.toLowerCase()) ? 'accept' : undefined;
  if (decision === 'accept') {
    recordConsent(rt, tenant, app, 'admin');
    record('accepted');
    return redirect(res, withQuery(redirectUri, { admin_consent: 'True', tenant: tenant.id, scope, state }));
  }
  if (decision !== undefined) {
    record('declined');
    const e = AAD.userDeclined();
    return redirect(res, withQuery(redirectUri, { error: e.error, error_description: redirectDescription(e), state, tenant: tenant.id }));
  }

  sendHtml(
    res,
    200,
    adminConsentPage({
      tenantName: tenant.name,
      clientId: app.clientId,
      scopes: scope.split(' ').filter(Boolean),
      action: `/${tenant.id}/v2.0/adminconsent`,
      fields: { client_id: clientId, redirect_uri: redirectUri, scope: params.scope, state },
    }),
  );
}

function audienceOf(idTokenHint: string | undefined): string | undefined {
  if (!idTokenHint) return undefined;
  try {
    const { aud } = decodeJwt(idTokenHint);
    return Array.isArray(aud) ? aud[0] : aud;
  } catch {
    return undefined;
  }
}

/**
 * Ends the stand-in's SSO session and shows "You signed out of your account" — or, if
 * post_logout_redirect_uri is in the redirect-URI list of the app (named by client_id or
 * id_token_hint, else any app usable in the tenant), redirects there (with `state`).
 * Strict, as Entra: an unregistered post_logout_redirect_uri is AADSTS50011, and while the
 * browser is signed in, a sign-out without a `logout_hint` naming that account shows
 * "Pick an account" first (POST back with the account to go on).
 */
export async function handleLogout(rt: Runtime, tenant: TenantRuntime, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const params = { ...queryOf(req), ...(req.method === 'POST' ? await readForm(req) : {}) };
  const target = params.post_logout_redirect_uri;
  const clientId = params.client_id ?? audienceOf(params.id_token_hint);
  const candidates = clientId
    ? [rt.apps.get(clientId.toLowerCase())]
    : [...rt.apps.values()].filter((app) => appStatus(rt, tenant, app.clientId).kind === 'ok');
  const registered = target !== undefined && candidates.some((app) => app !== undefined && app.redirectUris.includes(target));
  if (rt.strict && target !== undefined && !registered) {
    return sendErrorPage(res, AAD.redirectMismatch(target, clientId ?? '(none)'));
  }

  const account = rt.strict ? browserAccount(rt, req) : undefined;
  if (account) {
    const hint = params.logout_hint;
    const named = (hint !== undefined && hintNames(rt, hint, account.tenant, account.oid)) || (req.method === 'POST' && params.account === account.oid);
    if (!named) {
      const user = rt.tenants.get(account.tenant)?.users.get(account.oid);
      const fields = Object.fromEntries(Object.entries(params).filter(([name]) => name !== 'account'));
      return sendHtml(
        res,
        200,
        signOutPickerPage({
          account: { oid: account.oid, name: user?.name ?? account.oid, username: user?.preferredUsername ?? '' },
          action: `/${tenant.id}/oauth2/v2.0/logout`,
          fields,
        }),
      );
    }
    rt.browserSessions.delete(account.id);
  }
  const cookieName = tenant.provider.cookieName('session');
  const sessionId = cookieValue(req, cookieName);
  if (sessionId) {
    const session = await tenant.provider.Session.find(sessionId);
    await session?.destroy();
  }
  expireCookie(res, cookieName);
  expireCookie(res, BROWSER_SESSION_COOKIE);

  if (target && registered) return redirect(res, withQuery(target, { state: params.state }));
  sendHtml(res, 200, signedOutPage());
}
