/**
 * What the steps of a local sign-in share (password, TOTP, enrolment, recovery code):
 * the flow and its CSRF token, the pending password step, failure counting (per
 * account, per unknown email and per client IP, all in the store, so every replica counts the same), the lockout
 * and throttle answers, and finishing with a fresh session.
 *
 * The flow cookie holds `pwd: { uid, at }` once the password was right and a second
 * step is due; it is good for PENDING_PASSWORD_MS. It never holds a password or a secret.
 */
import { GatewayError } from '../../errors.ts';
import type { Core } from '../../core.ts';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { FlowState, NewSession } from '../../session/plugin.ts';
import type { User } from '../../store/types.ts';
import { normalizeEmail } from '../../store/types.ts';
import { realmKind } from '../../ops/metrics.ts';
import { sendPage } from '../../pages/layout.ts';
import { retryText, signInPage, type FlowView, type Notice } from '../../pages/login.ts';
import { PATHS } from '../../routing/reserved.ts';
import { sameSecret } from '../../util/security.ts';

export const PENDING_PASSWORD_MS = 5 * 60_000;

export const MESSAGES = Object.freeze({
  invalid: 'Email or password is incorrect.',
  missing: 'Enter your email and password.',
  badCode: 'That code is not correct or has expired. Enter the current 6-digit code from your authenticator app.',
  badRecovery: 'That recovery code is not correct or has already been used.',
  expired: 'Your sign-in took too long. Enter your email and password again.',
  locked: 'Too many failed attempts: this account is locked for now.',
});

export interface PendingPassword {
  readonly uid: string;
  readonly at: number;
}

/** Which step failed, for audit details (never the value typed). */
export type FailedStep = 'password' | 'totp' | 'enroll' | 'recovery';

/** Whose failure it is: an account, or an email without one. */
export type Subject = { readonly user: User } | { readonly unknownEmail: string };

export interface LocalSignIn {
  /** the flow of a form post with a matching CSRF token, or null after answering 403 */
  formFlow(request: FastifyRequest): FlowState;
  /** the pending password step of this flow, if still fresh */
  pending(flow: FlowState): PendingPassword | null;
  /** throws RATE_LIMITED (429, Retry-After) while this client IP is throttled (counted in the store: every replica sees it) */
  assertNotThrottled(request: FastifyRequest): Promise<void>;
  /** epoch ms until which the subject is locked, or null */
  lockedUntil(request: FastifyRequest, subject: Subject): Promise<number | null>;
  /** count a failure (IP, account or unknown email), audit it; returns the lock's end if now locked */
  fail(request: FastifyRequest, subject: Subject, step: FailedStep, reason: string): Promise<number | null>;
  /** the sign-in page with a notice, in the current flow (the pending step is dropped) */
  signInAgain(request: FastifyRequest, reply: FastifyReply, flow: FlowState, status: number, notice: Notice, email?: string): Promise<FastifyReply>;
  /** the lockout answer: the sign-in page saying when to retry */
  locked(request: FastifyRequest, reply: FastifyReply, flow: FlowState, until: number, email?: string): Promise<FastifyReply>;
  /** start the session, end the flow, audit; returns the validated target */
  finish(request: FastifyRequest, user: User, amr: readonly string[]): Promise<string>;
  /** the common parts of every step's page */
  view(request: FastifyRequest, flow: FlowState, notice?: Notice | null): FlowView;
}

export function field(request: FastifyRequest, name: string): string | null {
  const body = request.body;
  if (body === null || typeof body !== 'object') return null;
  const v = (body as Record<string, unknown>)[name];
  return typeof v === 'string' ? v : null;
}

const sameToken = sameSecret;

