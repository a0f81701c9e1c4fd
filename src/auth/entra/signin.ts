/**
 * Sign-in with Microsoft on the staff host and on portal hosts:
 *
 *   GET /.auth/sso?rd=      → the flow cookie gets a fresh attempt; 303 to Entra
 *   GET /.auth/callback     → state compared with the attempt, consumed once, THEN the
 *                             code is redeemed (PKCE verifier, nonce, expected state);
 *                             the ID token checked; the user matched or provisioned;
 *                             a fresh session (amr ["sso"]; Microsoft's amr as idpAmr); 303 to rd
 *
 * SSO sessions skip the gateway's TOTP: MFA is Entra's (conditional access). What
 * Microsoft says it checked (`pwd`, `mfa`, `otp`…) is kept apart from what the gateway
 * checked, so that no backend reads Microsoft's `otp` as the gateway's TOTP.
 */
import type { Core } from '../../core.ts';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { safeRedirectTarget } from '../../routing/redirect.ts';
import { noStore } from '../../session/plugin.ts';
import { realmKind } from '../../ops/metrics.ts';
import type { User } from '../../store/types.ts';
import type { AuthorizationHints } from './client.ts';
import type { EntraIdentity } from './claims.ts';
import { aadstsError, asEntraError, EntraError, logFields, replyEntraError } from './errors.ts';
import {
  callbackParams,
  consumeState,
  currentAttempt,
  dropAttempt,
  keepAttempt,
  newSecrets,
  sameString,
  sealCentralState,
  ATTEMPT_LIFETIME_MS,
  type Attempt,
} from './attempt.ts';
import { targetForSite, type SsoTarget } from './target.ts';
import { redirectUriFor } from './urls.ts';
import { redeemAndResolve } from './redeem.ts';
import { applyStaffRole, sessionRoles } from './roles.ts';
import { finishTestSignIn } from './test-signin.ts';
import { redirectToRefusal } from './refusal.ts';
import { wantsHtml } from '../../pages/errors.ts';

/**
 * A new attempt for a target: direct (the state is random and the secrets stay in this
 * host's flow cookie) or through the central host (the state is the sealed envelope).
 */
function prepareAttempt(core: Core, request: FastifyRequest, target: SsoTarget) {
  const { config, now } = core;
  const s = newSecrets();
  const { tenantId, clientId } = target.app;
  if (target.centralHost !== null && target.portalClient !== null) {
    const state = sealCentralState(core, {
      id: s.id,
      nonce: s.nonce,
      verifier: s.verifier,
      clientId: target.portalClient,
      tenantId,
      host: request.siteHost,
      exp: now() + ATTEMPT_LIFETIME_MS,
    });
    const attempt: Attempt = {
      purpose: 'signin',
      state: null,
      id: s.id,
      nonce: null,
      verifier: null,
      tenantId,
      clientId,
      redirectUri: redirectUriFor(config, target.centralHost),
      central: true,
    };
    return { attempt, state, nonce: s.nonce, verifier: s.verifier };
  }
  const attempt: Attempt = {
    purpose: 'signin',
    state: s.state,
    id: s.state,
    nonce: s.nonce,
    verifier: s.verifier,
    tenantId,
    clientId,
    redirectUri: redirectUriFor(config, request.siteHost),
    central: false,
  };
  return { attempt, state: s.state, nonce: s.nonce, verifier: s.verifier };
}

/**
 * What the sign-in asks Microsoft for, as its documentation says a web app should:
 * - `login_hint` when this browser's SSO session of this site is known (current, or just
 *   timed out): Microsoft signs that account in again; nothing from the query string;
 * - otherwise `prompt` (config `entra.prompt`, default select_account): the account picker,
 *   so a browser signed in to another organisation's account is not silently used (and refused);
 *   `login` is kept even with a hint;
 * - `domain_hint` for a portal client whose verified domain is configured.
 */
export async function signInHints(core: Core, request: FastifyRequest, target: SsoTarget): Promise<AuthorizationHints> {
  const configured = core.config.entra.prompt;
  const loginHint = await core.sessions.signInHint(request);
  const prompt = configured === 'none' || (configured === 'select_account' && loginHint !== null) ? null : configured;
  return { ...(prompt ? { prompt } : {}), ...(loginHint ? { loginHint } : {}), ...(target.domainHint ? { domainHint: target.domainHint } : {}) };
}

/** GET /.auth/sso: start an attempt and send the browser to Entra. */
export async function startSignIn(core: Core, request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
  const rd = safeRedirectTarget((request.query as { rd?: unknown } | undefined)?.rd);
  const target = await targetForSite(core, request.site);
  const hints = await signInHints(core, request, target);
  const { attempt, state, nonce, verifier } = prepareAttempt(core, request, target);
  const url = await core.entra.authorizationUrl(target.app, { redirectUri: attempt.redirectUri, state, nonce, verifier, hints });
  keepAttempt(core, request, rd, attempt);
  return noStore(reply).redirect(url.href, 303);
}

