/**
 * Why an Entra sign-in was refused: one error class with stable codes, how IdP
 * failures are classified, and the page (or JSON) people get. Pages carry the
 * correlation id and time (replyError), and a "For your administrator" box
 * when Microsoft named the problem.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ClientError, ResponseBodyError, WWWAuthenticateChallengeError } from 'openid-client';
import { replyError, wantsHtml } from '../../pages/errors.ts';
import { html } from '../../pages/html.ts';
import { PATHS } from '../../routing/reserved.ts';
import { safeRedirectTarget } from '../../routing/redirect.ts';
import { ENTRA_ERRORS, type EntraErrorSpec } from '../../errors.ts';
import { StoreError } from '../../store/types.ts';
import { aadstsNumber, aadstsUserMessage, describeAadsts, type EntraErrorInfo } from './aadsts.ts';
import { entraIds, microsoftIdsHtml } from './diagnostics.ts';
import { isGuid } from '../../util/security.ts';

export type EntraErrorCode = keyof typeof ENTRA_ERRORS;

export function isEntraErrorCode(v: unknown): v is EntraErrorCode {
  return typeof v === 'string' && Object.hasOwn(ENTRA_ERRORS, v);
}

export class EntraError extends Error {
  readonly code: EntraErrorCode;
  readonly status: number;
  /** Microsoft's answer explained for an administrator, or null */
  readonly info: EntraErrorInfo | null;
  /** the message for people (the code's, or a more specific one) */
  readonly userMessage: string;
  /** what the audit event of the refusal records besides the code (never a token or secret) */
  readonly audit: Readonly<Record<string, unknown>> | null;

  constructor(code: EntraErrorCode, options: { info?: EntraErrorInfo | null; userMessage?: string; cause?: unknown; audit?: Record<string, unknown> } = {}) {
    super(`${code}${options.info ? ` (${options.info.code})` : ''}`, { cause: options.cause });
    this.name = 'EntraError';
    this.code = code;
    this.status = ENTRA_ERRORS[code].status;
    this.info = options.info ?? null;
    this.userMessage = options.userMessage ?? ENTRA_ERRORS[code].message;
    this.audit = options.audit ? Object.freeze({ ...options.audit }) : null;
  }

  /** what the admin pages are given */
  toInfo(): EntraErrorInfo {
    return this.info ?? Object.freeze({ code: this.code, message: this.userMessage, hint: null });
  }
}

/** Thrown by the IdP fetch wrapper: the IdP did not answer usefully (network, timeout, 5xx, broken JWKS). */
export class IdpTransportError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'IdpTransportError';
  }
}

/** an EntraError raised inside openid-client (by the fetch wrapper), wrapped in its ClientError */
function findEntraError(err: unknown): EntraError | null {
  let e: unknown = err;
  for (let depth = 0; depth < 4 && e; depth++) {
    if (e instanceof EntraError) return e;
    e = (e as { cause?: unknown }).cause;
  }
  return null;
}

function isTransport(err: unknown): boolean {
  let e: unknown = err;
  for (let depth = 0; depth < 6 && e; depth++) {
    if (e instanceof IdpTransportError) return true;
    if (e instanceof DOMException && (e.name === 'TimeoutError' || e.name === 'AbortError')) return true;
    if (e instanceof TypeError && e.message === 'fetch failed') return true;
    if (e instanceof ClientError && (e.code === 'OAUTH_TIMEOUT' || e.code === 'OAUTH_ABORT')) return true;
    e = (e as { cause?: unknown }).cause;
  }
  return false;
}

const UNAVAILABLE_ERRORS = new Set(['temporarily_unavailable', 'server_error']);
const GARBAGE_CODES = new Set(['OAUTH_RESPONSE_IS_NOT_JSON', 'OAUTH_RESPONSE_IS_NOT_CONFORM']);

/** the token endpoint answered something that is not an OAuth response at all (vs. a bad ID token) */
function isGarbageResponse(err: ClientError): boolean {
  if (err.code !== undefined && GARBAGE_CODES.has(err.code)) return true;
  const detail = (err.cause as { message?: unknown } | undefined)?.message;
  return err.code === 'OAUTH_PARSE_ERROR' && typeof detail === 'string' && detail.includes('"response" body');
}

/**
 * Microsoft answered with an AADSTS error (redirect or JSON): explain it, with Microsoft's
 * trace and correlation ids (from the JSON `body` when there is one, else the description).
 */
export function aadstsError(
  errorCode: string | undefined,
  description: string | undefined,
  cause?: unknown,
  body?: Readonly<Record<string, unknown>> | null,
): EntraError {
  const info =
    describeAadsts(description, body) ??
    Object.freeze({ code: 'SSO_IDP_ERROR', message: `Microsoft answered "${safeOauthError(errorCode)}".`, hint: null, microsoft: entraIds(body, description) });
  return new EntraError('SSO_IDP_ERROR', { info, userMessage: aadstsUserMessage(aadstsNumber(description)), cause });
}

/**
 * An OAuth error body from a token or discovery endpoint, whatever the HTTP status and
 * headers it came with (Entra answers some invalid_client errors with 401 and a
 * WWW-Authenticate challenge, which openid-client would otherwise report without the
 * body): explained, or IDP_UNAVAILABLE for Microsoft's transient errors; null when the
 * body is not one.
 */
export function oauthBodyError(body: unknown, status: number): EntraError | null {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return null;
  const b = body as Record<string, unknown>;
  if (typeof b.error !== 'string') return null;
  const cause = new Error(`HTTP ${status} ${safeOauthError(b.error)}`);
  if (UNAVAILABLE_ERRORS.has(b.error)) return new EntraError('IDP_UNAVAILABLE', { cause });
  return aadstsError(b.error, typeof b.error_description === 'string' ? b.error_description : undefined, cause, b);
}

