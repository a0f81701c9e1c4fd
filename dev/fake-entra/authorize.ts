// The authorization endpoint's Entra-specific checks (tenant, app registration, redirect
// URI, cross-tenant consent) in front of oidc-provider, and the sign-in pages that
// oidc-provider's login interaction sends the browser to.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { randomUUID } from 'node:crypto';
import { AAD, redirectDescription, tokenErrorBody, type AadError } from './errors.ts';
import { cookieValue, dropCookie, expireCookie, queryOf, readForm, redirect, sendHtml, sendJson, withQuery } from './http.ts';
import { errorPage, loginPage, permissionsPage } from './pages.ts';
import { parseLoginHintClaim } from './keys.ts';
import { GRAPH_RESOURCE, OIDC_SCOPES } from './provider.ts';
import { appStatus, findTenant, recordConsent, userConsented, type Runtime, type TenantRuntime } from './types.ts';

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

// Entra prompt values oidc-provider does not know (select_account: handled here).
const ENTRA_ONLY_PROMPTS = new Set(['select_account', 'create']);

/** The stand-in-wide cookie of the browser's Microsoft session (like login.microsoftonline.com's ESTSAUTH). */
export const BROWSER_SESSION_COOKIE = 'ESTSAUTH';

/** The account the browser is signed in to at "Microsoft", any tenant (strict mode). */
export function browserAccount(rt: Runtime, req: IncomingMessage): { id: string; tenant: string; oid: string } | undefined {
  const id = cookieValue(req, BROWSER_SESSION_COOKIE);
  const account = id === undefined ? undefined : rt.browserSessions.get(id);
  return id !== undefined && account ? { id, ...account } : undefined;
}

/** Remember that this browser is signed in as `oid` of `tenant` (queued Set-Cookie). */
export function startBrowserSession(rt: Runtime, res: ServerResponse, tenant: string, oid: string): void {
  if (rt.browserSessions.size > 10_000) rt.browserSessions.clear();
  const id = randomUUID();
  rt.browserSessions.set(id, { tenant: tenant.toLowerCase(), oid: oid.toLowerCase() });
  const previous = res.getHeader('set-cookie');
  const queued = Array.isArray(previous) ? previous : typeof previous === 'string' ? [previous] : [];
  res.setHeader('set-cookie', [...queued, `${BROWSER_SESSION_COOKIE}=${id}; Path=/; HttpOnly; SameSite=Lax`]);
}

/** Does a login_hint name this account (the login_hint claim, UPN, email or oid)? */
export function hintNames(rt: Runtime, hint: string, tenant: string, oid: string): boolean {
  const claim = parseLoginHintClaim(hint);
  if (claim) return claim.tenant === tenant.toLowerCase() && claim.oid === oid.toLowerCase();
  const user = rt.tenants.get(tenant.toLowerCase())?.users.get(oid.toLowerCase());
  const h = hint.toLowerCase();
  return user !== undefined && [user.preferredUsername, user.email, user.userPrincipalName, user.oid].some((v) => v?.toLowerCase() === h);
}

