// Portal sign-in with Microsoft (no central callback host): Regentra's multi-tenant app,
// pinned to the client's tenant; users of that tenant are provisioned into the client's
// realm on first sign-in, bound to tid+oid; each portal host is its own redirect URI.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { HOSTS, last, PORTAL_APP, startEnv, TENANTS, USERS, type Env } from './support.ts';
import { verifyIdentity } from '../../../src/identity/verify.ts';
import { DEFAULT_PORTAL_AUTH, portalAuthKey } from '../../../src/auth/policy.ts';

describe('portal sign-in with Microsoft', () => {
  let env: Env;
  before(async () => {
    env = await startEnv({ staff: null });
  });
  after(() => env.close());

  test('a user of the client tenant is provisioned into the client realm and reaches the portal', async () => {
    const browser = env.browser();
    const authorize = await browser.start(HOSTS.acme, '/tickets');
    assert.equal(authorize.pathname, `/${TENANTS.acme}/oauth2/v2.0/authorize`, 'pinned to the client tenant');
    assert.equal(authorize.searchParams.get('client_id'), PORTAL_APP.clientId);
    assert.equal(authorize.searchParams.get('redirect_uri'), `http://${HOSTS.acme}/.auth/callback`);

    const pages = await browser.follow(await browser.atMicrosoft(authorize, USERS.alice.oid));
    assert.equal(pages[0]?.location, `http://${HOSTS.acme}/tickets`);
    assert.equal(last(pages).status, 200);

    const user = await env.gw.store.getUserByExternalId('portal:acme', TENANTS.acme, USERS.alice.oid);
    assert.ok(user, 'provisioned on first sign-in');
    assert.equal(user.email, 'alice@acme.test');
    assert.equal(await env.gw.store.getUserByExternalId('staff', TENANTS.acme, USERS.alice.oid), null);

    const echo = env.gw.portalUpstream.received.at(-1);
    assert.ok(echo);
    const identity = await verifyIdentity(echo.headers, { keys: JSON.parse(env.core.jwks.body), audience: 'portal', issuer: 'https://gateway.test' });
    assert.equal(identity.sub, user.id);
    assert.equal(identity.realm, 'portal:acme');
    assert.equal(identity.client, 'acme');
    assert.equal(identity.role, null);
    assert.equal(identity.amr[0], 'sso');
  });

  test('the second portal host of the client is its own redirect URI and finds the same user', async () => {
    const pages = await env.browser().signIn(HOSTS.acmeCustom, USERS.alice.oid, '/');
    assert.equal(last(pages).status, 200);
    assert.equal(env.fe.tokenRequests.at(-1)?.params.redirect_uri, `http://${HOSTS.acmeCustom}/.auth/callback`);
    const users = (await env.gw.store.listUsers('portal:acme')).filter((u) => u.externalOid === USERS.alice.oid);
    assert.equal(users.length, 1);
  });

  test('a portal session is bound to its client: it does not open another client portal', async () => {
    const browser = env.browser();
    await browser.signIn(HOSTS.acme, USERS.alice.oid, '/');
    const cookie = browser.cookieHeader(HOSTS.acme);
    assert.ok(cookie);
    const other = await env.gw.request(HOSTS.globex, '/', { headers: { cookie, accept: 'application/json' } });
    await other.body.dump();
    assert.equal(other.statusCode, 401);
  });

  test('a client without SSO (globex) refuses /.auth/sso', async () => {
    const page = await env.browser().open(`http://${HOSTS.globex}/.auth/sso?rd=/`);
    assert.equal(page.status, 403);
    assert.match(page.body, /not turned on/);
  });

  test('turning the client SSO off stops new sign-ins at the callback too', async () => {
    const browser = env.browser();
    const authorize = await browser.start(HOSTS.acme);
    const callback = await browser.atMicrosoft(authorize, USERS.alice.oid);
    await env.gw.store.putSetting(portalAuthKey('acme'), { ...DEFAULT_PORTAL_AUTH, tenantId: TENANTS.acme, ssoEnabled: false });
    env.core.policy.invalidate();
    try {
      const page = await browser.open(callback);
      assert.equal(page.status, 403);
      assert.match(page.body, /not turned on/);
    } finally {
      await env.gw.store.putSetting(portalAuthKey('acme'), { ...DEFAULT_PORTAL_AUTH, tenantId: TENANTS.acme, ssoEnabled: true });
      env.core.policy.invalidate();
    }
  });
});
