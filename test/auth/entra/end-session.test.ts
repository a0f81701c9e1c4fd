// Signing out of an SSO session also signs out of Entra: the browser goes to the tenant's
// end-session endpoint with post_logout_redirect_uri = this host's signed-out page.
// Password sessions, and SSO sessions while Microsoft is unknown and unreachable, end locally.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { HOSTS, PORTAL_APP, startEnv, STAFF_APP, TENANTS, USERS, type Browser, type Env } from './support.ts';

describe('sign-out and Entra end-session', () => {
  let env: Env;
  before(async () => {
    env = await startEnv({ staff: { autoProvision: true } });
  });
  after(() => env.close());

  const logout = (browser: Browser, host: string) => browser.open(`http://${host}/.auth/logout`, { method: 'POST', headers: { origin: `http://${host}` } });

  test('staff SSO session: to the staff tenant end-session endpoint, and back to the signed-out page', async () => {
    const browser = env.browser();
    await browser.signIn(HOSTS.staff, USERS.ada.oid);
    const page = await logout(browser, HOSTS.staff);
    assert.equal(page.status, 303);
    const target = new URL(page.location ?? '');
    assert.equal(`${target.origin}${target.pathname}`, `${env.fe.url}/${TENANTS.staff}/oauth2/v2.0/logout`);
    assert.equal(target.searchParams.get('post_logout_redirect_uri'), `http://${HOSTS.staff}/.auth/signed-out`);
    assert.equal(target.searchParams.get('client_id'), STAFF_APP.clientId);
    // logout_hint: the ID token's login_hint claim, so Microsoft does not ask which account to sign out
    assert.match(target.searchParams.get('logout_hint') ?? '', /^O\./);
    assert.equal((await browser.open(`http://${HOSTS.staff}/.auth/me`, { headers: { accept: 'application/json' } })).status, 401, 'session ended');

    // the same browser, still signed in at Microsoft: straight back, no account picker
    const back = await env.fe.follow(target, { browser: browser.microsoft });
    assert.equal(back.href, `http://${HOSTS.staff}/.auth/signed-out`);
    const signedOut = await browser.open(back);
    assert.equal(signedOut.status, 200);
    assert.match(signedOut.body, /You are signed out/);
  });

  test('portal SSO session: the client tenant and the portal app', async () => {
    const browser = env.browser();
    await browser.signIn(HOSTS.acme, USERS.alice.oid);
    const target = new URL((await logout(browser, HOSTS.acme)).location ?? '');
    assert.equal(target.pathname, `/${TENANTS.acme}/oauth2/v2.0/logout`);
    assert.equal(target.searchParams.get('client_id'), PORTAL_APP.clientId);
    assert.equal(target.searchParams.get('post_logout_redirect_uri'), `http://${HOSTS.acme}/.auth/signed-out`);
    assert.match(target.searchParams.get('logout_hint') ?? '', /^O\./);
    assert.equal((await env.fe.follow(target, { browser: browser.microsoft })).href, `http://${HOSTS.acme}/.auth/signed-out`);
  });

  test('without the login_hint claim (not added in Token configuration), Microsoft asks which account: the docs say to add it', async () => {
    const browser = env.browser();
    await browser.signIn(HOSTS.staff, USERS.ada.oid);
    const target = new URL((await logout(browser, HOSTS.staff)).location ?? '');
    target.searchParams.delete('logout_hint');
    await assert.rejects(env.fe.follow(target, { browser: browser.microsoft }), /stopped at .*\/logout: HTTP 200/);
  });

  test('a password session signs out locally', async () => {
    const cookie = await env.gw.sessionCookie(HOSTS.staff);
    const res = await env.gw.request(HOSTS.staff, '/.auth/logout', { method: 'POST', cookie, headers: { origin: `http://${HOSTS.staff}` } });
    await res.body.dump();
    assert.equal(res.statusCode, 303);
    assert.match(String(res.headers.location), /^\/\.auth\/signed-out/);
  });

  test('Microsoft unknown and unreachable: the SSO session still ends, locally', async () => {
    const cookie = await env.gw.sessionCookie(HOSTS.globex, { amr: ['sso'], idp: { tid: TENANTS.globex, oid: USERS.glen.oid } });
    env.fe.setDown(true);
    try {
      const res = await env.gw.request(HOSTS.globex, '/.auth/logout', { method: 'POST', cookie, headers: { origin: `http://${HOSTS.globex}` } });
      await res.body.dump();
      assert.equal(res.statusCode, 303);
      assert.match(String(res.headers.location), /^\/\.auth\/signed-out/);
    } finally {
      env.fe.setDown(false);
    }
  });
});
