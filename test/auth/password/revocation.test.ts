/**
 * Disabling an account or "sign out everywhere" ends the user's sessions on their
 * next request: at once where this replica is told (revocation.forget), and within
 * `session.revocationCheckSeconds` on any other replica. A disabled user cannot sign in.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startGateway, HOSTS } from '../../support/gateway.ts';
import { setStatus, signOutEverywhere } from '../../../src/auth/password/users.ts';
import { alertOf, Client, createEnrolledUser, manualClock, PASSWORD, signIn, submitPassword } from './flow.ts';

test('a disabled user is signed out on the next request and cannot sign in again', async (t) => {
  const clock = manualClock();
  const gw = await startGateway({ now: clock.now });
  t.after(() => gw.close());
  const { user, secret } = await createEnrolledUser(gw, HOSTS.acme, { email: 'leaver@example.com' });
  const browser = new Client(gw, HOSTS.acme);
  assert.equal((await signIn(browser, user.email, secret, clock.t)).status, 303);
  assert.equal((await browser.get('/tickets')).status, 200);

  await setStatus(gw.store, user, 'disabled', { actor: 'test', now: clock.now });
  gw.core.revocation.forget(user.realm, user.id);
  const after = await browser.get('/tickets');
  assert.equal(after.status, 302);
  assert.match(after.location ?? '', /^\/\.auth\/login\?rd=/);

  // refused, answered exactly as a wrong password (test/auth/password/disabled-oracle.test.ts)
  const again = await submitPassword(new Client(gw, HOSTS.acme), user.email, PASSWORD);
  assert.equal(again.status, 401);
  assert.equal(alertOf(again.body), 'Email or password is incorrect.');
});

test('sign out everywhere ends every session of the user, on another replica within the check interval', async (t) => {
  const clock = manualClock();
  const gw = await startGateway({ now: clock.now });
  t.after(() => gw.close());
  const replica = await startGateway({ now: clock.now, store: gw.store, configure: (raw) => ({ ...raw, keys: gw.config.keys }) });
  t.after(() => replica.close());
  const { user, secret } = await createEnrolledUser(gw, HOSTS.staff, { email: 'roaming@example.com' });
  const other = await createEnrolledUser(gw, HOSTS.staff, { email: 'bystander@example.com' });

  const laptop = new Client(gw, HOSTS.staff);
  const phone = new Client(replica, HOSTS.staff);
  const bystander = new Client(gw, HOSTS.staff);
  assert.equal((await signIn(laptop, user.email, secret, clock.t)).status, 303);
  clock.advance(30_000);
  assert.equal((await signIn(phone, user.email, secret, clock.t)).status, 303);
  assert.equal((await signIn(bystander, other.user.email, other.secret, clock.t)).status, 303);
  assert.equal((await phone.get('/x')).status, 200, 'the replica has seen the user (cached as active)');

  clock.advance(1_000);
  await signOutEverywhere(gw.store, user, { actor: 'test', now: clock.now });
  gw.core.revocation.forget(user.realm, user.id);
  assert.equal((await laptop.get('/x')).status, 302, 'this replica: at once');
  assert.equal((await bystander.get('/x')).status, 200, 'other users keep their sessions');

  clock.advance(gw.config.session.revocationCheckSeconds * 1000);
  assert.equal((await phone.get('/x')).status, 302, 'the other replica: within the check interval');

  // signing in again afterwards works
  clock.advance(30_000);
  assert.equal((await signIn(laptop, user.email, secret, clock.t)).status, 303);
  assert.equal((await laptop.get('/x')).status, 200);
});
