// A portal sign-in is pinned to the client's tenant: a token from any other tenant is
// refused even when otherwise valid, with a message that names the problem.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { HOSTS, startEnv, TENANTS, USERS, type Env } from './support.ts';

describe('cross-tenant tokens on a portal', () => {
  let env: Env;
  before(async () => {
    env = await startEnv({ staff: null });
  });
  after(() => env.close());

  async function signInWith(override: Parameters<Env['fe']['overrideNextIdToken']>[0]) {
    const browser = env.browser();
    const authorize = await browser.start(HOSTS.acme);
    env.fe.overrideNextIdToken(override);
    return { browser, page: await browser.open(await browser.atMicrosoft(authorize, USERS.alice.oid)) };
  }

  test('a validly signed token whose tid is another tenant (globex) is refused on acme', async () => {
    const { browser, page } = await signInWith((c) => ({ claims: { ...c, tid: TENANTS.globex, oid: USERS.glen.oid } }));
    assert.equal(page.status, 403);
    assert.match(page.body, /another organisation(&#39;|')s directory/);
    assert.equal((await browser.open(`http://${HOSTS.acme}/.auth/me`, { headers: { accept: 'application/json' } })).status, 401);
    assert.equal(await env.gw.store.getUserByExternalId('portal:acme', TENANTS.globex, USERS.glen.oid), null);
  });

  test('a token issued for another tenant (iss and tid of globex) is refused with the same explanation', async () => {
    const { page } = await signInWith((c) => ({ claims: { ...c, tid: TENANTS.globex, iss: String(c.iss).replace(TENANTS.acme, TENANTS.globex) } }));
    assert.equal(page.status, 403);
    assert.match(page.body, /another organisation(&#39;|')s directory/);
  });

  test('Entra refusing a user of another tenant (AADSTS50020) gets the explanation and the admin hint', async () => {
    const browser = env.browser();
    const authorize = await browser.start(HOSTS.acme);
    const state = authorize.searchParams.get('state') ?? '';
    const page = await browser.open(
      `http://${HOSTS.acme}/.auth/callback?error=access_denied&error_description=${encodeURIComponent("AADSTS50020: User account 'glen@globex.test' from identity provider 'https://sts.windows.net/x/' does not exist in tenant 'Acme Corp'.")}&state=${encodeURIComponent(state)}`,
    );
    assert.equal(page.status, 400);
    assert.match(page.body, /another organisation(&#39;|')s directory/);
    assert.match(page.body, /For your administrator/);
    assert.match(page.body, /AADSTS50020/);
    assert.ok(!page.body.includes('glen@globex.test'), 'Microsoft text is not echoed');
  });
});
