/**
 * TOTP codes: RFC 6238 (SHA-1, 6 digits, 30 s), accepted one step either side of
 * the gateway's clock, each time step once (a replayed code, or a code of a step
 * at or before the last accepted one, is refused), codes two steps away refused.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startGateway, HOSTS } from '../../support/gateway.ts';
import { alertOf, Client, codeAt, createEnrolledUser, manualClock, PASSWORD, submitPassword, submitTotp } from '../password/flow.ts';
import { timeStep } from '../../../src/auth/totp/totp.ts';

const BAD_CODE = 'That code is not correct or has expired. Enter the current 6-digit code from your authenticator app.';

test('codes are accepted within one step, once each, and never for an older step', async (t) => {
  const clock = manualClock();
  const gw = await startGateway({ now: clock.now, configure: (raw) => ({ ...raw, auth: { lockout: { maxFailures: 50 } } }) });
  t.after(() => gw.close());
  const { user, secret } = await createEnrolledUser(gw, HOSTS.staff, { email: 'otp@example.com' });

  /** password, then `code`: the answer to the code */
  const attempt = async (code: string) => {
    const browser = new Client(gw, HOSTS.staff);
    assert.equal((await submitPassword(browser, user.email, PASSWORD)).location, '/.auth/login/totp');
    return submitTotp(browser, code);
  };
  const refused = async (code: string, why: string) => {
    const res = await attempt(code);
    assert.equal(res.status, 401, why);
    assert.equal(alertOf(res.body), BAD_CODE, why);
  };

  await refused(await codeAt(secret, clock.t, 2), 'two steps ahead');
  await refused(await codeAt(secret, clock.t, -2), 'two steps behind');
  await refused('000000', 'a wrong code');
  await refused('12345', 'too short');
  await refused('abcdef', 'not digits');

  // the previous step is still accepted (a slow typist)…
  const previous = await codeAt(secret, clock.t, -1);
  assert.equal((await attempt(previous)).status, 303, 'one step behind');
  assert.equal((await gw.store.getUser('staff', user.id))?.totpLastStep, timeStep(clock.t) - 1);
  // …but only once
  await refused(previous, 'replayed');

  const current = await codeAt(secret, clock.t);
  assert.equal((await attempt(current.replace(/^(\d{3})/, '$1 '))).status, 303, 'now, typed with a space');
  await refused(current, 'replayed after use');
  await refused(previous, 'older than the last accepted step');

  const next = await codeAt(secret, clock.t, 1);
  assert.equal((await attempt(next)).status, 303, 'one step ahead (a fast clock)');
  clock.advance(30_000);
  await refused(await codeAt(secret, clock.t), 'the step already used ahead of time');
  clock.advance(30_000);
  assert.equal((await attempt(await codeAt(secret, clock.t))).status, 303, 'the next new step');
});
