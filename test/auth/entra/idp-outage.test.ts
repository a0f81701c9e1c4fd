// Microsoft down, slow (beyond entra.timeoutMs) or answering garbage: a clear page with a
// correlation id, no hung request, existing sessions unaffected, and recovery without
// a restart. A tenant whose discovery is already known never waits on Microsoft to start.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { assertErrorPage, HOSTS, startEnv, TENANTS, USERS, type Env } from './support.ts';
import { DEFAULT_PORTAL_AUTH, portalAuthKey } from '../../../src/auth/policy.ts';

const TIMEOUT_MS = 500;

describe('IdP outages', () => {
  let env: Env;
  let session: string;
  before(async () => {
    env = await startEnv({ timeoutMs: TIMEOUT_MS });
    await env.gw.store.putSetting(portalAuthKey('globex'), { ...DEFAULT_PORTAL_AUTH, tenantId: TENANTS.globex, ssoEnabled: true });
    session = await env.gw.sessionCookie(HOSTS.staff);
  });
  after(async () => {
    env.fe.setDown(false);
    env.fe.setDelay(0);
    env.fe.setGarbage(null);
    await env.close();
  });

  async function existingSessionWorks() {
    const started = performance.now();
    const res = await env.gw.request(HOSTS.staff, '/app', { cookie: session });
    await res.body.dump();
    assert.equal(res.statusCode, 200);
    assert.ok(performance.now() - started < TIMEOUT_MS, 'existing sessions never wait on Microsoft');
  }

  test('down (503) before the tenant is known: a clear page; sessions keep working; recovery without restart', async () => {
    env.fe.setDown(true);
    try {
      const page = await env.browser().open(`http://${HOSTS.staff}/.auth/sso?rd=/`);
      assertErrorPage(page, 503, /could not reach Microsoft/);
      await existingSessionWorks();
    } finally {
      env.fe.setDown(false);
    }
    const page = await env.browser().open(`http://${HOSTS.staff}/.auth/sso?rd=/`);
    assert.equal(page.status, 303);
  });

  test('connections reset: the same clear page', async () => {
    env.fe.setDown('reset');
    try {
      assertErrorPage(await env.browser().open(`http://${HOSTS.acme}/.auth/sso?rd=/`), 503, /could not reach Microsoft/);
    } finally {
      env.fe.setDown(false);
    }
  });

  test(`slower than entra.timeoutMs: the page comes after about ${TIMEOUT_MS} ms, not when Microsoft answers`, async () => {
    env.fe.setDelay(5_000);
    try {
      const started = performance.now();
      const page = await env.browser().open(`http://${HOSTS.acme}/.auth/sso?rd=/`);
      const took = performance.now() - started;
      assertErrorPage(page, 503, /could not reach Microsoft/);
      assert.ok(took >= TIMEOUT_MS - 50 && took < TIMEOUT_MS + 1_000, `answered in ${Math.round(took)} ms`);
      await existingSessionWorks();

      // the staff tenant's discovery is known: starting does not wait on Microsoft at all
      const t0 = performance.now();
      const start = await env.browser().open(`http://${HOSTS.staff}/.auth/sso?rd=/`);
      assert.equal(start.status, 303);
      assert.ok(performance.now() - t0 < TIMEOUT_MS / 2, 'no request to Microsoft to start');
    } finally {
      env.fe.setDelay(0);
    }
    assert.equal((await env.browser().open(`http://${HOSTS.acme}/.auth/sso?rd=/`)).status, 303, 'recovered');
  });

  test('down while the person is at Microsoft: the callback shows the page, the next try works', async () => {
    const browser = env.browser();
    const callback = await browser.atMicrosoft(await browser.start(HOSTS.staff), USERS.ada.oid);
    env.fe.setDown(true);
    try {
      assertErrorPage(await browser.open(callback), 503, /could not reach Microsoft/);
    } finally {
      env.fe.setDown(false);
    }
    await env.setStaff({ autoProvision: true });
    const pages = await env.browser().signIn(HOSTS.staff, USERS.ada.oid);
    assert.equal(pages.at(-1)?.status, 200);
  });

  test('garbage discovery document: a clear page', async () => {
    env.fe.setGarbage('discovery');
    try {
      assertErrorPage(await env.browser().open(`http://${HOSTS.globex}/.auth/sso?rd=/`), 503, /could not reach Microsoft/);
    } finally {
      env.fe.setGarbage(null);
    }
  });

  test('garbage JWKS at the callback: a clear page, no session', async () => {
    const browser = env.browser();
    const callback = await browser.atMicrosoft(await browser.start(HOSTS.globex), USERS.glen.oid);
    env.fe.setGarbage('jwks');
    try {
      const page = await browser.open(callback);
      assertErrorPage(page, 503, /could not reach Microsoft/);
      assert.equal(String(page.headers['set-cookie'] ?? '').includes('regentra_session='), false);
    } finally {
      env.fe.setGarbage(null);
    }
    assert.equal((await env.browser().signIn(HOSTS.globex, USERS.glen.oid)).at(-1)?.status, 200);
  });

  test('IdP failures are counted', async () => {
    const text = await env.core.metrics.registry.getSingleMetricAsString('regentra_idp_errors_total');
    assert.match(text, /operation="discovery"\} [1-9]/);
    assert.match(text, /operation="token"\} [1-9]/);
  });
});
