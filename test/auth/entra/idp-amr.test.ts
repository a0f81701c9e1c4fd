// The identity's `amr` says only what the gateway checked: ["sso"] for a Microsoft
// sign-in. What Microsoft says it checked (`pwd`, `otp`, `mfa`, `rcv`…) travels apart,
// as `idp_amr` in the identity JWT and /.auth/me, so that no backend reads Microsoft's
// `otp` as "the gateway's TOTP was done" (issue #12 §7).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeJwt } from 'jose';
import { HOSTS, last, startEnv, TENANTS, USERS, type Env } from './support.ts';
import { verifyIdentity } from '../../../src/identity/verify.ts';
import type { Upstream } from '../../support/upstream.ts';

const MICROSOFT_AMR = ['pwd', 'otp', 'rcv', 'mfa'];

describe('Microsoft’s amr is kept apart from the gateway’s', () => {
  let env: Env;
  before(async () => {
    env = await startEnv({ central: true });
    await env.gw.store.createUser({
      realm: 'staff',
      email: 'ada@staff.test',
      displayName: 'Ada',
      role: 'member',
      externalTid: TENANTS.staff,
      externalOid: USERS.ada.oid,
    });
  });
  after(() => env.close());

  async function identityAt(upstream: Upstream, audience: string) {
    const echo = upstream.received.at(-1);
    assert.ok(echo);
    const who = await verifyIdentity(echo.headers, { keys: JSON.parse(env.core.jwks.body), audience, issuer: 'https://gateway.test' });
    return { header: echo.headers['x-regentra-auth-method'], who, jwt: decodeJwt(String(echo.headers['x-regentra-identity'])) };
  }

  for (const [where, host, oid, audience] of [
    ['staff, direct callback', HOSTS.staff, USERS.ada.oid, 'staff'],
    ['portal, through the central callback host', HOSTS.acme, USERS.alice.oid, 'portal'],
  ] as const) {
    test(`${where}: amr ["sso"] and idp_amr as Microsoft sent it, in the JWT, the headers and /.auth/me`, async () => {
      env.fe.overrideNextIdToken((claims) => ({ claims: { ...claims, amr: MICROSOFT_AMR } }));
      const browser = env.browser();
      assert.equal(last(await browser.signIn(host, oid, '/reports')).status, 200);
      const upstream = host === HOSTS.staff ? env.gw.staffUpstream : env.gw.portalUpstream;
      const { header, who, jwt } = await identityAt(upstream, audience);
      assert.equal(header, 'sso', 'X-Regentra-Auth-Method names what the gateway did');
      assert.deepEqual(jwt.amr, ['sso']);
      assert.deepEqual(jwt.idp_amr, MICROSOFT_AMR);
      assert.deepEqual(who.amr, ['sso']);
      assert.deepEqual(who.idpAmr, MICROSOFT_AMR, 'the verify package exposes it');
      const me = JSON.parse((await browser.open(`http://${host}/.auth/me`, { headers: { accept: 'application/json' } })).body) as Record<string, unknown>;
      assert.deepEqual(me.amr, ['sso']);
      assert.deepEqual(me.idp_amr, MICROSOFT_AMR);
    });
  }

  test('a session sealed before the split (Microsoft’s values merged after "sso") is read the same way', async () => {
    const cookie = await env.gw.sessionCookie(HOSTS.staff, { amr: ['sso', 'otp', 'mfa'], idp: { tid: TENANTS.staff, oid: USERS.ken.oid }, role: 'member' });
    const res = await env.gw.request(HOSTS.staff, '/old', { cookie });
    assert.equal(res.statusCode, 200);
    await res.body.dump();
    const { header, who } = await identityAt(env.gw.staffUpstream, 'staff');
    assert.equal(header, 'sso');
    assert.deepEqual([who.amr, who.idpAmr], [['sso'], ['otp', 'mfa']]);
  });

  test('a password sign-in has no idp_amr', async () => {
    const cookie = await env.gw.sessionCookie(HOSTS.staff, { amr: ['pwd', 'otp'], role: 'member' });
    const res = await env.gw.request(HOSTS.staff, '/pwd', { cookie });
    assert.equal(res.statusCode, 200);
    await res.body.dump();
    const { header, who, jwt } = await identityAt(env.gw.staffUpstream, 'staff');
    assert.equal(header, 'pwd otp');
    assert.deepEqual(who.amr, ['pwd', 'otp']);
    assert.equal(who.idpAmr, null);
    assert.equal('idp_amr' in jwt, false);
  });
});
