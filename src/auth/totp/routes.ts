/**
 * The second step of a local sign-in, after a correct password (the flow's pending
 * `pwd` step, good for 5 minutes):
 *
 *   GET/POST /.auth/login/totp      a 6-digit code from the authenticator app → amr ["pwd","otp"]
 *   GET/POST /.auth/login/enroll    first sign-in: QR code + key, then a first code turns TOTP on;
 *                                   the answer shows the 10 recovery codes once → amr ["pwd","otp"]
 *   GET/POST /.auth/login/recovery  one recovery code instead of a TOTP code → amr ["pwd","otp","rcv"]
 *
 * A recovery code is a one-time password the user holds ("otp", RFC 8176) and "rcv"
 * tells upstreams it was a recovery sign-in (they may ask the user to set up a new
 * authenticator). Every wrong code counts towards the account's lockout and the IP throttle.
 */
import type { Core } from '../../core.ts';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { FlowState } from '../../session/plugin.ts';
import type { User } from '../../store/types.ts';
import { PATHS } from '../../routing/reserved.ts';
import { sendPage } from '../../pages/layout.ts';
import { enrolPage, recoveryCodesPage, recoveryPage, totpPage } from '../../pages/login.ts';
import { field, MESSAGES, type FailedStep, type LocalSignIn } from '../password/signin.ts';
import { completeTotpEnrolment, consumeRecoveryCode, hasTotp, openTotpSecret, pendingTotpSecret } from './enrolment.ts';
import { matchTotpStep, qrDataUri, totpUri } from './totp.ts';

export interface TotpRoutesOptions {
  readonly core: Core;
  readonly local: LocalSignIn;
}

type Step = 'totp' | 'enroll' | 'recovery';

const STEP_PATH: Readonly<Record<Step, string>> = Object.freeze({ totp: PATHS.loginTotp, enroll: PATHS.loginEnroll, recovery: PATHS.loginRecovery });

