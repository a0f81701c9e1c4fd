// Staff sign-in with Microsoft, end to end: the staff tenant's single-tenant app from the
// stored settings, the user matched by tid+oid (linked by an admin; never by email), signed
// identity headers at the upstream with amr ["sso", …] and no TOTP step.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeJwt } from 'jose';
import { HOSTS, last, startEnv, STAFF_APP, TENANTS, USERS, type Env } from './support.ts';
import { verifyIdentity } from '../../../src/identity/verify.ts';
import { linkIdentity } from '../../../src/auth/password/users.ts';

describe('staff sign-in with Microsoft', () => {
  let env: Env;
  before(async () => {
    env = await startEnv();
  });
  after(() => env.close());

  test('a staff user an admin linked to tid+oid signs in and reaches the app', async () => {
    const created = await env.gw.store.createUser({ realm: 'staff', email: 'ada@staff.test', displayName: 'Ada L.', role: 'admin' });
    const existing = await linkIdentity(env.gw.store, created, { tid: TENANTS.staff, oid: USERS.ada.oid }, { actor: 'cli', now: () => Date.now() - 1000 });
    const browser = env.browser();
    const authorize = await browser.start(HOSTS.staff, '/reports?q=1');

    // the authorization request: tenant authority, PKCE S256, state, nonce, scopes
    assert.equal(authorize.pathname, `/${TENANTS.staff}/oauth2/v2.0/authorize`);
    const q = authorize.searchParams;
    assert.equal(q.get('client_id'), STAFF_APP.clientId);
    assert.equal(q.get('redirect_uri'), `http://${HOSTS.staff}/.auth/callback`);
    assert.equal(q.get('response_type'), 'code');
    assert.equal(q.get('scope'), 'openid profile email User.Read');
    assert.equal(q.get('code_challenge_method'), 'S256');
    assert.match(q.get('code_challenge') ?? '', /^[A-Za-z0-9_-]{43}$/);
    assert.ok((q.get('state') ?? '').length >= 32);
    assert.ok((q.get('nonce') ?? '').length >= 32);

    const pages = await browser.follow(await browser.atMicrosoft(authorize, USERS.ada.oid));
    assert.equal(pages[0]?.status, 303);
    assert.equal(pages[0]?.location, `http://${HOSTS.staff}/reports?q=1`);
    const app = last(pages);
    assert.equal(app.status, 200);

    // the token request: client_secret_post, PKCE verifier, the registered redirect URI
    const token = env.fe.tokenRequests.at(-1);
    assert.equal(token?.clientAuth, 'client_secret_post');
    assert.equal(token?.params.grant_type, 'authorization_code');
    assert.match(token?.params.code_verifier ?? '', /^[A-Za-z0-9_-]{43,128}$/);
    assert.equal(token?.params.redirect_uri, `http://${HOSTS.staff}/.auth/callback`);

    // identity at the upstream: signed, amr starts with "sso"
    const echo = env.gw.staffUpstream.received.at(-1);
    assert.ok(echo);
    assert.equal(echo.url, '/reports?q=1');
    assert.equal(echo.headers['x-regentra-email'], 'ada@staff.test');
    assert.match(String(echo.headers['x-regentra-auth-method']), /^sso\b/);
    const identity = await verifyIdentity(echo.headers, { keys: JSON.parse(env.core.jwks.body), audience: 'staff', issuer: 'https://gateway.test' });
    assert.equal(identity.sub, existing.id);
    assert.equal(identity.role, 'admin');
    assert.deepEqual(identity.amr.slice(0, 1), ['sso']);
    assert.equal(decodeJwt(String(echo.headers['x-regentra-identity'])).realm, 'staff');

    const bound = await env.gw.store.getUser('staff', existing.id);
    assert.equal(bound?.externalTid, TENANTS.staff);
    assert.equal(bound?.externalOid, USERS.ada.oid);

    const me = await browser.open(`http://${HOSTS.staff}/.auth/me`, { headers: { accept: 'application/json' } });
    const body = JSON.parse(me.body) as { idp: { tid: string; oid: string }; amr: string[] };
    assert.deepEqual(body.idp, { tid: TENANTS.staff, oid: USERS.ada.oid });
    assert.equal(body.amr[0], 'sso');

    const audit = await env.gw.store.listAudit({ realm: 'staff', type: 'signin' });
    assert.equal(audit[0]?.details.method, 'sso');
    assert.equal(audit[0]?.userId, existing.id);
    const metrics = await env.core.metrics.registry.getSingleMetricAsString('regentra_signins_total');
    assert.match(metrics, /method="sso",outcome="success"\} 1/);
    // nothing the IdP sent (code, tokens) is echoed back to the browser
    const code = env.fe.tokenRequests.at(-1)?.params.code ?? '';
    for (const p of pages) assert.ok(!p.body.includes(code) && !String(p.location).includes(code));
  });

  test('the second sign-in matches by tid+oid even when the email changed', async () => {
    const user = await env.gw.store.getUserByExternalId('staff', TENANTS.staff, USERS.ada.oid);
    assert.ok(user);
    await env.gw.store.updateUser('staff', user.id, { email: 'ada.renamed@staff.test' });
    const pages = await env.browser().signIn(HOSTS.staff, USERS.ada.oid, '/');
    assert.equal(last(pages).status, 200);
    assert.equal(env.gw.staffUpstream.received.at(-1)?.headers['x-regentra-user-id'], user.id);
  });

  test('an unknown member of the tenant is told to ask for access (auto-provision off)', async () => {
    // (no account with Ken's email exists: the answer is the same words when one does)
    const pages = await env.browser().signIn(HOSTS.staff, USERS.ken.oid);
    assert.equal(pages.length, 1);
    assert.equal(pages[0]?.status, 403);
    assert.match(pages[0]?.body ?? '', /Ask your admin for access/);
    assert.equal(await env.gw.store.getUserByEmail('staff', 'ken@staff.test'), null);
    const failures = await env.gw.store.listAudit({ type: 'signin.failure' });
    assert.equal(failures[0]?.details.code, 'SSO_NOT_PROVISIONED');
  });

  test('with auto-provision on, an unknown member is created as a member bound to tid+oid', async () => {
    await env.setStaff({ autoProvision: true });
    try {
      const pages = await env.browser().signIn(HOSTS.staff, USERS.ken.oid);
      assert.equal(last(pages).status, 200);
      const ken = await env.gw.store.getUserByExternalId('staff', TENANTS.staff, USERS.ken.oid);
      assert.equal(ken?.email, 'ken@staff.test');
      assert.equal(ken?.role, 'member');
      assert.equal(ken?.passwordHash, null);
      assert.equal(env.gw.staffUpstream.received.at(-1)?.headers['x-regentra-role'], 'member');
    } finally {
      await env.setStaff({ autoProvision: false });
    }
  });

  test('a disabled user is refused', async () => {
    const ken = await env.gw.store.getUserByExternalId('staff', TENANTS.staff, USERS.ken.oid);
    assert.ok(ken);
    await env.gw.store.updateUser('staff', ken.id, { status: 'disabled' });
    const pages = await env.browser().signIn(HOSTS.staff, USERS.ken.oid);
    assert.equal(pages[0]?.status, 403);
    assert.match(pages[0]?.body ?? '', /Account disabled/);
    for (const answer of [pages[0], pages[0]?.redirectedFrom])
      assert.equal(String(answer?.headers['set-cookie'] ?? '').includes('regentra_session='), false, 'no session cookie');
  });

  test('an account already linked to another Microsoft identity is not taken over by email', async () => {
    await env.setStaff({ autoProvision: true, autoLink: true });
    try {
      await env.gw.store.createUser({
        realm: 'staff',
        email: 'grace.hopper@staff.test',
        displayName: 'Other Grace',
        role: 'admin',
        externalTid: TENANTS.staff,
        externalOid: '99999999-0000-4000-8000-000000000099',
      });
      const pages = await env.browser().signIn(HOSTS.staff, USERS.grace.oid);
      assert.equal(pages[0]?.status, 403);
      assert.match(pages[0]?.body ?? '', /not linked to a Regentra account yet/);
      assert.equal(await env.gw.store.getUserByExternalId('staff', TENANTS.staff, USERS.grace.oid), null);
    } finally {
      await env.setStaff({ autoProvision: false, autoLink: false });
    }
  });

  test('when staff SSO is off, /.auth/sso is refused with a clear page', async () => {
    await env.setStaff({ enabled: false });
    try {
      const page = await env.browser().open(`http://${HOSTS.staff}/.auth/sso?rd=/`);
      assert.equal(page.status, 403);
      assert.match(page.body, /Microsoft sign-in is not available/);
      assert.match(page.body, /Reference: /);
    } finally {
      await env.setStaff({ enabled: true });
    }
  });
});
