// Koa middleware in front of each tenant's oidc-provider routes: record token requests,
// and give oidc-provider's answers Entra's shape (AADSTS errors, token response fields,
// Entra-style ID tokens, no RFC 9207 `iss` in authorization responses).
import type { KoaContextLike, Middleware } from 'oidc-provider';
import {
  AAD,
  diagnostics,
  mapAuthorizationError,
  mapTokenError,
  redirectDescription,
  refusalError,
  tokenErrorBody,
  type AadError,
  type ProviderError,
} from './errors.ts';
import { remintIdToken } from './keys.ts';
import { appStatus, type RecordedTokenRequest, type Runtime, type TenantBase } from './types.ts';
import { assertedRequests } from './assertions.ts';

const REDACTED = '[redacted]';
const SECRET_PARAMS = new Set(['client_secret', 'client_assertion']);

function text(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (Array.isArray(value)) return value.join(' ');
  return undefined;
}

function basicClientId(header: string | undefined): string | undefined {
  if (!header || !/^basic /i.test(header)) return undefined;
  const decoded = Buffer.from(header.slice(6).trim(), 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return undefined;
  try {
    return decodeURIComponent(decoded.slice(0, colon).replace(/\+/g, '%20'));
  } catch {
    return decoded.slice(0, colon);
  }
}

/** What a token request looked like, without secrets. */
export function recordTokenRequest(tenant: string, body: Record<string, unknown>, authorization: string | undefined): RecordedTokenRequest {
  const params: Record<string, string> = {};
  for (const [name, value] of Object.entries(body)) {
    const v = text(value);
    if (v !== undefined) params[name] = SECRET_PARAMS.has(name) ? REDACTED : v;
  }
  const basicId = basicClientId(authorization);
  return {
    tenant,
    params,
    clientAuth: basicId !== undefined ? 'client_secret_basic' : params.client_secret !== undefined ? 'client_secret_post' : 'none',
    clientId: params.client_id ?? basicId,
  };
}

/** A scope that names a resource by URI (`https://host/…/Perm`): its resource, else null. */
function resourceOf(scope: string): string | null {
  const m = /^(https?:\/\/.+)\/[^/]+$/.exec(scope);
  return m?.[1] ?? null;
}

/**
 * Entra knows only its own cloud's resources: a scope naming Graph of another cloud (the
 * global `https://graph.microsoft.com/…` when this stand-in plays a national cloud, or the
 * other way round) is refused with AADSTS500011, as Entra does.
 */
export function foreignResource(rt: Runtime, scopes: string | undefined): string | null {
  for (const scope of (scopes ?? '').split(' ').filter(Boolean)) {
    const resource = resourceOf(scope);
    if (resource !== null && resource !== rt.graphResource) return resource;
  }
  return null;
}

/**
 * The ID token's app-dependent claims, as Entra issues them: `xms_edov` and `login_hint`
 * only when the app lists them as optional claims; in strict mode an email whose domain
 * owner is not verified is left out, unless the app asked for `xms_edov` (which then says false).
 */
export function appClaims(rt: Runtime, clientId: string | undefined): (claims: Record<string, unknown>) => Record<string, unknown> {
  const optional = new Set(clientId ? (rt.apps.get(clientId.toLowerCase())?.optionalClaims ?? []) : []);
  return (claims) => {
    const out = { ...claims };
    if (!optional.has('xms_edov')) {
      if (rt.strict && out.xms_edov === false) delete out.email;
      delete out.xms_edov;
    }
    if (!optional.has('login_hint')) delete out.login_hint;
    return out;
  };
}

const RESPONSE_ORDER = ['token_type', 'scope', 'expires_in', 'ext_expires_in', 'access_token', 'refresh_token', 'id_token'];

async function shapeTokenResponse(rt: Runtime, tenant: TenantBase, ctx: KoaContextLike): Promise<void> {
  const body = ctx.oidc?.body ?? {};
  const recorded = recordTokenRequest(tenant.id, body, ctx.headers.authorization);
  if (assertedRequests.has(ctx.req)) {
    // the assertion was checked and swapped for the app's secret (assertions.ts)
    recorded.clientAuth = 'private_key_jwt';
    if (recorded.params.client_secret !== undefined) delete recorded.params.client_secret;
  }
  rt.tokenRequests.push(recorded);
  const correlation = diagnostics(text(ctx.headers['client-request-id']));

  const fail = (e: AadError) => {
    ctx.status = e.status;
    ctx.body = tokenErrorBody(e, correlation);
    // oidc-provider adds a Basic challenge; Entra usually sends none, but answers some
    // invalid_client errors with one (fe.challengeInvalidClient)
    ctx.remove('WWW-Authenticate');
    if (e.status === 401 && e.error === 'invalid_client' && rt.challengeInvalidClient) {
      ctx.set('WWW-Authenticate', `Basic realm="${new URL(tenant.issuer).host}", error="invalid_client"`);
    }
  };

  const refusal = rt.refusals.token;
  if (refusal !== null) {
    rt.refusals.token = null;
    return fail(refusalError(refusal, 'token', recorded.clientId ?? ''));
  }
  const foreign = foreignResource(rt, recorded.params.scope);
  if (foreign !== null) return fail(AAD.resourceNotFound(foreign, tenant.name));
  if (ctx.status >= 400) {
    const err = (ctx.state.providerError ?? ctx.body ?? {}) as ProviderError;
    const hasSecret = recorded.clientAuth !== 'none';
    fail(mapTokenError(rt, tenant, err, recorded.clientId, hasSecret, recorded.params.grant_type));
    return;
  }
  if (ctx.status !== 200 || typeof ctx.body !== 'object' || ctx.body === null) return;

  const out = ctx.body as Record<string, unknown>;
  if (recorded.params.grant_type === 'client_credentials') {
    const scope = recorded.params.scope?.trim();
    if (!scope) return fail(AAD.scopeMissing());
    const notDefault = scope.split(/\s+/).find((s) => !s.endsWith('/.default'));
    if (notDefault) return fail(AAD.notDefaultScope(notDefault));
    // app-only tokens need the app's service principal in the tenant (a user's consent creates one too)
    if (recorded.clientId && appStatus(rt, tenant, recorded.clientId).kind !== 'ok') return fail(AAD.appNotFound(recorded.clientId, tenant.name));
    delete out.scope; // Entra answers client credentials without `scope`
  }
  out.ext_expires_in = out.expires_in;
  if (typeof out.refresh_token === 'string' && typeof out.scope === 'string' && !out.scope.split(' ').includes('offline_access')) {
    out.scope = `${out.scope} offline_access`;
  }
  if (typeof out.id_token === 'string') {
    const override = rt.overrideNext;
    rt.overrideNext = null;
    out.id_token = await remintIdToken(tenant, out.id_token, override, appClaims(rt, recorded.clientId));
  }
  const ordered: Record<string, unknown> = {};
  for (const name of RESPONSE_ORDER) if (name in out) ordered[name] = out[name];
  for (const [name, value] of Object.entries(out)) if (!(name in ordered)) ordered[name] = value;
  ctx.body = ordered;
}

/**
 * Authorization redirects: drop `iss` (Entra does not send it), give errors AADSTS
 * descriptions; a sign-in that asked for another cloud's resource, or that a test told to
 * be refused (fe.refuseNext), comes back with Entra's error instead of a code.
 */
function shapeAuthorizationRedirect(rt: Runtime, tenant: TenantBase, ctx: KoaContextLike): void {
  if (ctx.status < 300 || ctx.status >= 400) return;
  const location = ctx.res.getHeader('location');
  if (typeof location !== 'string' || !/^https?:/i.test(location)) return;
  const url = new URL(location);
  const inFragment = url.hash.length > 1 && !url.search;
  const params = new URLSearchParams(inFragment ? url.hash.slice(1) : url.search);
  if (!params.has('iss') && !params.has('error')) return;
  params.delete('iss');
  if (params.has('code')) {
    const clientId = String(ctx.oidc?.params?.client_id ?? '');
    const foreign = foreignResource(rt, typeof ctx.oidc?.params?.scope === 'string' ? ctx.oidc.params.scope : undefined);
    const refusal = rt.refusals.authorize;
    const refused = foreign !== null ? AAD.resourceNotFound(foreign, tenant.name) : refusal !== null ? refusalError(refusal, 'authorize', clientId) : null;
    if (refusal !== null && foreign === null) rt.refusals.authorize = null;
    if (refused) {
      const state = params.get('state');
      for (const name of [...params.keys()]) params.delete(name);
      params.set('error', refused.error);
      params.set('error_description', redirectDescription(refused));
      if (state !== null) params.set('state', state);
    }
  }
  const error = params.get('error');
  const description = params.get('error_description') ?? '';
  if (error && !description.startsWith('AADSTS')) {
    const mapped = mapAuthorizationError(error, description);
    params.set('error', mapped.error);
    params.set('error_description', redirectDescription(mapped));
  }
  if (inFragment) url.hash = params.toString();
  else url.search = params.toString();
  ctx.set('Location', url.href);
}

export function shapeResponses(rt: Runtime, tenant: TenantBase): Middleware {
  return async (ctx, next) => {
    await next();
    const route = ctx.oidc?.route;
    if (route === 'token') await shapeTokenResponse(rt, tenant, ctx);
    else if (route === 'authorization' || route === 'resume') shapeAuthorizationRedirect(rt, tenant, ctx);
  };
}