/** AADSTS50020: the browser's account is not a user of the tenant the app asked for. */
function foreignAccount(rt: Runtime, account: { tenant: string; oid: string }, tenant: TenantRuntime): AadError {
  const user = rt.tenants.get(account.tenant)?.users.get(account.oid);
  return {
    status: 400,
    error: 'invalid_request',
    code: 50020,
    message: `User account '${user?.preferredUsername ?? account.oid}' from identity provider '${rt.url}/${account.tenant}/v2.0' does not exist in tenant '${tenant.name}' and cannot access the application in that tenant. The account needs to be added as an external user in the tenant first. Sign out and sign in again with a different Azure Active Directory user account.`,
  };
}

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
  // users who may consent for themselves are asked after signing in (handleLogin); else only an admin can
  if (status.kind === 'no-consent' && !(rt.strict && tenant.allowUserConsent)) {
    const target = redirectUri ?? (status.app.redirectUris.length === 1 ? status.app.redirectUris[0] : undefined);
    if (!target) return sendErrorPage(res, AAD.missingParameter('redirect_uri'));
    const e = AAD.notConsented(clientId);
    return redirect(res, withQuery(target, { error: 'invalid_client', error_description: redirectDescription(e), state: params.state }));
  }

  // What oidc-provider gets differs from what was sent (recorded above) in two ways:
  const forwarded = new URLSearchParams(params);
  const asked = (params.prompt ?? '').split(' ').filter(Boolean);
  const prompts = asked.filter((p) => !ENTRA_ONLY_PROMPTS.has(p));
  if (prompts.length) forwarded.set('prompt', prompts.join(' '));
  else forwarded.delete('prompt');
  req.url = `/${segment}/oauth2/v2.0/authorize?${forwarded}`;
  // 1. offline_access needs no prompt=consent at Entra: remember the request for issueRefreshToken.
  if ((params.scope ?? '').split(' ').includes('offline_access') && params.code_challenge) {
    if (rt.offlineChallenges.size > 10_000) rt.offlineChallenges.clear();
    rt.offlineChallenges.add(params.code_challenge);
  }
  // 2. The browser's Microsoft session. Strict: it signs in silently unless prompt asks for the
  //    picker (select_account, login) or login_hint names someone else — even an account of
  //    another tenant, which this tenant refuses (AADSTS50020, on Microsoft's page). Friendly
  //    mode: every interactive request starts from a fresh session (picker or auto-login user).
  //    prompt=none always keeps the SSO session.
  if (!prompts.includes('none')) {
    const account = rt.strict ? browserAccount(rt, req) : undefined;
    const picker = asked.includes('select_account') || asked.includes('login');
    const hint = params.login_hint;
    const reuse = account !== undefined && !picker && (hint === undefined || hintNames(rt, hint, account.tenant, account.oid));
    if (reuse && account.tenant !== tenant.id.toLowerCase()) return sendErrorPage(res, foreignAccount(rt, account, tenant));
    if (!reuse) {
      const cookie = tenant.provider.cookieName('session');
      dropCookie(req, cookie);
      expireCookie(res, cookie);
    }
  }

  await forwardToProvider(tenant, segment, req, res);
}

/** GET/POST `/${tid}/login/${uid}[/cancel]` — the login interaction. */
export async function handleLogin(rt: Runtime, tenant: TenantRuntime, uid: string, cancel: boolean, req: IncomingMessage, res: ServerResponse): Promise<void> {
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
      // prompt=consent, or a user of a tenant that lets users consent and who has not yet
      const accountId = details.session?.accountId;
      if (!accountId) return sendErrorPage(res, AAD.sessionExpired());
      const app = rt.apps.get(clientId.toLowerCase());
      if (!app) return sendErrorPage(res, AAD.appNotFound(clientId, tenant.name));
      const scopes = String(details.params.scope ?? '')
        .split(' ')
        .filter(Boolean);
      if (!userConsented(rt, tenant, app, accountId)) {
        const decision = req.method === 'POST' ? form.decision : rt.autoLogin.has(tenant.id.toLowerCase()) ? 'accept' : undefined;
        if (decision === undefined) {
          const path = `/${tenant.id}/login/${encodeURIComponent(uid)}`;
          return sendHtml(res, 200, permissionsPage({ tenantName: tenant.name, clientId, scopes, action: path }));
        }
        if (decision !== 'accept') {
          const e = AAD.userDeclined();
          await provider.interactionFinished(req, res, { error: e.error, error_description: redirectDescription(e) }, { mergeWithLastSubmission: false });
          return;
        }
        // the app's service principal now exists in this tenant, with a grant for this user
        recordConsent(rt, tenant, app, 'user', accountId);
      }
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
      if (rt.strict) startBrowserSession(rt, res, tenant.id, user.oid);
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
      hinted: (u) => typeof details.params.login_hint === 'string' && hintNames(rt, details.params.login_hint, tenant.id, u.oid),
      action: path,
      cancelAction: `${path}/cancel`,
    }),
  );
}
