/**
 * /.auth/account: a signed-in person's own account, on the staff host and on portal
 * hosts (never on the central callback host).
 *
 *   GET  /.auth/account                           the page (what applies to this account)
 *   POST /.auth/account/password                  current password (+ a code when TOTP is on), new one twice
 *   POST /.auth/account/authenticator             a code from the current app → a new secret (kept sealed
 *                                                 in the flow cookie) and its QR code
 *   POST /.auth/account/authenticator/confirm     a code from the new app → it replaces the old one, new
 *                                                 recovery codes shown once
 *   POST /.auth/account/recovery-codes            a code → new recovery codes shown once
 *   POST /.auth/account/sessions                  sign out every other session (per-session revocation)
 *
 * A wrong password or code counts towards the account's lockout and the IP throttle,
 * as at sign-in. A change that ends the account's sessions (password, authenticator)
 * re-issues the session in use, so the person stays signed in here.
 */
import { CodedError, GatewayError } from '../errors.ts';
import type { Core } from '../core.ts';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { PATHS } from '../routing/reserved.ts';
import type { SessionData } from '../session/types.ts';
import type { User } from '../store/types.ts';
import { replyError } from '../pages/errors.ts';
import { sendPage } from '../pages/layout.ts';
import type { Notice } from '../pages/admin.ts';
import { csrfToken, csrfValid, csrfError } from '../admin/access.ts';
import { formBody } from '../admin/forms.ts';
import { createLocalSignIn } from '../auth/password/signin.ts';
import { verifyPassword } from '../auth/password/hash.ts';
import { passwordProblem } from '../auth/password/policy.ts';
import { regenerateRecoveryCodes, replaceAuthenticator, setPassword } from '../auth/password/users.ts';
import { hasTotp, openTotpSecret } from '../auth/totp/enrolment.ts';
import { matchTotpStep, newTotpSecret, qrDataUri, totpUri } from '../auth/totp/totp.ts';
import { retryText } from '../pages/login.ts';
import { TOUCH_MS } from '../session/registry.ts';
import { ACCOUNT_PATHS, accountPage, codesPage, newAuthenticatorPage } from './view.ts';
import { personalPages } from '../auth/personal-pages.ts';

const DONE: Readonly<Record<string, Notice>> = Object.freeze({
  password: { kind: 'ok', text: 'Your password is changed. Your other sessions end within seconds.' },
  'signed-out': { kind: 'ok', text: 'Your other sessions are signed out.' },
});

const NEW_SECRET = 'accountNewTotp';

interface Me {
  readonly session: SessionData;
  readonly user: User;
}

/** A change on the account page while the account is locked: shown on the account page itself (429). */
class AccountLocked extends CodedError<'ACCOUNT_LOCKED'> {
  readonly me: Me;
  readonly until: number;
  constructor(me: Me, until: number) {
    super('AccountLocked', 'ACCOUNT_LOCKED', 'the account is locked');
    this.me = me;
    this.until = until;
  }
}