/** an OAuth `error` value, limited to its registered alphabet for display */
export function safeOauthError(value: string | undefined): string {
  return typeof value === 'string' && /^[a-z_]{1,64}$/.test(value) ? value : 'error';
}

/**
 * Classify a failure of an IdP operation. Anything unexpected in `discovery` or a
 * transport problem is IDP_UNAVAILABLE; an OAuth error body is explained; anything
 * wrong with what came back from the token endpoint is SSO_TOKEN_INVALID (fail closed).
 */
export function classifyIdpError(err: unknown, phase: 'discovery' | 'token' | 'graph'): EntraError {
  const explained = findEntraError(err);
  if (explained) return explained;
  if (isTransport(err)) return new EntraError('IDP_UNAVAILABLE', { cause: err });
  if (err instanceof ResponseBodyError) {
    if (err.status >= 500 || UNAVAILABLE_ERRORS.has(err.error)) return new EntraError('IDP_UNAVAILABLE', { cause: err });
    return aadstsError(err.error, err.error_description, err, err.cause);
  }
  if (err instanceof WWWAuthenticateChallengeError) {
    // a challenge whose body was not an OAuth error: its own error parameters, if any
    const params = err.cause.find((c) => typeof c.parameters.error === 'string')?.parameters;
    if (params?.error) return aadstsError(params.error, params.error_description, err);
  }
  if (phase !== 'token') return new EntraError('IDP_UNAVAILABLE', { cause: err });
  if (err instanceof ClientError && isGarbageResponse(err)) return new EntraError('IDP_UNAVAILABLE', { cause: err });
  return new EntraError('SSO_TOKEN_INVALID', { cause: err });
}

/** Any error in an auth decision becomes an EntraError (store failures keep their meaning). */
export function asEntraError(err: unknown): EntraError {
  if (err instanceof EntraError) return err;
  if (err instanceof StoreError) return new EntraError('STORE_UNAVAILABLE', { cause: err });
  return new EntraError('SSO_TOKEN_INVALID', { cause: err });
}

/** The log line for a refused sign-in: codes and Microsoft's ids only, never tokens, codes or secrets. */
export function logFields(err: EntraError): Record<string, unknown> {
  const cause = err.cause as { name?: unknown; code?: unknown; message?: unknown } | undefined;
  return {
    code: err.code,
    aadsts: err.info?.code ?? null,
    ...(err.info?.microsoft ? { microsoft: err.info.microsoft } : {}),
    cause: cause
      ? {
          name: typeof cause.name === 'string' ? cause.name : '',
          code: typeof cause.code === 'string' ? cause.code : undefined,
          message: typeof cause.message === 'string' ? cause.message.slice(0, 200) : undefined,
        }
      : undefined,
  };
}

/**
 * Send the page (people) or JSON (API clients) for a refused sign-in. `returnTo`: where
 * the person was going (the flow's validated target), kept by the page's way back.
 */
/**
 * A Microsoft account that is not linked (or not provisioned): the person's own tenant and
 * object id, which an admin needs to link it. Their own identity, shown only to them, so
 * nothing is disclosed; never an email (that could say whether an account holds it).
 */
export function unlinkedIdentity(err: EntraError): { tid: string; oid: string } | null {
  if (err.code !== 'SSO_NOT_LINKED' && err.code !== 'SSO_NOT_PROVISIONED') return null;
  const tid = err.audit?.tid;
  const oid = err.audit?.oid;
  return isGuid(tid) && isGuid(oid) ? { tid, oid } : null;
}

export function replyEntraError(
  request: FastifyRequest,
  reply: FastifyReply,
  err: EntraError,
  returnTo: string | null = null,
  reference?: { id: string; at: number },
): FastifyReply {
  const spec: EntraErrorSpec = ENTRA_ERRORS[err.code];
  reply.header('cache-control', 'no-store');
  if (!wantsHtml(request)) {
    reply.header('x-request-id', request.id);
    return reply
      .code(spec.status)
      .type('application/json; charset=utf-8')
      .send({
        error: err.code.toLowerCase(),
        message: err.userMessage,
        ...(err.info ? { detail: err.info.code } : {}),
        requestId: request.id,
      });
  }
  const who = unlinkedIdentity(err);
  const admin = err.info
    ? html`<div class="admin-box"><h2>For your administrator</h2>
<p><strong>${err.info.code}</strong>: ${err.info.message}</p>
${err.info.hint ? html`<p>${err.info.hint}</p>` : ''}
${microsoftIdsHtml(err.info.microsoft)}</div>`
    : who
      ? html`<div class="admin-box"><h2>For your administrator</h2>
<p>To link your Microsoft account (Settings → People → the person → Link a Microsoft account, or <code>regentra-gateway users link</code>), your admin needs:</p>
<dl class="kv"><dt>Tenant ID</dt><dd><code>${who.tid}</code></dd><dt>Object ID</dt><dd><code>${who.oid}</code></dd></dl></div>`
      : '';
  const target = returnTo === null ? '/' : safeRedirectTarget(returnTo);
  const back = target === '/' ? PATHS.login : `${PATHS.login}?rd=${encodeURIComponent(target)}`;
  const extra = html`${admin}<p class="links"><a href="${back}">Back to sign-in</a></p>`;
  return replyError(request, reply, spec.base, { title: spec.title, message: err.userMessage, extra, html: true, ...(reference ? { reference } : {}) });
}
