/**
 * The second step after a correct password:
 * - it is good for 5 minutes, then the password is asked again (the target kept);
 * - wrong codes (TOTP, enrolment) count towards the account's lockout, which ends
 *   the pending step;
 * - the steps cannot be reached without a correct password first.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startGateway, HOSTS } from '../../support/gateway.ts';
import {
  alertOf,
  Client,
  codeAt,
  createEnrolledUser,
  createUser,
  csrfOf,
  manualClock,
  PASSWORD,
  secretOf,
  submitPassword,
  submitTotp,
} from '../password/flow.ts';

test('the pending password step expires after 5 minutes', async (t) => {
  const clock = manualClock();
  const gw = await startGateway({ now: clock.now });
  t.after(() => gw.close());
  const { user, secret } = await createEnrolledUser(gw, HOSTS.staff, { email: 'slowpoke@example.com' });
  const browser = new Client(gw, HOSTS.staff);
  assert.equal((await submitPassword(browser, user.email, PASSWORD, '/deep/link')).location, '/.auth/login/totp');
  const page = await browser.get('/.auth/login/totp');
  clock.advance(5 * 60_000);

  const late = await browser.post('/.auth/login/totp', { csrf: csrfOf(page.body), code: await codeAt(secret, clock.t) });
  assert.equal(late.status, 401);
  assert.equal(alertOf(late.body), 'Your sign-in took too long. Enter your email and password again.');
  assert.match(late.body, /name="password"/);
  assert.equal((await browser.get('/.auth/login/totp')).status, 200, 'the page shown is the sign-in page');
  assert.match((await browser.get('/.auth/login/totp')).body, /took too long/);

  // the same flow carries on: password again, then the code, and the target was kept
  const again = await browser.post('/.auth/login', { csrf: csrfOf(late.body), email: user.email, password: PASSWORD });
  assert.equal(again.location, '/.auth/login/totp');
  clock.advance(4 * 60_000 + 59_000);
  const done = await submitTotp(browser, await codeAt(secret, clock.t));
  assert.equal(done.status, 303);
  assert.equal(done.location, '/deep/link');
});

test('the second steps need a correct password first', async (t) => {
  const gw = await startGateway();
  t.after(() => gw.close());
  const browser = new Client(gw, HOSTS.staff);
  for (const path of ['/.auth/login/totp', '/.auth/login/enroll', '/.auth/login/recovery']) {
    const res = await browser.get(path);
    assert.equal(res.status, 303, `${path} without a flow`);
    assert.equal(res.location, '/.auth/login');
  }
  const page = await browser.get('/.auth/login');
  for (const path of ['/.auth/login/totp', '/.auth/login/enroll', '/.auth/login/recovery']) {
    const res = await browser.post(path, { csrf: csrfOf(page.body), code: '123456' });
    assert.equal(res.status, 401, `${path} without a password`);
    assert.match(res.body, /name="password"/);
  }
});

test('wrong TOTP codes lock the account and end the pending step', async (t) => {
  const clock = manualClock();
  const gw = await startGateway({ now: clock.now });
  t.after(() => gw.close());
  const { user, secret } = await createEnrolledUser(gw, HOSTS.staff, { email: 'guesser@example.com' });
  const browser = new Client(gw, HOSTS.staff);
  // one wrong password, then four wrong codes: five failures
  assert.equal((await submitPassword(browser, user.email, 'not my password')).status, 401);
  assert.equal((await submitPassword(browser, user.email, PASSWORD)).location, '/.auth/login/totp');
  for (let i = 0; i < 3; i++) assert.equal((await submitTotp(browser, '000000')).status, 401);
  const locked = await submitTotp(browser, '000000');
  assert.equal(locked.status, 429);
  assert.match(alertOf(locked.body) ?? '', /locked.*Try again in 15 minutes/);
  assert.notEqual((await gw.store.getUser('staff', user.id))?.lockedUntil, null);

  // the pending step is gone: even the right code does not get in
  const page = await browser.get('/.auth/login/totp');
  assert.match(page.body, /name="password"/);
  assert.equal((await browser.post('/.auth/login/totp', { csrf: csrfOf(page.body), code: await codeAt(secret, clock.t) })).status, 401);
  const events = await gw.store.listAudit({ realm: 'staff', type: 'signin.failure' });
  assert.deepEqual(events.map((e) => (e.details as { step: string }).step).sort(), ['password', 'totp', 'totp', 'totp', 'totp']);
});

test('a wrong first code at enrolment keeps the same key and counts as a failure', async (t) => {
  const clock = manualClock();
  const gw = await startGateway({ now: clock.now });
  t.after(() => gw.close());
  const user = await createUser(gw, HOSTS.staff, { email: 'newbie@example.com' });
  const browser = new Client(gw, HOSTS.staff);
  assert.equal((await submitPassword(browser, user.email, PASSWORD)).location, '/.auth/login/enroll');
  const page = await browser.get('/.auth/login/enroll');
  const secret = secretOf(page.body);
  const wrong = await browser.post('/.auth/login/enroll', { csrf: csrfOf(page.body), code: '000000' });
  assert.equal(wrong.status, 401);
  assert.equal(secretOf(wrong.body), secret);
  assert.match(alertOf(wrong.body) ?? '', /not correct/);
  const stored = await gw.store.getUser('staff', user.id);
  assert.equal(stored?.failedCount, 1);
  assert.equal(stored?.totpEnrolledAt, null, 'not enrolled yet');
  assert.equal((await browser.get('/.auth/login/totp')).location, '/.auth/login/enroll', 'no TOTP step before enrolment');
  const ok = await browser.post('/.auth/login/enroll', { csrf: csrfOf(page.body), code: await codeAt(secret, clock.t) });
  assert.equal(ok.status, 200);
  assert.match(ok.body, /Save your recovery codes/);
});