// eslint-disable-next-line @typescript-eslint/require-await -- a Fastify plugin: async so avvio awaits it without a done callback
export async function accountRoutes(app: FastifyInstance, { core }: { readonly core: Core }): Promise<void> {
  const { store, now, config, secretBox, revocation, sessionRegistry, auditor, policy } = core;
  const local = createLocalSignIn(core);
  const minLength = config.auth.password.minLength;
  const newSecretAad = (me: Me) => `account-new-totp:${me.user.realm}:${me.user.id}:${me.session.sid}`;

  app.addHook('onRequest', personalPages);

  /** The signed-in person (active), or null after answering (sign-in for browsers, 401 otherwise). */
  // this plugin's own answer to a locked account (its page, with the notice); anything else
  // goes on to the app's error handler
  app.setErrorHandler(async (err, request, reply) => {
    if (!(err instanceof AccountLocked)) throw err;
    return render(request, reply, err.me, 429, {
      kind: 'error',
      text: `Too many failed attempts: this account is locked for now. ${retryText(err.until, now())}`,
    });
  });

  /** The signed-in person; otherwise to the sign-in page (a browser's page request) or 401. */
  async function me(request: FastifyRequest): Promise<Me> {
    const session = await core.sessions.current(request);
    const user = session ? await store.getUser(session.realm, session.uid) : null;
    if (session && user && user.status === 'active') return { session, user };
    throw new GatewayError('UNAUTHENTICATED', undefined, {
      presentation: { html: request.method === 'POST', redirectPage: `${PATHS.login}?rd=${encodeURIComponent(PATHS.account)}` },
    });
  }

  async function usesPassword(user: User, request: FastifyRequest): Promise<boolean> {
    return user.passwordHash !== null && (await policy.forSite(request.site)).password;
  }

  async function render(request: FastifyRequest, reply: FastifyReply, m: Me, status: number, notice: Notice | null): Promise<FastifyReply> {
    const t = now();
    const idleMs = config.session.idleTimeoutSeconds * 1000;
    const sessions = (await store.listSessions(m.user.realm, m.user.id, t)).filter(
      (s) => s.sid === m.session.sid || (s.createdAt >= m.user.sessionsValidAfter && t - s.lastSeen < idleMs + TOUCH_MS),
    );
    return sendPage(
      reply,
      status,
      accountPage({
        siteName: request.site.name,
        csrf: csrfToken(core, request),
        email: m.user.email,
        name: m.user.displayName,
        viaMicrosoft: m.session.amr.includes('sso'),
        password: await usesPassword(m.user, request),
        totp: hasTotp(m.user),
        minLength,
        recoveryLeft: hasTotp(m.user) ? await store.countRecoveryCodes(m.user.id) : 0,
        sessions,
        currentSid: m.session.sid,
        notice,
      }),
    );
  }

  /** The person for a form post with a valid CSRF token, unless locked or throttled (then answered). */
  async function formMe(request: FastifyRequest): Promise<{ m: Me; body: Record<string, unknown> }> {
    const m = await me(request);
    const body = formBody(request);
    if (!csrfValid(core, request, body.csrf)) throw csrfError(request);
    await local.assertNotThrottled(request);
    const until = await local.lockedUntil(request, { user: m.user });
    if (until !== null) throw new AccountLocked(m, until);
    return { m, body };
  }

  /** Is `code` the current code of the account's authenticator (accepted once)? A wrong one is counted. */
  async function currentCode(request: FastifyRequest, m: Me, code: unknown): Promise<boolean> {
    const secret = openTotpSecret(secretBox, m.user);
    const step = secret === null ? null : await matchTotpStep(secret, code, now(), m.user.totpLastStep);
    if (step !== null && (await store.acceptTotpStep(m.user.realm, m.user.id, step))) return true;
    await local.fail(request, { user: m.user }, 'totp', 'account_page_bad_code');
    return false;
  }

  /** After a change that ended the account's sessions: a fresh session for this browser. */
  function reissue(request: FastifyRequest, m: Me): void {
    const s = m.session;
    sessionRegistry.ended(s.sid);
    revocation.forget(s.realm, s.uid);
    core.sessions.start(request, { uid: s.uid, email: s.email, name: s.name, role: s.role, client: s.client, amr: s.amr, authTime: s.authTime, idp: s.idp });
  }

  const text = (body: Record<string, unknown>, name: string): string => (typeof body[name] === 'string' ? body[name] : '');

  app.get(ACCOUNT_PATHS.home, async (request, reply) => {
    const m = await me(request);
    const done = (request.query as { done?: unknown }).done;
    return render(request, reply, m, 200, typeof done === 'string' && Object.hasOwn(DONE, done) ? (DONE[done] as Notice) : null);
  });

  app.post(ACCOUNT_PATHS.password, async (request, reply) => {
    const f = await formMe(request);
    const { m, body } = f;
    if (!(await usesPassword(m.user, request))) return render(request, reply, m, 409, { kind: 'error', text: 'Your account has no password to change here.' });
    if (!(await verifyPassword(text(body, 'current'), m.user.passwordHash))) {
      await local.fail(request, { user: m.user }, 'password', 'account_page_wrong_password');
      return render(request, reply, m, 401, { kind: 'error', text: 'Your current password is not correct.' });
    }
    if (hasTotp(m.user) && !(await currentCode(request, m, body.code)))
      return render(request, reply, m, 401, { kind: 'error', text: 'That code is not correct or has expired.' });
    const password = text(body, 'password');
    const problem =
      password !== text(body, 'confirm') ? 'The two new passwords are not the same.' : passwordProblem(password, { minLength, email: m.user.email });
    if (problem !== null) return render(request, reply, m, 400, { kind: 'error', text: problem });
    await setPassword(store, m.user, password, { minLength, actor: m.user.id, now });
    reissue(request, m);
    return reply.code(303).redirect(`${ACCOUNT_PATHS.home}?done=password`);
  });

  app.post(ACCOUNT_PATHS.authenticator, async (request, reply) => {
    const f = await formMe(request);
    const { m, body } = f;
    if (!(await usesPassword(m.user, request)) || !hasTotp(m.user))
      return render(request, reply, m, 409, { kind: 'error', text: 'Your account has no authenticator to replace.' });
    if (!(await currentCode(request, m, body.code))) return render(request, reply, m, 401, { kind: 'error', text: 'That code is not correct or has expired.' });
    const secret = newTotpSecret();
    core.sessions.updateFlow(request, { [NEW_SECRET]: secretBox.seal(secret, newSecretAad(m)) });
    return sendPage(
      reply,
      200,
      newAuthenticatorPage({
        siteName: request.site.name,
        csrf: csrfToken(core, request),
        secret,
        account: m.user.email,
        error: false,
        qrDataUri: await qrDataUri(totpUri(secret, `Regentra ${request.site.name}`, m.user.email)),
      }),
    );
  });

  app.post(ACCOUNT_PATHS.authenticatorConfirm, async (request, reply) => {
    const f = await formMe(request);
    const { m, body } = f;
    const sealed = core.sessions.flow(request)?.[NEW_SECRET];
    let secret: string | null;
    try {
      secret = typeof sealed === 'string' ? secretBox.open(sealed, newSecretAad(m)) : null;
    } catch {
      secret = null;
    }
    // eslint-disable-next-line security/detect-possible-timing-attacks -- a null check of an optional value, not a comparison of secret contents
    if (secret === null) return render(request, reply, m, 409, { kind: 'warn', text: 'The new authenticator set-up expired. Start again.' });
    const step = await matchTotpStep(secret, body.code, now(), null);
    if (step === null) {
      await local.fail(request, { user: m.user }, 'enroll', 'account_page_bad_code');
      return sendPage(
        reply,
        401,
        newAuthenticatorPage({
          siteName: request.site.name,
          csrf: csrfToken(core, request),
          secret,
          account: m.user.email,
          error: true,
          qrDataUri: await qrDataUri(totpUri(secret, `Regentra ${request.site.name}`, m.user.email)),
        }),
      );
    }
    const { recoveryCodes } = await replaceAuthenticator(store, secretBox, m.user, secret, { actor: m.user.id, now });
    await store.acceptTotpStep(m.user.realm, m.user.id, step); // the code that proved the new app is used up
    core.sessions.updateFlow(request, { [NEW_SECRET]: null });
    reissue(request, m);
    return sendPage(reply, 200, codesPage({ siteName: request.site.name, codes: recoveryCodes, title: 'Your new authenticator is on' }));
  });

  app.post(ACCOUNT_PATHS.recoveryCodes, async (request, reply) => {
    const f = await formMe(request);
    const { m, body } = f;
    if (!hasTotp(m.user))
      return render(request, reply, m, 409, { kind: 'error', text: 'Recovery codes come with two-step verification, which is not set up.' });
    if (!(await currentCode(request, m, body.code))) return render(request, reply, m, 401, { kind: 'error', text: 'That code is not correct or has expired.' });
    const codes = await regenerateRecoveryCodes(store, m.user, { actor: m.user.id, now });
    return sendPage(reply, 200, codesPage({ siteName: request.site.name, codes, title: 'Your new recovery codes' }));
  });

  app.post(ACCOUNT_PATHS.sessions, async (request, reply) => {
    const f = await formMe(request);
    const { m, body } = f;
    if (body.action !== 'sign-out-others') return replyError(request, reply, 'BAD_REQUEST', { html: true, detail: 'Unknown action.' });
    const t = now();
    const others = (await store.listSessions(m.user.realm, m.user.id, t)).filter((s) => s.sid !== m.session.sid);
    for (const s of others) {
      // the per-session revocation of a sign-out: the sid is refused on every replica
      await revocation.revokeSession({ ...m.session, sid: s.sid, iat: s.createdAt, seen: s.lastSeen }, t);
      await store.deleteSession(s.sid);
    }
    await auditor.record({
      type: 'signout.others',
      outcome: 'success',
      realm: m.user.realm,
      userId: m.user.id,
      actor: m.user.id,
      ip: request.ip,
      details: { count: others.length, sid: m.session.sid },
    });
    return reply.code(303).redirect(`${ACCOUNT_PATHS.home}?done=signed-out`);
  });
}
