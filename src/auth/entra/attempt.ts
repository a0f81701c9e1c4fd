/**
 * One sign-in attempt's secrets (state, nonce, PKCE verifier), where they live and
 * how the callback proves it belongs to them.
 *
 * - Direct (staff, portal without a central host, admin test): the attempt is kept in
 *   the encrypted flow cookie of the host that started it; `state` is random.
 * - Central callback host: the browser comes back to another host, which cannot read
 *   that cookie. The `state` sent to Entra is then a sealed envelope (AES-256-GCM with
 *   the encryption key, aad `entra.central-state.v1`: encrypted and authenticated)
 *   holding the attempt id, nonce, verifier, client, return host and expiry. The
 *   starting host's flow cookie keeps the attempt id, so the hand-off back can be
 *   bound to the browser that started (see central.ts, redeemHandoff).
 *
 * Either way a state is accepted once, on any replica: consumeOnce('oidc-state:' + id).
 */
import type { Core } from '../../core.ts';
import { createHash, randomBytes } from 'node:crypto';
import * as oidc from 'openid-client';
import type { FastifyRequest } from 'fastify';
import { EntraError } from './errors.ts';
import { isGuid } from './claims.ts';
import { sameSecret } from '../../util/security.ts';

/** how long an attempt may take (Entra sign-in, MFA): matches the flow cookie's lifetime */
export const ATTEMPT_LIFETIME_MS = 15 * 60 * 1000;
const FLOW_KEY = 'entra';
/** a flow older than this is replaced rather than extended (the flow cookie lives 15 min) */
const FLOW_REUSE_MS = 5 * 60 * 1000;
const CENTRAL_STATE_AAD = 'entra.central-state.v1';
const MAX_STATE = 2048;
const MAX_CODE = 8192;

export interface Attempt {
  readonly purpose: 'signin' | 'test';
  /** the exact `state` sent to Entra (random, or the sealed envelope) — direct mode only */
  readonly state: string | null;
  /** the attempt id (the consumeOnce key; in central mode the envelope's id) */
  readonly id: string;
  readonly nonce: string | null;
  readonly verifier: string | null;
  readonly tenantId: string;
  readonly clientId: string;
  readonly redirectUri: string;
  readonly central: boolean;
  /** admin test only: the form's secret (kept in the encrypted flow cookie, never in a URL) */
  readonly secret?: string;
  /** admin test only: where to go back to */
  readonly returnTo?: string;
}

export interface CentralState {
  readonly id: string;
  readonly nonce: string;
  readonly verifier: string;
  readonly clientId: string;
  readonly tenantId: string;
  /** the client host the browser started on */
  readonly host: string;
  readonly exp: number;
}

/** Fresh secrets for one attempt. */
export function newSecrets(): { id: string; nonce: string; verifier: string; state: string } {
  return { id: randomBytes(24).toString('base64url'), nonce: oidc.randomNonce(), verifier: oidc.randomPKCECodeVerifier(), state: oidc.randomState() };
}

export function sealCentralState(core: Core, s: CentralState): string {
  return core.secretBox.seal(JSON.stringify({ i: s.id, n: s.nonce, v: s.verifier, c: s.clientId, t: s.tenantId, h: s.host, x: s.exp }), CENTRAL_STATE_AAD);
}

/** Open a central `state`; null when it does not open, is malformed or has expired. */
export function openCentralState(core: Core, state: string): CentralState | null {
  let raw: unknown;
  try {
    raw = JSON.parse(core.secretBox.open(state, CENTRAL_STATE_AAD));
  } catch {
    return null;
  }
  const r = raw as Record<string, unknown>;
  const ok =
    typeof r === 'object' &&
    r !== null &&
    typeof r.i === 'string' &&
    typeof r.n === 'string' &&
    typeof r.v === 'string' &&
    typeof r.c === 'string' &&
    isGuid(r.t) &&
    typeof r.h === 'string' &&
    typeof r.x === 'number';
  if (!ok || (r.x as number) < core.now()) return null;
  return {
    id: r.i as string,
    nonce: r.n as string,
    verifier: r.v as string,
    clientId: r.c as string,
    tenantId: r.t as string,
    host: r.h as string,
    exp: r.x as number,
  };
}

/** The attempt kept in this host's flow cookie, or null. */
export function currentAttempt(core: Core, request: FastifyRequest): Attempt | null {
  const a = core.sessions.flow(request)?.[FLOW_KEY] as Attempt | null | undefined;
  return a && typeof a === 'object' && typeof a.id === 'string' ? a : null;
}

/** Start a flow holding this attempt (replaces any flow in progress on this host). */
export function keepAttempt(core: Core, request: FastifyRequest, rd: string, attempt: Attempt): void {
  core.sessions.startFlow(request, rd, { [FLOW_KEY]: attempt });
}

/**
 * Add this attempt to the flow in progress (keeping its CSRF token for the admin pages),
 * or start a new flow when there is none or it would expire before the attempt ends.
 */
export function addAttempt(core: Core, request: FastifyRequest, attempt: Attempt): void {
  const flow = core.sessions.flow(request);
  if (flow && core.now() - flow.started < FLOW_REUSE_MS) core.sessions.updateFlow(request, { [FLOW_KEY]: attempt });
  else core.sessions.startFlow(request, '/', { [FLOW_KEY]: attempt });
}

/** Forget the attempt (the flow itself may carry on, e.g. a test result). */
export function dropAttempt(core: Core, request: FastifyRequest): void {
  core.sessions.updateFlow(request, { [FLOW_KEY]: null });
}

export interface CallbackParams {
  readonly code: string | null;
  readonly state: string | null;
  readonly error: string | null;
  readonly errorDescription: string | null;
}

/** The callback's query, validated: single string values within bounds, or SSO_BAD_CALLBACK. */
export function callbackParams(query: unknown): CallbackParams {
  const q = (query ?? {}) as Record<string, unknown>;
  const one = (name: string, max: number): string | null => {
    const v = q[name];
    if (v === undefined) return null;
    if (typeof v !== 'string' || v.length === 0 || v.length > max) throw new EntraError('SSO_BAD_CALLBACK');
    return v;
  };
  const p = { code: one('code', MAX_CODE), state: one('state', MAX_STATE), error: one('error', 256), errorDescription: one('error_description', 4096) };
  if (p.error === null && (p.code === null || p.state === null)) throw new EntraError('SSO_BAD_CALLBACK');
  if (p.code !== null && !/^[\x21-\x7e]+$/.test(p.code)) throw new EntraError('SSO_BAD_CALLBACK');
  return p;
}

/** constant-time string equality */
export const sameString: (a: string, b: string) => boolean = sameSecret;

/** Accept an authorization code once, on any replica (Entra refuses a redeemed code too). */
export async function consumeCode(core: Core, code: string): Promise<void> {
  const first = await core.store.consumeOnce(`oidc-code:${createHash('sha256').update(code).digest('base64url')}`, core.now() + ATTEMPT_LIFETIME_MS);
  if (!first) throw new EntraError('SSO_REPLAYED');
}

/** Accept this attempt id once, on any replica (SSO_REPLAYED the second time). */
export async function consumeState(core: Core, id: string): Promise<void> {
  const first = await core.store.consumeOnce(`oidc-state:${id}`, core.now() + ATTEMPT_LIFETIME_MS);
  if (!first) throw new EntraError('SSO_REPLAYED');
}