// eslint-disable-next-line @typescript-eslint/require-await -- a Fastify plugin: async so avvio awaits it without a done callback
export async function totpRoutes(app: FastifyInstance, opts: TotpRoutesOptions): Promise<void> {
  const { core, local } = opts;
  const { store, now, secretBox } = core;

  /**
   * The user of the flow's pending password step, when it may take `step` now; otherwise
   * answers (sign in again, locked, or the step this user needs) and returns null.
   */
  async function stepUser(request: FastifyRequest, reply: FastifyReply, flow: FlowState, step: Step): Promise<User | null> {
    const pending = local.pending(flow);
    const user = pending === null ? null : await store.getUser(request.site.realm, pending.uid);
    if (user === null || user.status !== 'active') {
      await local.signInAgain(request, reply, flow, request.method === 'GET' ? 200 : 401, { kind: 'warn', text: MESSAGES.expired });
      return null;
    }
    const until = await local.lockedUntil(request, { user });
    if (until !== null) {
      await local.locked(request, reply, flow, until);
      return null;
    }
    const needed: Step = hasTotp(user) ? (step === 'enroll' ? 'totp' : step) : 'enroll';
    if (needed !== step) {
      reply.code(303).redirect(STEP_PATH[needed]);
      return null;
    }
    return user;
  }

  /** GET: the flow (no CSRF check) or a fresh start at the sign-in page. */
  function getFlow(request: FastifyRequest, reply: FastifyReply): FlowState | null {
    const flow = core.sessions.flow(request);
    if (flow === null) reply.code(303).redirect(PATHS.login);
    return flow;
  }

  /** POST: throttle, CSRF, then the pending user. */
  async function postUser(request: FastifyRequest, reply: FastifyReply, step: Step): Promise<{ flow: FlowState; user: User } | null> {
    if (await local.throttled(request, reply)) return null;
    const flow = local.formFlow(request, reply);
    if (flow === null) return null;
    const user = await stepUser(request, reply, flow, step);
    return user === null ? null : { flow, user };
  }

  /**
   * Count a wrong code. True when that locked the account and the lockout page was sent;
   * false: the caller shows the step again. (A boolean, not the reply: awaiting a
   * FastifyReply resolves to undefined, because a reply is thenable.)
   */
  async function lockedByWrongCode(
    request: FastifyRequest,
    reply: FastifyReply,
    flow: FlowState,
    user: User,
    step: FailedStep,
    reason: string,
  ): Promise<boolean> {
    const until = await local.fail(request, { user }, step, reason);
    if (until === null) return false;
    await local.locked(request, reply, flow, until);
    return true;
  }

  /**
   * After a right code: the account as it is now, or null after answering the lockout page.
   * The lock was checked before the code; wrong guesses checked meanwhile (concurrently,
   * here or on another replica) may have locked the account since.
   */
  async function unlockedNow(request: FastifyRequest, reply: FastifyReply, flow: FlowState, user: User): Promise<User | null> {
    const current = (await store.getUser(user.realm, user.id)) ?? user;
    const until = await local.lockedUntil(request, { user: current });
    if (until === null) return current;
    await local.locked(request, reply, flow, until);
    return null;
  }

  /** Claim the time step `code` matches (once, on any replica); otherwise why not. */
  async function acceptCode(user: User, secret: string, code: string | null): Promise<'ok' | 'bad_code' | 'replayed'> {
    const step = await matchTotpStep(secret, code, now(), user.totpLastStep);
    if (step === null) return 'bad_code';
    return (await store.acceptTotpStep(user.realm, user.id, step)) ? 'ok' : 'replayed';
  }

  async function enrolView(request: FastifyRequest, flow: FlowState, user: User, secret: string, error: boolean) {
    const issuer = `Regentra ${request.site.name}`;
    return enrolPage({
      ...local.view(request, flow, error ? { kind: 'error', text: MESSAGES.badCode } : null),
      qrDataUri: await qrDataUri(totpUri(secret, issuer, user.email)),
      secret,
      account: user.email,
    });
  }

  app.get(PATHS.loginTotp, async (request, reply) => {
    const flow = getFlow(request, reply);
    if (flow === null || (await stepUser(request, reply, flow, 'totp')) === null) return reply;
    return sendPage(reply, 200, totpPage(local.view(request, flow)));
  });

  app.post(PATHS.loginTotp, async (request, reply) => {
    const s = await postUser(request, reply, 'totp');
    if (s === null) return reply;
    const secret = openTotpSecret(secretBox, s.user) as string;
    const result = await acceptCode(s.user, secret, field(request, 'code'));
    if (result === 'ok') {
      const user = await unlockedNow(request, reply, s.flow, s.user);
      return user === null ? reply : reply.code(303).redirect(await local.finish(request, user, ['pwd', 'otp']));
    }
    if (await lockedByWrongCode(request, reply, s.flow, s.user, 'totp', result)) return reply;
    return sendPage(reply, 401, totpPage(local.view(request, s.flow, { kind: 'error', text: MESSAGES.badCode })));
  });

  app.get(PATHS.loginEnroll, async (request, reply) => {
    const flow = getFlow(request, reply);
    const user = flow === null ? null : await stepUser(request, reply, flow, 'enroll');
    if (flow === null || user === null) return reply;
    const secret = await pendingTotpSecret(store, secretBox, user);
    return sendPage(reply, 200, await enrolView(request, flow, user, secret, false));
  });

  app.post(PATHS.loginEnroll, async (request, reply) => {
    const s = await postUser(request, reply, 'enroll');
    if (s === null) return reply;
    const secret = openTotpSecret(secretBox, s.user);
    // eslint-disable-next-line security/detect-possible-timing-attacks -- a null check of an optional value, not a comparison of secret contents
    if (secret === null) return reply.code(303).redirect(PATHS.loginEnroll);
    const result = await acceptCode(s.user, secret, field(request, 'code'));
    if (result === 'ok') {
      if ((await unlockedNow(request, reply, s.flow, s.user)) === null) return reply;
      const codes = await completeTotpEnrolment(store, s.user, now());
      await core.auditor.record({
        type: 'mfa.enroll',
        outcome: 'success',
        realm: s.user.realm,
        userId: s.user.id,
        actor: s.user.id,
        ip: request.ip,
        details: { method: 'totp' },
      });
      const rd = await local.finish(request, s.user, ['pwd', 'otp']);
      return sendPage(reply, 200, recoveryCodesPage({ siteName: request.site.name, rd, codes }));
    }
    if (await lockedByWrongCode(request, reply, s.flow, s.user, 'enroll', result)) return reply;
    return sendPage(reply, 401, await enrolView(request, s.flow, s.user, secret, true));
  });

  app.get(PATHS.loginRecovery, async (request, reply) => {
    const flow = getFlow(request, reply);
    if (flow === null || (await stepUser(request, reply, flow, 'recovery')) === null) return reply;
    return sendPage(reply, 200, recoveryPage(local.view(request, flow)));
  });

  app.post(PATHS.loginRecovery, async (request, reply) => {
    const s = await postUser(request, reply, 'recovery');
    if (s === null) return reply;
    if (await consumeRecoveryCode(store, s.user.id, field(request, 'code'))) {
      const user = await unlockedNow(request, reply, s.flow, s.user);
      return user === null ? reply : reply.code(303).redirect(await local.finish(request, user, ['pwd', 'otp', 'rcv']));
    }
    if (await lockedByWrongCode(request, reply, s.flow, s.user, 'recovery', 'bad_recovery_code')) return reply;
    return sendPage(reply, 401, recoveryPage(local.view(request, s.flow, { kind: 'error', text: MESSAGES.badRecovery })));
  });
}
