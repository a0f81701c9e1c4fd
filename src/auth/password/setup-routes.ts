/**
 * The page a one-time set-up link opens (./setup-link.ts has the link's rules):
 *
 *   GET  /.auth/setup?token=…   the account's email and a new-password form (changes nothing)
 *   POST /.auth/setup           token, password, confirm, csrf → the link is used up, the
 *                               password set (policy-checked first, so a refused password does
 *                               not burn the link), and the sign-in goes on where the site's
 *                               MFA policy wants it: the authenticator set-up (../totp/routes.ts)
 *                               or, with an authenticator already on, its code
 *
 * A bad, expired, used or replaced link gets a page saying so and what to do (ask the
 * admin for a new link). The token is never echoed into a URL the gateway builds.
 */
import { GatewayError } from '../../errors.ts';
import type { Core } from '../../core.ts';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { PATHS } from '../../routing/reserved.ts';
import { sendPage } from '../../pages/layout.ts';
import { html } from '../../pages/html.ts';
import { hasTotp } from '../totp/enrolment.ts';
import { checkSetupLink, consumeSetupLink, type LinkProblem } from './setup-link.ts';
import { field, type LocalSignIn } from './signin.ts';
import { passwordProblem } from './policy.ts';
import { setPassword } from './users.ts';
import type { User } from '../../store/types.ts';

const PROBLEMS: Readonly<Record<LinkProblem, { title: string; text: string }>> = Object.freeze({
  invalid: {
    title: 'This link does not work',
    text: 'The set-up link is not valid on this site. Check that you opened the whole link, on the site it was made for.',
  },
  expired: { title: 'This link has expired', text: 'Set-up links work for 72 hours.' },
  used: { title: 'This link was already used', text: 'Each set-up link works once. If you set your password with it, sign in with that password.' },
  replaced: { title: 'This link was replaced', text: 'A newer set-up link was made for your account; only the newest one works.' },
  disabled: { title: 'This account is disabled', text: 'The account this link is for is disabled.' },
});

export function setupRoutes(app: FastifyInstance, core: Core, local: LocalSignIn): void {
  const { store, now, config, policy, auditor } = core;

  function problemPage(request: FastifyRequest, reply: FastifyReply, problem: LinkProblem): FastifyReply {
    const p = PROBLEMS[problem];
    return sendPage(reply, problem === 'invalid' ? 404 : 410, {
      title: p.title,
      siteName: request.site.name,
      body: html`<h1>${p.title}</h1>
<p class="lead">${p.text}</p>
<div class="alert warn" role="status">Ask your administrator for a new set-up link.</div>
<a class="btn secondary" href="${PATHS.login}">Go to sign-in</a>`,
    });
  }

  function form(request: FastifyRequest, reply: FastifyReply, status: number, user: User, token: string, csrf: string, error: string | null): FastifyReply {
    const minLength = config.auth.password.minLength;
    return sendPage(reply, status, {
      title: 'Set up your account',
      siteName: request.site.name,
      body: html`<h1>Set up your account</h1>
<p class="lead">Choose a password for <strong>${user.email}</strong> on ${request.site.name}.</p>
${error ? html`<div class="alert error" role="alert" id="password-error">${error}</div>` : ''}
<form method="post" action="${PATHS.setup}">
<input type="hidden" name="csrf" value="${csrf}">
<input type="hidden" name="token" value="${token}">
<input type="text" name="username" value="${user.email}" autocomplete="username" hidden>
<label for="password">New password <span class="hint">(at least ${String(minLength)} characters; a few unrelated words work well)</span></label>
<input id="password" name="password" type="password" autocomplete="new-password" required minlength="${String(minLength)}" maxlength="1024" autofocus${error ? html` aria-invalid="true" aria-describedby="password-error"` : ''}>
<label for="confirm">Repeat the password</label>
<input id="confirm" name="confirm" type="password" autocomplete="new-password" required maxlength="1024">
<button class="btn" type="submit">Set password and continue</button>
</form>
<p class="hint">Next you set up an authenticator app if ${request.site.name} asks for one.</p>`,
    });
  }

  /** Set-up links set a password: refused (409) where this site accepts Microsoft sign-in only. */
  async function assertPasswordAllowed(request: FastifyRequest): Promise<void> {
    if ((await policy.forSite(request.site)).password) return;
    throw new GatewayError('PASSWORD_OFF', undefined, { presentation: { html: true, next: { href: PATHS.login, label: 'Go to sign-in' } } });
  }

  app.get(PATHS.setup, async (request, reply) => {
    const token = (request.query as { token?: unknown }).token;
    const check = await checkSetupLink(store, request.site.realm, token, now());
    if (!check.ok) return problemPage(request, reply, check.problem);
    await assertPasswordAllowed(request);
    const flow = core.sessions.startFlow(request, '/');
    return form(request, reply, 200, check.user, token as string, flow.csrf, null);
  });

  app.post(PATHS.setup, async (request, reply) => {
    await local.assertNotThrottled(request);
    const flow = local.formFlow(request);
    const token = field(request, 'token');
    const check = await checkSetupLink(store, request.site.realm, token, now());
    if (!check.ok) return problemPage(request, reply, check.problem);
    await assertPasswordAllowed(request);
    const password = field(request, 'password') ?? '';
    const problem =
      password !== (field(request, 'confirm') ?? '')
        ? 'The two passwords are not the same.'
        : passwordProblem(password, { minLength: config.auth.password.minLength, email: check.user.email });
    if (problem !== null) return form(request, reply, 400, check.user, token as string, flow.csrf, problem);
    if (!(await consumeSetupLink(store, check))) return problemPage(request, reply, 'used');
    const user = await setPassword(store, check.user, password, { minLength: config.auth.password.minLength, actor: check.user.id, now });
    core.revocation.forget(user.realm, user.id);
    await auditor.record({
      type: 'user.setup',
      outcome: 'success',
      realm: user.realm,
      userId: user.id,
      actor: user.id,
      ip: request.ip,
      details: { step: 'password' },
    });
    core.sessions.updateFlow(request, { pwd: { uid: user.id, at: now() } });
    return reply.code(303).redirect(hasTotp(user) ? PATHS.loginTotp : PATHS.loginEnroll);
  });
}
