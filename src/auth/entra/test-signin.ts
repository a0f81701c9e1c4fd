/**
 * Test Connection for the staff SSO settings page, with the values on the form
 * (not yet saved):
 *
 * 1. checkConnection: the tenant's discovery document, then a client-credentials
 *    token for Graph `.default` — proves the tenant exists, the app exists in it and
 *    the secret is right, without a browser.
 * 2. beginTestSignIn → Microsoft → /.auth/callback: the real round trip. The form's
 *    values (secret included) travel in the encrypted flow cookie, never in a URL; the
 *    callback creates no session, it stores the outcome in the flow cookie and sends
 *    the admin back to `returnTo`, where takeTestResult reads (and clears) it.
 */
import type { Core } from '../../core.ts';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { normalizeTarget } from '../../routing/path.ts';
import { PATHS } from '../../routing/reserved.ts';
import { noStore } from '../../session/plugin.ts';
import type { EntraErrorInfo } from './aadsts.ts';

import { isGuid } from './claims.ts';
import { aadstsError, asEntraError, EntraError, logFields } from './errors.ts';
import { addAttempt, newSecrets, type Attempt, type CallbackParams } from './attempt.ts';
import { redeemIdentity } from './redeem.ts';
import { credentialLabel, settingsFingerprint, type EntraAppCredentials } from './secrets.ts';
import { redirectUriFor } from './urls.ts';

const RESULT_KEY = 'entraTest';
const MAX_CLIENT_ID = 200;
const MAX_SECRET = 1024;

export interface ConnectionCheck {
  ok: boolean;
  steps: Array<{ name: 'discovery' | 'token'; ok: boolean; detail: string }>;
  error: EntraErrorInfo | null;
  /** the credential the token request authenticated with, in words ('client secret', 'certificate (thumbprint …)') */
  credential: string;
}

export interface TestSignInResult {
  ok: boolean;
  /** settingsFingerprint of the values tested */
  fingerprint: string;
  /** epoch ms */
  at: number;
  claims: { name: string; email: string | null; tid: string; oid: string } | null;
  error: EntraErrorInfo | null;
}

/** The form's values, trimmed, or an explanation of what is wrong with them. */
function checkCredentials(creds: EntraAppCredentials): { creds: EntraAppCredentials } | { error: EntraErrorInfo } {
  const tenantId = String(creds.tenantId ?? '')
    .trim()
    .toLowerCase();
  const clientId = String(creds.clientId ?? '').trim();
  const clientSecret = String(creds.clientSecret ?? '');
  const invalid = (message: string, hint: string) => ({ error: Object.freeze({ code: 'INVALID_SETTINGS', message, hint }) });
  if (!isGuid(tenantId))
    return invalid(
      'The Tenant ID is not a GUID.',
      'Copy the Tenant ID from Azure Active Directory → Overview (a value such as 72f988bf-86f1-41af-91ab-2d7cd011db47).',
    );
  if (!clientId || clientId.length > MAX_CLIENT_ID || /\s/.test(clientId))
    return invalid('The Client ID is missing or malformed.', "Copy the Application (client) ID from the app registration's Overview page.");
  const alternates = creds.alternates ?? [];
  if (creds.certificate) return { creds: Object.freeze({ tenantId, clientId, clientSecret: '', certificate: creds.certificate, alternates }) };
  if (!clientSecret || clientSecret.length > MAX_SECRET)
    return invalid('The client secret is missing.', "Paste the secret's Value from Certificates & secrets.");
  return { creds: Object.freeze({ tenantId, clientId, clientSecret, alternates }) };
}

export async function checkConnection(core: Core, input: EntraAppCredentials): Promise<ConnectionCheck> {
  const checked = checkCredentials(input);
  const credential = credentialLabel(input);
  if ('error' in checked) return { ok: false, steps: [{ name: 'discovery', ok: false, detail: checked.error.message }], error: checked.error, credential };
  const { creds } = checked;
  const client = core.entra;
  const steps: ConnectionCheck['steps'] = [];
  try {
    const server = await client.metadata(creds.tenantId, { fresh: true });
    steps.push({ name: 'discovery', ok: true, detail: `Found the tenant's sign-in metadata (issuer ${server.issuer}).` });
  } catch (err) {
    const e = asEntraError(err);
    steps.push({ name: 'discovery', ok: false, detail: e.toInfo().message });
    return { ok: false, steps, error: e.toInfo(), credential };
  }
  try {
    await client.clientCredentials(creds);
    steps.push({ name: 'token', ok: true, detail: `Microsoft issued an app token: the app exists in this tenant and the ${credential} is valid.` });
    return { ok: true, steps, error: null, credential };
  } catch (err) {
    const e = asEntraError(err);
    steps.push({ name: 'token', ok: false, detail: `With the ${credential}: ${e.toInfo().message}` });
    return { ok: false, steps, error: e.toInfo(), credential };
  }
}

