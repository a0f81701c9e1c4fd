// Every ID token that is not exactly right is refused, and no session is created:
// audience, issuer, tenant, lifetime, signature (alg none, unknown key, a key not in
// the JWKS), nonce and the object id — via the stand-in's overrideNextIdToken.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { HOSTS, REGENTRA_TENANT, STAFF_APP, startEnv, TENANTS, USERS, type Env } from './support.ts';
import type { IdTokenOverride } from '../../../dev/fake-entra/index.ts';

const now = () => Math.floor(Date.now() / 1000);

const CASES: ReadonlyArray<{ name: string; override: IdTokenOverride; expect: RegExp }> = [
  { name: 'wrong aud', override: (c) => ({ claims: { ...c, aud: '00000000-aaaa-4bbb-8ccc-999999999999' } }), expect: /could not be verified/ },
  {
    name: 'wrong iss (another tenant of the same authority host)',
    override: (c) => ({ claims: { ...c, iss: String(c.iss).replace(TENANTS.staff, REGENTRA_TENANT) } }),
    expect: /could not be verified/,
  },
  { name: 'wrong tid (another tenant)', override: (c) => ({ claims: { ...c, tid: TENANTS.globex } }), expect: /another organisation(&#39;|')s directory/ },
  { name: 'tid that is not a GUID', override: (c) => ({ claims: { ...c, tid: 'common' } }), expect: /could not be verified/ },
  { name: 'no tid', override: (c) => ({ claims: { ...c, tid: undefined } }), expect: /could not be verified/ },
  { name: 'expired', override: (c) => ({ claims: { ...c, iat: now() - 7200, nbf: now() - 7200, exp: now() - 3600 } }), expect: /could not be verified/ },
  {
    name: 'iat in the future',
    override: (c) => ({ claims: { ...c, iat: now() + 3600, nbf: now() - 10, exp: now() + 7200 } }),
    expect: /could not be verified/,
  },
  { name: 'nbf in the future', override: (c) => ({ claims: { ...c, nbf: now() + 3600 } }), expect: /could not be verified/ },
  { name: 'alg none', override: () => ({ alg: 'none' }), expect: /could not be verified/ },
  { name: 'unknown signing key', override: () => ({ unknownKey: true }), expect: /could not be verified/ },
  { name: 'ES256 with a key the tenant does not publish', override: () => ({ alg: 'ES256' }), expect: /could not be verified/ },
  { name: 'bad nonce', override: (c) => ({ claims: { ...c, nonce: 'not-the-nonce-of-this-attempt' } }), expect: /could not be verified/ },
  { name: 'no nonce', override: (c) => ({ claims: { ...c, nonce: undefined } }), expect: /could not be verified/ },
  // OIDC Core 3.1.3.7 (5): a token authorised for another client is not ours, even with our aud
  { name: 'azp of another client', override: (c) => ({ claims: { ...c, azp: '00000000-aaaa-4bbb-8ccc-999999999999' } }), expect: /could not be verified/ },
  {
    name: 'several audiences without azp',
    override: (c) => ({ claims: { ...c, aud: [STAFF_APP.clientId, '00000000-aaaa-4bbb-8ccc-999999999999'], azp: undefined } }),
    expect: /could not be verified/,
  },
  { name: 'oid that is not a GUID', override: (c) => ({ claims: { ...c, oid: 'ada' } }), expect: /could not be verified/ },
  { name: 'garbage instead of a JWT', override: () => ({ raw: 'not.a.jwt' }), expect: /could not be verified/ },
];

describe('ID token checks', () => {
  let env: Env;
  before(async () => {
    env = await startEnv();
    await env.gw.store.createUser({
      realm: 'staff',
      email: 'ada@staff.test',
      displayName: 'Ada',
      role: 'admin',
      externalTid: TENANTS.staff,
      externalOid: USERS.ada.oid,
    });
  });
  after(() => env.close());

  for (const c of CASES) {
    test(`refused: ${c.name}`, async () => {
      const browser = env.browser();
      const authorize = await browser.start(HOSTS.staff);
      env.fe.overrideNextIdToken(c.override);
      const callback = await browser.atMicrosoft(authorize, USERS.ada.oid);
      const page = await browser.open(callback);
      assert.equal(page.status, 403, page.body.slice(0, 300));
      assert.match(page.body, c.expect);
      assert.match(page.body, /Reference: /);
      assert.equal(String(page.headers['set-cookie'] ?? '').includes('regentra_session='), false, 'no session cookie');
      const me = await browser.open(`http://${HOSTS.staff}/.auth/me`, { headers: { accept: 'application/json' } });
      assert.equal(me.status, 401);
    });
  }

  test('after all that, a correct token still signs in (nothing got stuck)', async () => {
    env.fe.overrideNextIdToken(null);
    const pages = await env.browser().signIn(HOSTS.staff, USERS.ada.oid);
    assert.equal(pages.at(-1)?.status, 200);
  });
});
