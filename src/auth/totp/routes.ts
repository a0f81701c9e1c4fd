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
import { CodedError } from '../../errors.ts';
import type { Core } from '../../core.ts';
import type { FastifyInstance, FastifyRequest } from 'fastify';
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

/** Why a sign-in step cannot be taken now (answered by totpRoutes' error handler). */
class StepRefused extends CodedError<'FLOW_EXPIRED' | 'ACCOUNT_LOCKED' | 'OTHER_STEP'> {
  readonly flow: FlowState;
  /** ACCOUNT_LOCKED: until when (epoch ms) */
  readonly until: number;
  /** OTHER_STEP: where to go */
  readonly location: string;
  constructor(code: 'FLOW_EXPIRED' | 'ACCOUNT_LOCKED', flow: FlowState, until?: number);
  constructor(code: 'OTHER_STEP', flow: FlowState | null, until: 0, location: string);
  constructor(code: 'FLOW_EXPIRED' | 'ACCOUNT_LOCKED' | 'OTHER_STEP', flow: FlowState | null, until = 0, location = '') {
    super('StepRefused', code, `sign-in step refused: ${code}`);
    this.flow = flow as FlowState;
    this.until = until;
    this.location = location;
  }
}

// eslint-disable-next-line @typescript-eslint/require-await -- a Fastify plugin: async so avvio awaits it without a done callback
export async function totpRoutes(app: FastifyInstance, opts: TotpRoutesOptions): Promise<void> {
  const { core, local } = opts;
  const { store, now, secretBox } = core;

  /**
   * The step cannot be taken now: the sign-in started over (the flow expired), the account
   * is locked, or this user has another step to take. Thrown by the helpers below; answered
   * by this plugin's error handler (the sign-in page, the lockout page or the right step).
   */
  app.setErrorHandler(async (err, request, reply) => {
    if (!(err instanceof StepRefused)) throw err; // the app's error handler
    switch (err.code) {
      case 'FLOW_EXPIRED':
        return local.signInAgain(request, reply, err.flow, request.method === 'GET' ? 200 : 401, { kind: 'warn', text: MESSAGES.expired });
      case 'ACCOUNT_LOCKED':
        return local.locked(request, reply, err.flow, err.until);
      case 'OTHER_STEP':
        return reply.code(303).redirect(err.location);
    }
  });

  /** The user of the flow's pending password step, when it may take `step` now; otherwise throws StepRefused. */
  async function stepUser(request: FastifyRequest, flow: FlowState, step: Step): Promise<User> {
    const pending = local.pending(flow);
    const user = pending === null ? null : await store.getUser(request.site.realm, pending.uid);
    if (user === null || user.status !== 'active') throw new StepRefused('FLOW_EXPIRED', flow);
    const until = await local.lockedUntil(request, { user });
    if (until !== null) throw new StepRefused('ACCOUNT_LOCKED', flow, until);
    const needed: Step = hasTotp(user) ? (step === 'enroll' ? 'totp' : step) : 'enroll';
    if (needed !== step) throw new StepRefused('OTHER_STEP', flow, 0, STEP_PATH[needed]);
    return user;
  }

  /** GET: the flow (no CSRF check); none: a fresh start at the sign-in page. */
  function getFlow(request: FastifyRequest): FlowState {
    const flow = core.sessions.flow(request);
    if (flow === null) throw new StepRefused('OTHER_STEP', null, 0, PATHS.login);
    return flow;
  }

  /** POST: throttle, CSRF, then the pending user. */
  async function postUser(request: FastifyRequest, step: Step): Promise<{ flow: FlowState; user: User }> {
    await local.assertNotThrottled(request);
    const flow = local.formFlow(request);
    return { flow, user: await stepUser(request, flow, step) };
  }

  /** Count a wrong code; when that locked the account, throws StepRefused (the lockout page). */
  async function countWrongCode(request: FastifyRequest, flow: FlowState, user: User, step: FailedStep, reason: string): Promise<void> {
    const until = await local.fail(request, { user }, step, reason);
    if (until !== null) throw new StepRefused('ACCOUNT_LOCKED', flow, until);
  }

  /**
   * After a right code: the account as it is now. The lock was checked before the code;
   * wrong guesses checked meanwhile (concurrently, here or on another replica) may have
   * locked the account since: then StepRefused (the lockout page).
   */
  async function unlockedNow(request: FastifyRequest, flow: FlowState, user: User): Promise<User> {
    const current = (await store.getUser(user.realm, user.id)) ?? user;
    const until = await local.lockedUntil(request, { user: current });
    if (until !== null) throw new StepRefused('ACCOUNT_LOCKED', flow, until);
    return current;
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
    const flow = getFlow(request);
    await stepUser(request, flow, 'totp');
    return sendPage(reply, 200, totpPage(local.view(request, flow)));
  });

  app.post(PATHS.loginTotp, async (request, reply) => {
    const s = await postUser(request, 'totp');
    const secret = openTotpSecret(secretBox, s.user) as string;
    const result = await acceptCode(s.user, secret, field(request, 'code'));
    if (result === 'ok') {
      const user = await unlockedNow(request, s.flow, s.user);
      return reply.code(303).redirect(await local.finish(request, user, ['pwd', 'otp']));
    }
    await countWrongCode(request, s.flow, s.user, 'totp', result);
    return sendPage(reply, 401, totpPage(local.view(request, s.flow, { kind: 'error', text: MESSAGES.badCode })));
  });

  app.get(PATHS.loginEnroll, async (request, reply) => {
    const flow = getFlow(request);
    const user = await stepUser(request, flow, 'enroll');
    const secret = await pendingTotpSecret(store, secretBox, user);
    return sendPage(reply, 200, await enrolView(request, flow, user, secret, false));
  });

  app.post(PATHS.loginEnroll, async (request, reply) => {
    const s = await postUser(request, 'enroll');
    const secret = openTotpSecret(secretBox, s.user);
    // eslint-disable-next-line security/detect-possible-timing-attacks -- a null check of an optional value, not a comparison of secret contents
    if (secret === null) return reply.code(303).redirect(PATHS.loginEnroll);
    const result = await acceptCode(s.user, secret, field(request, 'code'));
    if (result === 'ok') {
      await unlockedNow(request, s.flow, s.user);
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
    await countWrongCode(request, s.flow, s.user, 'enroll', result);
    return sendPage(reply, 401, await enrolView(request, s.flow, s.user, secret, true));
  });

  app.get(PATHS.loginRecovery, async (request, reply) => {
    const flow = getFlow(request);
    await stepUser(request, flow, 'recovery');
    return sendPage(reply, 200, recoveryPage(local.view(request, flow)));
  });

  app.post(PATHS.loginRecovery, async (request, reply) => {
    const s = await postUser(request, 'recovery');
    if (await consumeRecoveryCode(store, s.user.id, field(request, 'code'))) {
      const user = await unlockedNow(request, s.flow, s.user);
      return reply.code(303).redirect(await local.finish(request, user, ['pwd', 'otp', 'rcv']));
    }
    await countWrongCode(request, s.flow, s.user, 'recovery', 'bad_recovery_code');
    return sendPage(reply, 401, recoveryPage(local.view(request, s.flow, { kind: 'error', text: MESSAGES.badRecovery })));
  });
}