export function createLocalSignIn(core: Core): LocalSignIn {
  const { config, store, now, auditor, metrics } = core;
  const lockout = {
    maxFailures: config.auth.lockout.maxFailures,
    windowMs: config.auth.lockout.windowSeconds * 1000,
    lockMs: config.auth.lockout.lockSeconds * 1000,
  };
  // failures per client IP are counted in the store, like accounts: N replicas do not allow N times the guesses
  const ipPolicy = {
    maxFailures: config.auth.ipThrottle.maxFailures,
    windowMs: config.auth.ipThrottle.windowSeconds * 1000,
    lockMs: config.auth.ipThrottle.windowSeconds * 1000,
  };
  const ipKey = (request: FastifyRequest) => `ip:${request.ip}`;
  // emails without an account are counted in the store like accounts are, so that lockout looks
  // the same for every email on every replica (no account enumeration across replicas)
  const emailKey = (request: FastifyRequest, email: string) => `signin:${request.site.realm}:${normalizeEmail(email)}`;

  const self: LocalSignIn = {
    formFlow(request) {
      const flow = core.sessions.flow(request);
      if (flow !== null && sameToken(flow.csrf, field(request, 'csrf'))) return flow;
      throw new GatewayError('CSRF', undefined, {
        presentation: { html: true, next: { href: `${PATHS.login}?rd=${encodeURIComponent(flow?.rd ?? '/')}`, label: 'Sign in again' } },
      });
    },

    pending(flow) {
      const p = flow.pwd as Partial<PendingPassword> | null | undefined;
      if (!p || typeof p.uid !== 'string' || typeof p.at !== 'number') return null;
      const age = now() - p.at;
      return age >= 0 && age < PENDING_PASSWORD_MS ? { uid: p.uid, at: p.at } : null;
    },

    async assertNotThrottled(request) {
      const t = now();
      const until = await store.keyedLockedUntil(ipKey(request), t);
      if (until === null) return;
      metrics.signIns.inc({ realm: realmKind(request.site.realm), method: 'password', outcome: 'throttled' });
      throw new GatewayError('RATE_LIMITED', `Too many failed sign-in attempts from your network. ${retryText(until, t)}`, {
        presentation: { html: true, headers: { 'retry-after': String(Math.ceil((until - t) / 1000)) } },
      });
    },

    async lockedUntil(request, subject) {
      const t = now();
      if ('user' in subject) return subject.user.lockedUntil !== null && subject.user.lockedUntil > t ? subject.user.lockedUntil : null;
      return store.keyedLockedUntil(emailKey(request, subject.unknownEmail), t);
    },

    async fail(request, subject, step, reason) {
      const t = now();
      const realm = request.site.realm;
      await store.recordKeyedFailure(ipKey(request), t, ipPolicy);
      const user = 'user' in subject ? subject.user : null;
      const until =
        'user' in subject
          ? (await store.recordFailure(realm, subject.user.id, t, lockout)).lockedUntil
          : (await store.recordKeyedFailure(emailKey(request, subject.unknownEmail), t, lockout)).lockedUntil;
      metrics.signIns.inc({ realm: realmKind(realm), method: 'password', outcome: 'failure' });
      await auditor.record({
        type: 'signin.failure',
        outcome: 'failure',
        realm,
        userId: user?.id ?? null,
        actor: null,
        ip: request.ip,
        details: { method: 'password', step, reason },
      });
      if (until === null) return null;
      metrics.lockouts.inc({ realm: realmKind(realm) });
      await auditor.record({
        type: 'lockout',
        outcome: 'info',
        realm,
        userId: user?.id ?? null,
        actor: null,
        ip: request.ip,
        details: { step, until, unknownAccount: user === null },
      });
      return until;
    },

    async signInAgain(request, reply, flow, status, notice, email) {
      const policy = await core.policy.forSite(request.site);
      if (flow.pwd) core.sessions.updateFlow(request, { pwd: null });
      return sendPage(reply, status, signInPage({ ...self.view(request, flow, notice), password: policy.password, sso: policy.sso, email }));
    },

    locked(request, reply, flow, until, email) {
      const t = now();
      metrics.signIns.inc({ realm: realmKind(request.site.realm), method: 'password', outcome: 'locked' });
      reply.header('retry-after', String(Math.ceil((until - t) / 1000)));
      return self.signInAgain(request, reply, flow, 429, { kind: 'error', text: `${MESSAGES.locked} ${retryText(until, t)}` }, email);
    },

    async finish(request, user, amr) {
      const t = now();
      const flow = core.sessions.flow(request);
      const rd = flow?.rd ?? '/';
      const site = request.site;
      const data: NewSession = {
        uid: user.id,
        email: user.email,
        name: user.displayName,
        role: site.kind === 'staff' ? user.role : null,
        client: site.clientId,
        amr: [...amr],
        authTime: Math.floor(t / 1000),
        idp: null,
      };
      // store writes first: a store error must not leave a session behind its 503 page
      if (user.failedCount > 0 || user.lockedUntil !== null) await store.clearFailures(user.realm, user.id);
      const session = core.sessions.start(request, data);
      core.sessions.endFlow(request);
      metrics.signIns.inc({ realm: realmKind(site.realm), method: 'password', outcome: 'success' });
      await auditor.record({
        type: 'signin',
        outcome: 'success',
        realm: site.realm,
        userId: user.id,
        actor: user.id,
        ip: request.ip,
        details: { method: 'password', amr: session.amr, sid: session.sid },
      });
      return rd;
    },

    view(request, flow, notice = null) {
      return { siteName: request.site.name, csrf: flow.csrf, rd: flow.rd, notice };
    },
  };
  return Object.freeze(self);
}
