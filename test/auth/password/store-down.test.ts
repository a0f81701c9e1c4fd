/**
 * The store is down during sign-in: a 503 "Sign-in unavailable" page (never a
 * session, never a redirect); people already signed in keep working.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startGateway, HOSTS } from '../../support/gateway.ts';
import { openStore } from '../../../src/store/index.ts';
import { StoreError, type Store } from '../../../src/store/types.ts';
import { Client, createUser, PASSWORD, submitPassword } from './flow.ts';

test('a store outage during sign-in answers 503 STORE_UNAVAILABLE', async (t) => {
  const real = await openStore({ driver: 'sqlite', path: ':memory:' });
  t.after(() => real.close());
  const down = { users: false, settings: false };
  const unavailable = () => Promise.reject(new StoreError('UNAVAILABLE', 'connection refused'));
  const store: Store = {
    ...real,
    getUserByEmail: (...a) => (down.users ? unavailable() : real.getUserByEmail(...a)),
    getSetting: (...a) => (down.settings ? unavailable() : real.getSetting(...a)),
  };
  const gw = await startGateway({ store });
  t.after(() => gw.close());
  const user = await createUser(gw, HOSTS.acme, { email: 'patient@example.com' });
  const signedIn = await gw.sessionCookie(HOSTS.acme, { uid: user.id, email: user.email });

  down.users = true;
  const browser = new Client(gw, HOSTS.acme);
  const res = await submitPassword(browser, user.email, PASSWORD);
  assert.equal(res.status, 503);
  assert.match(res.body, /Sign-in unavailable/);
  assert.equal(res.location, null);
  assert.ok(![...browser.cookies.keys()].includes(gw.cookieName), 'no session');

  down.settings = true;
  gw.core.policy.invalidate();
  const page = await new Client(gw, HOSTS.acme).get('/.auth/login');
  assert.equal(page.status, 503);
  assert.match(page.body, /Sign-in is temporarily unavailable/);

  const proxied = await gw.request(HOSTS.acme, '/tickets', { cookie: signedIn });
  assert.equal(proxied.statusCode, 200, 'signed-in users are not affected');
  await proxied.body.dump();

  down.users = false;
  down.settings = false;
  gw.core.policy.invalidate();
  assert.equal((await submitPassword(new Client(gw, HOSTS.acme), user.email, PASSWORD)).status, 303, 'back to normal');
});
