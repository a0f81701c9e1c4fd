/**
 * OpenID Connect through the central callback host. The direct callback's checks are
 * covered in test/auth/entra (id-token-checks, state-replay, cross-tenant,
 * central-handoff); here the same attacks go through the central host, whose state is
 * a sealed envelope rather than a cookie, and whose answer is a hand-off ticket
 * rather than a session: every bad ID token, a replayed state, a replayed code paired
 * with a fresh state of the attacker's own, a state started on one client used with a
 * code for another client's tenant. Each is refused before any ticket is issued; no
 * account is created or bound; the attempt's own browser is then still able to sign in.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { HOSTS, REGENTRA_TENANT, startEnv, TENANTS, USERS, type Env } from '../auth/entra/support.ts';
import type { IdTokenOverride } from '../../dev/fake-entra/index.ts';
import { DEFAULT_PORTAL_AUTH, portalAuthKey } from '../../src/auth/policy.ts';

const now = () => Math.floor(Date.now() / 1000);

const BAD_TOKENS: ReadonlyArray<readonly [string, IdTokenOverride]> = [
  ['alg none', () => ({ alg: 'none' })],
  ['signed by a key the tenant does not publish', () => ({ unknownKey: true })],
  ['ES256 instead of RS256', () => ({ alg: 'ES256' })],
  ['wrong aud', (c) => ({ claims: { ...c, aud: '00000000-aaaa-4bbb-8ccc-999999999999' } })],
  ['wrong iss', (c) => ({ claims: { ...c, iss: String(c.iss).replace(TENANTS.acme, REGENTRA_TENANT) } })],
  ["tid of another client's tenant", (c) => ({ claims: { ...c, tid: TENANTS.globex } })],
  ['tid not a GUID', (c) => ({ claims: { ...c, tid: 'organizations' } })],
  ['expired', (c) => ({ claims: { ...c, iat: now() - 7200, nbf: now() - 7200, exp: now() - 3600 } })],
  ['issued in the future', (c) => ({ claims: { ...c, iat: now() + 3600, nbf: now() - 10, exp: now() + 7200 } })],
  ['nonce of another attempt', (c) => ({ claims: { ...c, nonce: 'nonce-of-another-attempt' } })],
  ['no nonce', (c) => ({ claims: { ...c, nonce: undefined } })],
  ['oid not a GUID', (c) => ({ claims: { ...c, oid: 'alice' } })],
  ['not a JWT', () => ({ raw: 'eyJhbGciOiJub25lIn0.e30.' })],
];

describe('the central callback host refuses what the direct callback refuses', () => {
  let env: Env;
  before(async () => {
    env = await startEnv({ central: true });
    await env.gw.store.putSetting(portalAuthKey('globex'), { ...DEFAULT_PORTAL_AUTH, tenantId: TENANTS.globex, ssoEnabled: true });
  });
  after(() => env.close());

  const acmeUsers = async () => (await env.gw.store.listUsers('portal:acme')).length;

  for (const [name, override] of BAD_TOKENS) {
    test(`an ID token with ${name}: no ticket, no account`, async () => {
      const users = await acmeUsers();
      const browser = env.browser();
      const authorize = await browser.start(HOSTS.acme, '/tickets');
      env.fe.overrideNextIdToken(override);
      const callback = await browser.atMicrosoft(authorize, USERS.alice.oid);
      assert.equal(new URL(callback).host, HOSTS.central);
      const page = await browser.open(callback);
      assert.ok(page.status === 403 || page.status === 400, `${page.status}: ${page.body.slice(0, 200)}`);
      assert.equal(page.location, null, 'no hand-off');
      assert.doesNotMatch(page.body, /ticket=/);
      assert.equal(await acmeUsers(), users, 'no account created');
      assert.equal(await env.gw.store.getUserByExternalId('portal:acme', TENANTS.acme, USERS.alice.oid), null, 'nothing bound');
    });
  }

  test('a replayed central callback (same sealed state) is refused before any token request', async () => {
    env.fe.overrideNextIdToken(null);
    const browser = env.browser();
    const callback = await browser.atMicrosoft(await browser.start(HOSTS.acme), USERS.alice.oid);
    const first = await browser.open(callback);
    assert.equal(first.status, 303);
    const tokenCalls = env.fe.tokenRequests.length;
    const again = await env.browser().open(callback);
    assert.equal(again.status, 400);
    assert.match(again.body, /already been used/);
    assert.equal(env.fe.tokenRequests.length, tokenCalls, 'nothing redeemed');
  });

  test("a stolen code paired with the attacker's own fresh state is refused", async () => {
    const victim = env.browser();
    const callback = new URL(await victim.atMicrosoft(await victim.start(HOSTS.acme), USERS.alice.oid));
    assert.equal((await victim.open(callback)).status, 303, 'the victim signs in');
    const attacker = env.browser();
    const ownState = (await attacker.start(HOSTS.acme)).searchParams.get('state') ?? '';
    callback.searchParams.set('state', ownState);
    const page = await attacker.open(callback);
    assert.equal(page.status, 400);
    assert.match(page.body, /already been used/);
    assert.equal(page.location, null);
  });

  test("a code for one client's tenant with a state started on another client is refused", async () => {
    const users = (await env.gw.store.listUsers('portal:globex')).length;
    // the attacker's state for acme; a code from a sign-in to globex (another tenant, another client)
    const acme = env.browser();
    const acmeState = (await acme.start(HOSTS.acme)).searchParams.get('state') ?? '';
    const globex = env.browser();
    const globexCallback = new URL(await globex.atMicrosoft(await globex.start(HOSTS.globex), USERS.glen.oid));
    globexCallback.searchParams.set('state', acmeState);
    const page = await acme.open(globexCallback);
    assert.ok(page.status === 403 || page.status === 400, String(page.status));
    assert.equal(page.location, null, 'no hand-off');
    assert.equal((await env.gw.store.listUsers('portal:acme')).filter((u) => u.externalOid === USERS.glen.oid).length, 0);
    assert.equal((await env.gw.store.listUsers('portal:globex')).length, users);
  });

  test('the hand-off on the central host itself, or on a portal without an attempt, is refused', async () => {
    const browser = env.browser();
    const callback = await browser.atMicrosoft(await browser.start(HOSTS.acme), USERS.alice.oid);
    const central = await browser.open(callback);
    const ticketUrl = new URL(central.location!);
    for (const host of [HOSTS.central, HOSTS.staff, HOSTS.globex, HOSTS.acmeCustom]) {
      const page = await env.browser().open(`http://${host}/.auth/handoff${ticketUrl.search}`);
      assert.ok(page.status === 400 || page.status === 404, `${host}: ${page.status}`);
      assert.equal(page.location, null);
    }
    // and the real browser can still finish (the attempts above consumed nothing)
    const pages = await browser.follow(ticketUrl);
    assert.equal(pages[0]?.status, 303);
    assert.equal(pages.at(-1)?.status, 200);
  });

  test('after all that, a correct sign-in still works', async () => {
    env.fe.overrideNextIdToken(null);
    const pages = await env.browser().signIn(HOSTS.acme, USERS.alice.oid, '/ok');
    assert.equal(pages.at(-1)?.status, 200);
  });
});
