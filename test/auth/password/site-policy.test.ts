/**
 * The sign-in page follows the site's policy (src/auth/policy.ts):
 * - password sign-in always asks for TOTP, on every portal ("Users who sign in via
 *   email/password (non-SSO) still use Regentra's built-in MFA"), whatever an earlier
 *   version stored for the client;
 * - SSO on: "Sign in with Microsoft" beside the password form (SSO does not turn
 *   password sign-in off) ...
 * - ... unless SSO-only: then only the button, and a password post is refused.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startGateway, HOSTS, TENANTS } from '../../support/gateway.ts';
import { DEFAULT_PORTAL_AUTH, portalAuthKey, STAFF_SSO_KEY } from '../../../src/auth/policy.ts';
import { Client, createUser, csrfOf, PASSWORD, submitPassword } from './flow.ts';

const withPortalApp = () => (raw: Record<string, unknown>) => {
  const portal = (raw.sites as { portal: { entra?: unknown; clients: Array<Record<string, unknown>> } }).portal;
  portal.entra = { clientId: 'portal-app', clientSecret: 'portal-app-secret' };
  return raw;
};

test('a portal password sign-in always asks for TOTP, even where an earlier version stored "not required"', async (t) => {
  const gw = await startGateway({ transport: 'inject', configure: withPortalApp() });
  t.after(() => gw.close());
  // what Settings → Portal → Authentication stored when TOTP could be "Not required"
  await gw.store.putSetting(portalAuthKey('globex'), { ...DEFAULT_PORTAL_AUTH, mfaRequired: false });
  const user = await createUser(gw, HOSTS.globex, { email: 'buyer@globex.example' });
  const browser = new Client(gw, HOSTS.globex);
  const res = await submitPassword(browser, user.email, PASSWORD, '/orders?open=1');
  assert.equal(res.status, 303);
  assert.equal(res.location, '/.auth/login/enroll', 'the password alone is no session: the authenticator is set up first');
  assert.equal((await browser.get('/.auth/me', { accept: 'application/json' })).status, 401);
  assert.equal((await browser.get('/orders', { accept: 'application/json' })).status, 401);

  // the same user does not exist on another client's portal
  assert.equal((await submitPassword(new Client(gw, HOSTS.acme), user.email, PASSWORD)).status, 401);
});

test('SSO on: the Microsoft button and the password form; SSO-only: the button alone, password refused', async (t) => {
  const gw = await startGateway({ transport: 'inject', configure: withPortalApp() });
  t.after(() => gw.close());
  const user = await createUser(gw, HOSTS.acme, { email: 'agent@acme.example' });
  const settings = { tenantId: TENANTS.acme, ssoEnabled: true, passwordAllowed: true };
  await gw.store.putSetting(portalAuthKey('acme'), settings);

  const browser = new Client(gw, HOSTS.acme);
  const both = await browser.get('/.auth/login?rd=%2Fq');
  assert.match(
    both.body,
    /<a class="btn secondary" href="\/\.auth\/sso\?rd=%2Fq"><span class="ms-logo" aria-hidden="true"><i><\/i><i><\/i><i><\/i><i><\/i><\/span>Sign in with Microsoft<\/a>/,
  );
  assert.match(both.body, /name="password"/);

  // the client switches to SSO-only while this page is open
  await gw.store.putSetting(portalAuthKey('acme'), { ...settings, passwordAllowed: false });
  gw.core.policy.invalidate();
  const refused = await browser.post('/.auth/login', { csrf: csrfOf(both.body), email: user.email, password: PASSWORD });
  assert.equal(refused.status, 403);
  assert.match(refused.body, /Password sign-in is turned off/);
  assert.match(refused.body, /Sign in with Microsoft/);
  assert.equal(refused.location, null);
  assert.equal((await gw.store.getUser(user.realm, user.id))?.failedCount, 0, 'the password was not even checked');

  const only = await new Client(gw, HOSTS.acme).get('/.auth/login?rd=%2Fq');
  assert.match(only.body, /Sign in with Microsoft/);
  assert.doesNotMatch(only.body, /name="password"/);
});

test('staff SSO enabled shows the button; SSO-only hides the password form', async (t) => {
  const gw = await startGateway({ transport: 'inject' });
  t.after(() => gw.close());
  const sso = {
    enabled: true,
    tenantId: TENANTS.staff,
    clientId: 'staff-app',
    clientSecretEnc: gw.core.secretBox.seal('s3cret', 'sso.staff'),
    ssoOnly: false,
  };
  await gw.store.putSetting(STAFF_SSO_KEY, sso);
  const both = await new Client(gw, HOSTS.staff).get('/.auth/login');
  assert.match(both.body, /Sign in with Microsoft/);
  assert.match(both.body, /name="password"/);
  await gw.store.putSetting(STAFF_SSO_KEY, { ...sso, ssoOnly: true });
  gw.core.policy.invalidate();
  const only = await new Client(gw, HOSTS.staff).get('/.auth/login');
  assert.match(only.body, /Sign in with Microsoft/);
  assert.doesNotMatch(only.body, /name="password"/);
});
