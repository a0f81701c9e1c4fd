/**
 * The whole first sign-in of a staff member, over HTTP, no browser: sign-in page →
 * email + password → enrolment (QR code + key) → first code → recovery codes shown
 * once → session; then a proxied request reaches the staff upstream with signed
 * identity headers (amr pwd otp). The next sign-in asks for a TOTP code, not enrolment.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startGateway, HOSTS } from '../../support/gateway.ts';
import { verifyIdentity } from '../../../src/identity/verify.ts';
import { Client, codeAt, createUser, csrfOf, PASSWORD, recoveryCodesOf, secretOf, submitPassword, signIn } from './flow.ts';

test('first password sign-in enrols TOTP, shows recovery codes once, and the upstream gets the identity', async (t) => {
  const gw = await startGateway();
  t.after(() => gw.close());
  const user = await createUser(gw, HOSTS.staff, { email: 'Grace.Hopper@Example.com', name: 'Grace Hopper', role: 'admin' });
  const browser = new Client(gw, HOSTS.staff);

  // an unauthenticated navigation is sent to sign in, keeping the target
  const gated = await browser.get('/reports/q3?year=2031');
  assert.equal(gated.status, 302);
  assert.equal(gated.location, `/.auth/login?rd=${encodeURIComponent('/reports/q3?year=2031')}`);

  const page = await browser.get(gated.location);
  assert.equal(page.status, 200);
  assert.match(page.headers['content-security-policy'] as string, /default-src 'none'/);
  assert.match(page.body, /<label for="email">Email<\/label>/);
  assert.match(page.body, /autocomplete="username"/);
  assert.match(page.body, /autocomplete="current-password"/);
  assert.doesNotMatch(page.body, /Sign in with Microsoft/, 'SSO is off by default');
  assert.doesNotMatch(page.body, /<script>|style="/, 'no inline script or style');

  // email in another case, with spaces: the same account
  const pwd = await browser.post('/.auth/login', { csrf: csrfOf(page.body), email: '  grace.hopper@EXAMPLE.com ', password: PASSWORD });
  assert.equal(pwd.status, 303);
  assert.equal(pwd.location, '/.auth/login/enroll');
  assert.equal((await browser.get('/reports/q3')).status, 302, 'no session after the password alone');

  const enrol = await browser.get('/.auth/login/enroll');
  assert.equal(enrol.status, 200);
  assert.match(enrol.body, /<img src="data:image\/svg\+xml;base64,[A-Za-z0-9+/=]+" width="200" height="200" alt="QR code/);
  const secret = secretOf(enrol.body);
  assert.equal(secret.length, 32, '160-bit base32 secret');
  const qr = Buffer.from((/data:image\/svg\+xml;base64,([A-Za-z0-9+/=]+)/.exec(enrol.body) as RegExpExecArray)[1] as string, 'base64').toString();
  assert.match(qr, /^<svg /);
  assert.match(enrol.body, /inputmode="numeric"/);
  assert.match(enrol.body, /autocomplete="one-time-code"/);
  // a reload shows the same pending key (the QR code already scanned stays good)
  assert.equal(secretOf((await browser.get('/.auth/login/enroll')).body), secret);

  const confirmed = await browser.post('/.auth/login/enroll', { csrf: csrfOf(enrol.body), code: await codeAt(secret, Date.now()) });
  assert.equal(confirmed.status, 200);
  const codes = recoveryCodesOf(confirmed.body);
  assert.equal(codes.length, 10);
  assert.equal(new Set(codes).size, 10);
  assert.match(confirmed.body, /<a class="btn" href="\/reports\/q3\?year=2031">Continue<\/a>/, 'the target survived every step');
  assert.equal(await gw.store.countRecoveryCodes(user.id), 10);

  // signed in: the proxied request carries the identity
  const proxied = await browser.get('/reports/q3?year=2031');
  assert.equal(proxied.status, 200);
  const echo = JSON.parse(proxied.body) as { url: string; headers: Record<string, string> };
  assert.equal(echo.url, '/reports/q3?year=2031');
  assert.equal(echo.headers['x-regentra-email'], 'grace.hopper@example.com');
  assert.equal(echo.headers['x-regentra-user-id'], user.id);
  assert.equal(echo.headers['x-regentra-role'], 'admin');
  assert.equal(echo.headers['x-regentra-auth-method'], 'pwd otp');
  const jwks = await (await gw.request(HOSTS.staff, '/.auth/jwks.json')).body.json();
  const who = await verifyIdentity(echo.headers, { keys: jwks as never, audience: 'staff', issuer: 'https://gateway.test' });
  assert.equal(who.sub, user.id);
  assert.deepEqual(who.amr, ['pwd', 'otp']);
  assert.ok(!('cookie' in echo.headers) || !echo.headers.cookie?.includes(gw.cookieName), 'the session cookie is not forwarded');

  // audited
  const events = await gw.store.listAudit({ realm: 'staff' });
  assert.ok(
    events.some((e) => e.type === 'signin' && e.outcome === 'success' && e.userId === user.id && (e.details as { method?: string }).method === 'password'),
  );
  assert.ok(events.some((e) => e.type === 'mfa.enroll' && e.userId === user.id));

  // the next sign-in (another browser) asks for a code, not enrolment, and lands on the target
  const second = new Client(gw, HOSTS.staff);
  const again = await submitPassword(second, 'grace.hopper@example.com', PASSWORD, '/inbox');
  assert.equal(again.location, '/.auth/login/totp');
  const enrolAgain = await second.get('/.auth/login/enroll');
  assert.equal(enrolAgain.status, 303, 'an enrolled user cannot enrol again');
  assert.equal(enrolAgain.location, '/.auth/login/totp');
  const done = await signIn(new Client(gw, HOSTS.staff), 'grace.hopper@example.com', secret, Date.now() + 30_000, '/inbox');
  assert.equal(done.status, 303);
  assert.equal(done.location, '/inbox');
});

test('GET /.auth/login while signed in goes straight to the target', async (t) => {
  const gw = await startGateway();
  t.after(() => gw.close());
  const cookie = await gw.sessionCookie(HOSTS.acme);
  const res = await gw.request(HOSTS.acme, '/.auth/login?rd=%2Ftickets%2F42', { cookie, headers: { accept: 'text/html' } });
  assert.equal(res.statusCode, 303);
  assert.equal(res.headers.location, '/tickets/42');
  await res.body.dump();
});

test('the central callback host serves no sign-in page', async (t) => {
  const gw = await startGateway({
    configure: (raw) => {
      const sites = raw.sites as { portal: Record<string, unknown> };
      sites.portal.centralCallbackHost = HOSTS.central;
      sites.portal.entra = { clientId: 'portal-app', clientSecret: 'portal-app-secret' };
      return raw;
    },
  });
  t.after(() => gw.close());
  const res = await gw.request(HOSTS.central, '/.auth/login', { headers: { accept: 'text/html' } });
  assert.equal(res.statusCode, 404);
  await res.body.dump();
});
