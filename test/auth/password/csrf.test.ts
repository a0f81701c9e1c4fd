/**
 * CSRF: every sign-in form post needs the token of this browser's flow (and the
 * flow cookie, SameSite=Lax). Missing, wrong or foreign tokens get the "Form
 * expired" page and never reach the password or code check (nothing is counted).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startGateway, HOSTS } from '../../support/gateway.ts';
import { Client, codeAt, createEnrolledUser, csrfOf, PASSWORD, submitPassword } from './flow.ts';

const flipLast = (s: string) => `${s.slice(0, -1)}${s.endsWith('A') ? 'B' : 'A'}`;

test('sign-in forms refuse a missing, wrong or foreign CSRF token', async (t) => {
  const gw = await startGateway({ transport: 'inject' });
  t.after(() => gw.close());
  const { user, secret, recoveryCodes } = await createEnrolledUser(gw, HOSTS.staff, { email: 'csrf@example.com' });

  const page = await new Client(gw, HOSTS.staff).get('/.auth/login');
  const flowCookie = (page.headers['set-cookie'] as string | string[]).toString();
  assert.match(flowCookie, /SameSite=Lax/i);
  assert.match(flowCookie, /HttpOnly/i);

  const browser = new Client(gw, HOSTS.staff);
  const own = await browser.get('/.auth/login');
  const foreign = csrfOf((await new Client(gw, HOSTS.staff).get('/.auth/login')).body);
  const cases: Array<[string, Client, Record<string, string>]> = [
    ['no flow cookie', new Client(gw, HOSTS.staff), { csrf: csrfOf(own.body), email: 'csrf@example.com', password: PASSWORD }],
    ['no token', browser, { email: 'csrf@example.com', password: PASSWORD }],
    ['empty token', browser, { csrf: '', email: 'csrf@example.com', password: PASSWORD }],
    ['wrong token', browser, { csrf: flipLast(csrfOf(own.body)), email: 'csrf@example.com', password: PASSWORD }],
    ["another flow's token", browser, { csrf: foreign, email: 'csrf@example.com', password: PASSWORD }],
  ];
  for (const [name, client, form] of cases) {
    const res = await client.post('/.auth/login', form);
    assert.equal(res.status, 403, name);
    assert.match(res.body, /Form expired/, name);
    assert.equal(res.location, null, name);
  }
  // the token of the flow in a cookie of another host's site is no good either
  const acme = new Client(gw, HOSTS.acme);
  for (const [k, v] of browser.cookies) acme.cookies.set(k, v);
  assert.equal((await acme.post('/.auth/login', { csrf: csrfOf(own.body), email: 'csrf@example.com', password: PASSWORD })).status, 403);

  // the second steps too: a correct password first, then code posts without the token
  assert.equal((await submitPassword(browser, 'csrf@example.com', PASSWORD)).status, 303);
  const code = await codeAt(secret, Date.now());
  for (const path of ['/.auth/login/totp', '/.auth/login/recovery', '/.auth/login/enroll']) {
    const res = await browser.post(path, { code: path.endsWith('recovery') ? (recoveryCodes[0] as string) : code });
    assert.equal(res.status, 403, path);
    assert.match(res.body, /Form expired/);
  }
  const stored = await gw.store.getUser('staff', user.id);
  assert.equal(stored?.failedCount, 0, 'refused forms count no failure');
  assert.equal(stored?.totpLastStep, null, 'and use no code');
  assert.equal(await gw.store.countRecoveryCodes(user.id), 10);

  // with the token, the same code signs in (the test above could fail)
  const totpPage = await browser.get('/.auth/login/totp');
  const ok = await browser.post('/.auth/login/totp', { csrf: csrfOf(totpPage.body), code });
  assert.equal(ok.status, 303);
});
