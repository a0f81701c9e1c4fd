/**
 * Email + password sign-in (local accounts), the first step of the local flow:
 *
 *   GET  /.auth/login?rd=…   signed in already → 303 to rd; else a new flow and the
 *                            sign-in page for the site's policy (password form and/or
 *                            "Sign in with Microsoft")
 *   POST /.auth/login        email, password, csrf → 303 to the TOTP step (or to
 *                            enrolment), or straight to rd where the portal's MFA
 *                            policy is off (amr ["pwd"])
 *
 * The second steps (TOTP, enrolment, recovery code) are in ../totp/routes.ts.
 * Unknown email, wrong password and a disabled account (right password or not) get the
 * same page, after the same scrypt work, and count towards the same lockout.
 * Registered by app.ts inside the /.auth context, where forms are parsed.
 */
import type { Core } from '../../core.ts';
import type { FastifyInstance } from 'fastify';
import { PATHS } from '../../routing/reserved.ts';
import { safeRedirectTarget } from '../../routing/redirect.ts';
import { StoreError } from '../../store/types.ts';
import { replyError } from '../../pages/errors.ts';
import { sendPage } from '../../pages/layout.ts';
import { passwordOffPage, signInPage } from '../../pages/login.ts';
import { hasTotp } from '../totp/enrolment.ts';
import { totpRoutes } from '../totp/routes.ts';
import { PasswordHashBusyError, verifyPassword } from './hash.ts';
import { createLocalSignIn, field, MESSAGES, type Subject } from './signin.ts';
import { setupRoutes } from './setup-routes.ts';
import { personalPages } from '../personal-pages.ts';

const MAX_EMAIL_LENGTH = 254;

export async function passwordRoutes(app: FastifyInstance, { core }: { readonly core: Core }): Promise<void> {
  const { store, now, policy } = core;
  const local = createLocalSignIn(core);

  // sign-in pages are never cached and never served on the central callback host
  app.addHook('onRequest', personalPages);

  // a store outage is a clear 503 page; too many waiting password checks a 429; anything else is the app's 500 (fail closed)
  app.setErrorHandler((err, request, reply) => {
    if (err instanceof StoreError && err.code === 'UNAVAILABLE') {
      request.log.warn({ err: { message: err.message, code: err.code } }, 'sign-in: store unavailable');
      return replyError(request, reply, 'STORE_UNAVAILABLE', { html: true, headers: { 'retry-after': '5' } });
    }
    if (err instanceof PasswordHashBusyError) return replyError(request, reply, 'RATE_LIMITED', { html: true, headers: { 'retry-after': '5' } });
    throw err;
  });

  app.get(PATHS.login, async (request, reply) => {
    const rd = safeRedirectTarget((request.query as { rd?: unknown }).rd);
    if (await core.sessions.current(request)) return reply.code(303).redirect(rd);
    const flow = core.sessions.startFlow(request, rd);
    const p = await policy.forSite(request.site);
    return sendPage(reply, 200, signInPage({ ...local.view(request, flow), password: p.password, sso: p.sso }));
  });

  app.post(PATHS.login, async (request, reply) => {
    await local.assertNotThrottled(request);
    const flow = local.formFlow(request);
    const p = await policy.forSite(request.site);
    if (!p.password) return sendPage(reply, 403, passwordOffPage({ siteName: request.site.name, rd: flow.rd, sso: p.sso }));

    const email = (field(request, 'email') ?? '').trim();
    const password = field(request, 'password') ?? '';
    if (email === '' || password === '' || email.length > MAX_EMAIL_LENGTH) {
      return local.signInAgain(request, reply, flow, 400, { kind: 'error', text: MESSAGES.missing }, email.slice(0, MAX_EMAIL_LENGTH));
    }

    // the same work whether or not the account exists: one lookup, one scrypt
    const found = await store.getUserByEmail(request.site.realm, email);
    const ok = await verifyPassword(password, found?.passwordHash ?? null);
    // a right password is judged on the account as it is now, not as it was before the hash:
    // guesses checked meanwhile (here or on another replica) may have locked it. A disabled
    // account is not re-read: it takes the wrong password's path below
    const accepted = ok && found !== null && found.status === 'active';
    const user = accepted ? await store.getUser(found.realm, found.id) : found;
    const subject: Subject = user ? { user } : { unknownEmail: email };
    const lockedUntil = await local.lockedUntil(request, subject);
    if (lockedUntil !== null) return local.locked(request, reply, flow, lockedUntil, email);
    if (!ok || user === null || user.status !== 'active') {
      // a disabled account answers exactly as a wrong password does (page, status, counting and
      // lockout), right password or not: the answer must not confirm a password. The audit log
      // keeps the real reason
      const reason = user === null ? 'unknown_email' : user.status !== 'active' ? (ok ? 'disabled' : 'disabled_wrong_password') : 'wrong_password';
      const until = await local.fail(request, subject, 'password', reason);
      if (until !== null) return local.locked(request, reply, flow, until, email);
      return local.signInAgain(request, reply, flow, 401, { kind: 'error', text: MESSAGES.invalid }, email);
    }

    core.sessions.updateFlow(request, { pwd: { uid: user.id, at: now() } });
    return reply.code(303).redirect(hasTotp(user) ? PATHS.loginTotp : PATHS.loginEnroll);
  });

  setupRoutes(app, core, local);
  await app.register(totpRoutes, { core, local });
}