/** GET /.auth/callback on the host that started the attempt. */
export async function directCallback(core: Core, request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
  const p = callbackParams(request.query);
  const attempt = currentAttempt(core, request);
  if (!attempt) throw p.error !== null ? aadstsError(p.error, p.errorDescription ?? undefined) : new EntraError('SSO_FLOW_MISSING');
  if (attempt.central || attempt.state === null || p.state === null || !sameString(p.state, attempt.state)) throw new EntraError('SSO_STATE_MISMATCH');
  await consumeState(core, attempt.id);
  dropAttempt(core, request);
  if (attempt.purpose === 'test') return finishTestSignIn(core, request, reply, attempt, p);
  if (p.error !== null) throw aadstsError(p.error, p.errorDescription ?? undefined);

  const target = await targetForSite(core, request.site);
  // the settings changed while the person was at Microsoft: start again with the new ones
  if (target.app.tenantId !== attempt.tenantId || target.app.clientId !== attempt.clientId) throw new EntraError('SSO_FLOW_MISSING');
  const { identity, resolved } = await redeemAndResolve(core, target, attempt, p);
  const rd = core.sessions.flow(request)?.rd ?? '/';
  return establishSession(core, request, reply, { user: resolved.user, identity, rd, outcome: resolved.outcome });
}

/** A fresh session for a user Entra vouched for; the flow ends; 303 to rd. */
export async function establishSession(
  core: Core,
  request: FastifyRequest,
  reply: FastifyReply,
  s: {
    user: User;
    identity: Pick<EntraIdentity, 'tid' | 'oid' | 'amr' | 'loginHint'> & Partial<Pick<EntraIdentity, 'sid' | 'roles' | 'groups' | 'groupsOverage'>>;
    rd: string;
    outcome: string;
    authTime?: number;
  },
): Promise<FastifyReply> {
  const { metrics, auditor, now } = core;
  const site = request.site;
  // staff: the role from Entra when Settings → Single Sign-On maps app roles or groups (roles.ts)
  const user =
    site.kind === 'staff'
      ? await applyStaffRole(core, s.user, { roles: s.identity.roles ?? [], groups: s.identity.groups ?? [], groupsOverage: s.identity.groupsOverage ?? false })
      : s.user;
  const roles = site.kind === 'portal' ? sessionRoles(s.identity.roles ?? []) : [];
  const session = core.sessions.start(request, {
    uid: user.id,
    email: user.email,
    name: user.displayName,
    role: site.kind === 'staff' ? user.role : null,
    ...(roles.length > 0 ? { roles } : {}),
    client: site.clientId,
    amr: Object.freeze(['sso']),
    idpAmr: Object.freeze([...s.identity.amr]),
    authTime: s.authTime ?? Math.floor(now() / 1000),
    idp: Object.freeze({
      tid: s.identity.tid,
      oid: s.identity.oid,
      ...(s.identity.loginHint ? { loginHint: s.identity.loginHint } : {}),
      ...(s.identity.sid ? { sid: s.identity.sid } : {}),
    }),
  });
  core.sessions.endFlow(request);
  metrics.signIns.inc({ realm: realmKind(site.realm), method: 'sso', outcome: 'success' });
  await auditor.record({
    type: 'signin',
    outcome: 'success',
    realm: site.realm,
    userId: s.user.id,
    actor: s.user.id,
    ip: request.ip,
    details: { method: 'sso', sid: session.sid, tid: s.identity.tid, oid: s.identity.oid, account: s.outcome },
  });
  return noStore(reply).redirect(safeRedirectTarget(s.rd), 303);
}

/**
 * Record and answer a refused sign-in (never a token, code or secret in logs or audit).
 * `viaErrorPage`: the request's URL carries a one-time code or ticket, so a browser is
 * redirected to /.auth/error rather than shown the page at this URL (./refusal.ts).
 */
export async function refuseSignIn(
  core: Core,
  request: FastifyRequest,
  reply: FastifyReply,
  err: unknown,
  realm: string | null,
  viaErrorPage = false,
): Promise<FastifyReply> {
  const e = asEntraError(err);
  const fields = logFields(e);
  if (e.code === 'IDP_UNAVAILABLE' || e.code === 'STORE_UNAVAILABLE' || e.code === 'SSO_MISCONFIGURED' || e.code === 'SSO_GRAPH_DENIED')
    request.log.warn(fields, 'sso sign-in failed');
  else request.log.info(fields, 'sso sign-in refused');
  core.metrics.signIns.inc({ realm: realmKind(realm), method: 'sso', outcome: 'failure' });
  await core.auditor.record({
    type: 'signin.failure',
    outcome: 'failure',
    realm,
    userId: null,
    actor: null,
    ip: request.ip,
    details: { method: 'sso', code: e.code, ...(e.info ? { aadsts: e.info.code } : {}), ...(e.audit ?? {}) },
  });
  if (viaErrorPage && wantsHtml(request)) {
    try {
      return redirectToRefusal(core, request, reply, e);
    } catch {
      // no flow cookie can be written: the page at this URL, as before
    }
  }
  // the way back keeps the deep link the person started from (the flow outlives a refusal)
  let returnTo: string | null = null;
  try {
    returnTo = request.site.kind === 'central' ? null : (core.sessions.flow(request)?.rd ?? null);
  } catch {
    // the refusal page does not depend on the flow cookie
  }
  return replyEntraError(request, reply, e, returnTo);
}
