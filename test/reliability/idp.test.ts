/**
 * Microsoft Entra ID down, slow beyond entra.timeoutMs, or answering garbage, while
 * people sign in and others are signed in with Microsoft (test/auth/entra/idp-outage
 * covers one request at a time from a password session). Here: many sign-ins at once
 * are all answered with the clear page within the timeout (none hangs), and so are many
 * callbacks at once while the token endpoint is down, resetting or slow (keys and
 * discovery already known are not asked again: garbage there is idp-outage's case, on a
 * tenant not seen before); a slow token
 * endpoint at the callback is the same page, with no session; people signed in with
 * Microsoft keep working (their sessions never call Microsoft); and the next sign-in
 * works as soon as Microsoft does, without a restart.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { assertErrorPage, HOSTS, startEnv, TENANTS, USERS, type Env } from '../auth/entra/support.ts';
import { DEFAULT_PORTAL_AUTH, portalAuthKey } from '../../src/auth/policy.ts';

const TIMEOUT_MS = 600;

describe('Microsoft unavailable during a rush of sign-ins', () => {
  let env: Env;
  let ssoSession: string;
  before(async () => {
    env = await startEnv({ timeoutMs: TIMEOUT_MS, staff: { autoProvision: true } });
    // someone signed in with Microsoft before the trouble
    const browser = env.browser();
    const pages = await browser.signIn(HOSTS.staff, USERS.ada.oid, '/app');
    assert.equal(pages.at(-1)?.status, 200);
    ssoSession = browser.cookieHeader(HOSTS.staff) as string;
  });
  after(async () => {
    env.fe.setDown(false);
    env.fe.setDelay(0);
    env.fe.setGarbage(null);
    await env.close();
  });

  /** the SSO session works and does not wait on Microsoft */
  async function signedInWorks(): Promise<void> {
    for (const path of ['/app/x', '/.auth/me']) {
      const started = performance.now();
      const res = await env.gw.request(HOSTS.staff, path, { cookie: ssoSession, headers: { accept: 'application/json' } });
      await res.body.dump();
      assert.equal(res.statusCode, 200, path);
      assert.ok(performance.now() - started < TIMEOUT_MS, `${path} waited on Microsoft`);
    }
  }

  test('25 sign-ins starting at once for a tenant not known yet, Microsoft down: all the clear page at once; recovery', async () => {
    await env.gw.store.putSetting(portalAuthKey('globex'), { ...DEFAULT_PORTAL_AUTH, tenantId: TENANTS.globex, ssoEnabled: true });
    env.core.policy.invalidate();
    env.fe.setDelay(10_000);
    let pages;
    const started = performance.now();
    try {
      pages = await Promise.all(Array.from({ length: 25 }, () => env.browser().open(`http://${HOSTS.globex}/.auth/sso?rd=/`)));
    } finally {
      env.fe.setDelay(0);
    }
    const ms = performance.now() - started;
    for (const page of pages) assertErrorPage(page, 503, /could not reach Microsoft/);
    assert.ok(ms < TIMEOUT_MS + 2_000, `the rush took ${Math.round(ms)} ms`);
    await signedInWorks();
    assert.equal((await env.browser().open(`http://${HOSTS.globex}/.auth/sso?rd=/`)).status, 303, 'recovered without a restart');
  });

  for (const [name, brk, fix] of [
    ['down (503)', () => env.fe.setDown(true), () => env.fe.setDown(false)],
    ['resetting connections', () => env.fe.setDown('reset'), () => env.fe.setDown(false)],
    ['slower than entra.timeoutMs', () => env.fe.setDelay(10_000), () => env.fe.setDelay(0)],
  ] as const) {
    test(`${name} while 12 people come back from Microsoft at once: each the clear page, no session, none hangs; SSO sessions unaffected; recovery`, async () => {
      const attempts = [];
      for (let i = 0; i < 12; i++) {
        const browser = env.browser();
        attempts.push({ browser, callback: await browser.atMicrosoft(await browser.start(HOSTS.staff), USERS.ken.oid) });
      }
      brk();
      let pages;
      const started = performance.now();
      try {
        pages = await Promise.all(attempts.map((a) => a.browser.open(a.callback)));
        await signedInWorks();
      } finally {
        fix();
      }
      const ms = performance.now() - started;
      for (const page of pages) {
        assertErrorPage(page, 503, /could not reach Microsoft/);
        assert.ok(!String(page.headers['set-cookie'] ?? '').includes(`${env.gw.cookieName}=`), 'no session');
      }
      // a callback needs discovery (cached), the token endpoint and the keys: at most a few timeouts
      assert.ok(ms < TIMEOUT_MS * 3 + 2_000, `the callbacks took ${Math.round(ms)} ms`);
      const pagesAfter = await env.browser().signIn(HOSTS.staff, USERS.ken.oid);
      assert.equal(pagesAfter.at(-1)?.status, 200, 'the next sign-in works without a restart');
    });
  }

  test('a token endpoint slower than the timeout at the callback: the clear page, no session, and the next try works', async () => {
    const browser = env.browser();
    const callback = await browser.atMicrosoft(await browser.start(HOSTS.staff), USERS.grace.oid);
    env.fe.setDelay(10_000);
    let page;
    const started = performance.now();
    try {
      page = await browser.open(callback);
    } finally {
      env.fe.setDelay(0);
    }
    const ms = performance.now() - started;
    assertErrorPage(page, 503, /could not reach Microsoft/);
    assert.ok(ms < TIMEOUT_MS * 3 + 1_500, `answered after ${Math.round(ms)} ms`);
    assert.ok(!String(page.headers['set-cookie'] ?? '').includes(`${env.gw.cookieName}=`), 'no session');
    await signedInWorks();
    const pages = await env.browser().signIn(HOSTS.staff, USERS.grace.oid);
    assert.equal(pages.at(-1)?.status, 200);
  });

  test('signing out of a Microsoft session while Microsoft is down still ends it here', async () => {
    env.fe.setDown(true);
    try {
      const res = await env.gw.request(HOSTS.staff, '/.auth/logout', {
        method: 'POST',
        cookie: ssoSession,
        headers: { accept: 'text/html', 'sec-fetch-site': 'same-origin' },
      });
      await res.body.dump();
      assert.equal(res.statusCode, 303);
      const me = await env.gw.request(HOSTS.staff, '/.auth/me', { cookie: ssoSession });
      await me.body.dump();
      assert.equal(me.statusCode, 401, 'the copied cookie is no session after sign-out');
    } finally {
      env.fe.setDown(false);
    }
  });
});
