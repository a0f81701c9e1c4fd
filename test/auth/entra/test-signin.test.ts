// Test Connection, step 2: the real round trip with values that are not saved yet. The
// form's values (secret included) travel in the encrypted flow cookie, never in a URL;
// the callback creates no session: it stores the outcome for takeTestResult.
import type { Core } from '../../../src/core.ts';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { HOSTS, startEnv, STAFF_APP, TENANTS, USERS, type Env, type Browser } from './support.ts';
import { beginTestSignIn, settingsFingerprint, takeTestResult, type EntraAppCredentials } from '../../../src/auth/entra/index.ts';
import type { GatewayApp } from '../../../src/app.ts';

const START = '/.auth/admin/__entra-test/start';
const RESULT = '/.auth/admin/__entra-test/result';

/** stand-ins for the admin settings page: start the round trip, read the result */
function testRoutes(app: GatewayApp, core: Core): void {
  app.post(START, (request: FastifyRequest, reply: FastifyReply) => beginTestSignIn(core, request, reply, request.body as EntraAppCredentials, RESULT));
  app.get(RESULT, (request: FastifyRequest) => ({ result: takeTestResult(core, request) }));
}

describe('test sign-in round trip', () => {
  let env: Env;
  before(async () => {
    env = await startEnv({ staff: null, beforeListen: testRoutes });
  });
  after(() => env.close());

  async function begin(browser: Browser, creds: EntraAppCredentials) {
    return browser.open(`http://${HOSTS.staff}${START}`, { method: 'POST', body: JSON.stringify(creds), headers: { 'content-type': 'application/json' } });
  }
  async function result(browser: Browser) {
    const page = await browser.open(`http://${HOSTS.staff}${RESULT}`, { headers: { accept: 'application/json' } });
    return (JSON.parse(page.body) as { result: Record<string, unknown> | null }).result;
  }

  const good: EntraAppCredentials = { tenantId: TENANTS.staff, clientId: STAFF_APP.clientId, clientSecret: STAFF_APP.clientSecret };

  test('the form values sign in at Microsoft; the outcome is stored, no session is created', async () => {
    const browser = env.browser();
    const start = await begin(browser, good);
    assert.equal(start.status, 303);
    const authorize = new URL(start.location ?? '');
    assert.equal(authorize.pathname, `/${TENANTS.staff}/oauth2/v2.0/authorize`);
    assert.equal(authorize.searchParams.get('client_id'), STAFF_APP.clientId);
    assert.ok(!authorize.href.includes(encodeURIComponent(STAFF_APP.clientSecret)) && !authorize.href.includes(STAFF_APP.clientSecret), 'no secret in the URL');

    const back = await browser.open(await browser.atMicrosoft(authorize, USERS.ada.oid));
    assert.equal(back.status, 303);
    assert.equal(back.location, `http://${HOSTS.staff}${RESULT}`);
    assert.ok(!String(back.headers['set-cookie']).includes('regentra_session='), 'no session cookie');
    assert.equal((await browser.open(`http://${HOSTS.staff}/.auth/me`, { headers: { accept: 'application/json' } })).status, 401);
    assert.equal(await env.gw.store.getUserByExternalId('staff', TENANTS.staff, USERS.ada.oid), null, 'nobody bound or provisioned');

    const r = await result(browser);
    assert.equal(r?.ok, true);
    assert.equal(r?.fingerprint, settingsFingerprint(env.core, good));
    assert.deepEqual(r?.claims, { name: 'Ada Lovelace', email: 'ada@staff.test', tid: TENANTS.staff, oid: USERS.ada.oid });
    assert.equal(r?.error, null);
    assert.equal(await result(browser), null, 'read once');

    const audit = (await env.gw.store.listAudit({ type: 'sso.test' }))[0];
    assert.equal(audit?.outcome, 'success');
    assert.ok(!JSON.stringify(audit).includes(STAFF_APP.clientSecret));
  });

  test('a wrong secret: the round trip records the failure with its AADSTS code', async () => {
    const browser = env.browser();
    const wrong = { ...good, clientSecret: 'wrong~secret' };
    const start = await begin(browser, wrong);
    const back = await browser.open(await browser.atMicrosoft(new URL(start.location ?? ''), USERS.ada.oid));
    assert.equal(back.status, 303);
    const r = await result(browser);
    assert.equal(r?.ok, false);
    assert.equal(r?.fingerprint, settingsFingerprint(env.core, wrong));
    assert.equal((r?.error as { code: string }).code, 'AADSTS7000215');
  });

  test('malformed values never leave for Microsoft: the failure is stored at once', async () => {
    const browser = env.browser();
    const start = await begin(browser, { ...good, tenantId: 'not-a-guid' });
    assert.equal(start.status, 303);
    assert.equal(start.location, `http://${HOSTS.staff}${RESULT}`);
    assert.equal(((await result(browser))?.error as { code: string }).code, 'INVALID_SETTINGS');
  });

  test('a test callback cannot be replayed, and a sign-in callback is not a test', async () => {
    const browser = env.browser();
    const start = await begin(browser, good);
    const callback = await browser.atMicrosoft(new URL(start.location ?? ''), USERS.ada.oid);
    await browser.open(callback);
    const again = await browser.open(callback);
    assert.equal(again.status, 400);
  });

  test('settingsFingerprint changes with each value and is keyed', async () => {
    const f = settingsFingerprint(env.core, good);
    assert.equal(f, settingsFingerprint(env.core, { ...good, tenantId: good.tenantId.toUpperCase() }));
    for (const changed of [
      { ...good, tenantId: TENANTS.acme },
      { ...good, clientId: 'other' },
      { ...good, clientSecret: 'other' },
    ]) {
      assert.notEqual(settingsFingerprint(env.core, changed), f);
    }
    assert.ok(!f.includes(STAFF_APP.clientSecret));
    const other = await startEnv({ staff: null, acme: null });
    try {
      assert.notEqual(settingsFingerprint(other.core, good), f, 'another key, another fingerprint');
    } finally {
      await other.close();
    }
  });
});