/** A path under /.auth/admin/ to come back to (anything else: the admin home). */
function safeAdminReturn(returnTo: unknown): string {
  if (typeof returnTo !== 'string' || returnTo.length > 2048 || !/^\/[\x21-\x7e]*$/.test(returnTo) || returnTo.includes('\\') || returnTo.startsWith('//'))
    return PATHS.admin;
  const n = normalizeTarget(returnTo);
  if (!n.ok || !n.path.startsWith(PATHS.admin)) return PATHS.admin;
  return n.query ? `${n.path}?${n.query}` : n.path;
}

function storeResult(core: Core, request: FastifyRequest, result: TestSignInResult): void {
  if (!core.sessions.updateFlow(request, { [RESULT_KEY]: result })) core.sessions.startFlow(request, '/', { [RESULT_KEY]: result });
}

function failed(core: Core, fingerprint: string, error: EntraErrorInfo): TestSignInResult {
  return Object.freeze({ ok: false, fingerprint, at: core.now(), claims: null, error });
}

export async function beginTestSignIn(
  core: Core,
  request: FastifyRequest,
  reply: FastifyReply,
  input: EntraAppCredentials,
  returnTo: string,
): Promise<FastifyReply> {
  const back = safeAdminReturn(returnTo);
  const checked = checkCredentials(input);
  if ('error' in checked) {
    storeResult(core, request, failed(core, '', checked.error));
    return noStore(reply).redirect(back, 303);
  }
  const { creds } = checked;
  const s = newSecrets();
  const attempt: Attempt = {
    purpose: 'test',
    state: s.state,
    id: s.state,
    nonce: s.nonce,
    verifier: s.verifier,
    tenantId: creds.tenantId,
    clientId: creds.clientId,
    redirectUri: redirectUriFor(core.config, request.siteHost),
    central: false,
    secret: creds.clientSecret,
    returnTo: back,
  };
  let url: URL;
  try {
    url = await core.entra.authorizationUrl(creds, { redirectUri: attempt.redirectUri, state: s.state, nonce: s.nonce, verifier: s.verifier });
  } catch (err) {
    storeResult(core, request, failed(core, settingsFingerprint(core, creds), asEntraError(err).toInfo()));
    return noStore(reply).redirect(back, 303);
  }
  addAttempt(core, request, attempt);
  return noStore(reply).redirect(url.href, 303);
}

/** The callback of a test attempt (state already compared and consumed): record the outcome, no session. */
export async function finishTestSignIn(core: Core, request: FastifyRequest, reply: FastifyReply, attempt: Attempt, p: CallbackParams): Promise<FastifyReply> {
  const creds = Object.freeze({ tenantId: attempt.tenantId, clientId: attempt.clientId, clientSecret: attempt.secret ?? '' });
  const fingerprint = settingsFingerprint(core, creds);
  let result: TestSignInResult;
  try {
    if (p.error !== null) throw aadstsError(p.error, p.errorDescription ?? undefined);
    if (p.code === null || p.state === null || attempt.nonce === null || attempt.verifier === null || attempt.state === null)
      throw new EntraError('SSO_BAD_CALLBACK');
    const { identity, lookupEmail } = await redeemIdentity(core, creds, {
      redirectUri: attempt.redirectUri,
      code: p.code,
      state: p.state,
      expectedState: attempt.state,
      verifier: attempt.verifier,
      nonce: attempt.nonce,
    });
    const email = identity.email ?? (await lookupEmail().catch(() => null));
    result = Object.freeze({
      ok: true,
      fingerprint,
      at: core.now(),
      claims: Object.freeze({ name: identity.name, email, tid: identity.tid, oid: identity.oid }),
      error: null,
    });
  } catch (err) {
    const e = asEntraError(err);
    request.log.info(logFields(e), 'sso test sign-in failed');
    result = failed(core, fingerprint, e.toInfo());
  }
  storeResult(core, request, result);
  const session = await core.sessions.current(request);
  await core.auditor.record({
    type: 'sso.test',
    outcome: result.ok ? 'success' : 'failure',
    realm: request.site.realm,
    userId: session?.uid ?? null,
    actor: session?.uid ?? null,
    ip: request.ip,
    details: { tenantId: creds.tenantId, clientId: creds.clientId, ...(result.error ? { code: result.error.code } : {}) },
  });
  return noStore(reply).redirect(attempt.returnTo ?? PATHS.admin, 303);
}

function isResult(value: unknown): value is TestSignInResult {
  const r = value as TestSignInResult | null;
  return typeof r === 'object' && r !== null && typeof r.ok === 'boolean' && typeof r.fingerprint === 'string' && typeof r.at === 'number';
}

/** The stored outcome of the last test round trip on this host (read once: it is cleared). */
export function takeTestResult(core: Core, request: FastifyRequest): TestSignInResult | null {
  const value = core.sessions.flow(request)?.[RESULT_KEY];
  if (value === undefined || value === null) return null;
  core.sessions.updateFlow(request, { [RESULT_KEY]: null });
  return isResult(value) ? value : null;
}
