/**
 * The X-Regentra-Identity JWT: header and claims per site, verified by
 * verifyIdentity against the gateway's own JWKS; EdDSA; signing-key rotation;
 * and everything verifyIdentity must reject.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeJwt, decodeProtectedHeader, type JSONWebKeySet } from 'jose';
import { IdentityError, verifyIdentity, type VerifyOptions } from '../../src/identity/verify.ts';
import { HOSTS, startGateway, type TestGateway, type RawConfig } from '../support/gateway.ts';
import { ecPem, edPem } from '../support/keys.ts';
import type { Echo } from '../support/upstream.ts';

type Raw = RawConfig;
const ISSUER = 'https://gateway.test';

/** the identity JWT the upstream received for a signed-in GET of `path` on `host` */
async function assertionFor(gw: TestGateway, host: string, cookie: string, path = '/private'): Promise<{ jwt: string; echo: Echo }> {
  const res = await gw.request(host, path, { cookie });
  assert.equal(res.statusCode, 200);
  const echo = (await res.body.json()) as Echo;
  const jwt = echo.headers['x-regentra-identity'];
  assert.equal(typeof jwt, 'string');
  return { jwt: jwt as string, echo };
}

async function jwks(gw: TestGateway): Promise<JSONWebKeySet> {
  const res = await gw.request(HOSTS.staff, '/.auth/jwks.json');
  return (await res.body.json()) as JSONWebKeySet;
}

const withSigning = (keys: object[]) => (r: Raw) => ({ ...r, keys: { ...r.keys, signing: keys } });

async function rejectsWith(p: Promise<unknown>, code: string): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof IdentityError, String(err));
    assert.equal(err.code, code, err.message);
    return true;
  });
}

describe('the identity JWT', () => {
  let t = Date.now();
  let gw: TestGateway;
  let opts: (audience: string) => VerifyOptions;
  before(async () => {
    gw = await startGateway({ now: () => t, configure: (r: Raw) => ({ ...r, identity: { issuer: ISSUER, ttlSeconds: 120 } }) });
    opts = (audience) => ({ jwksUrl: `${gw.url}/.auth/jwks.json`, audience, issuer: ISSUER });
  });
  after(() => gw.close());

  test('is an ES256 JWT whose kid is published in the JWKS', async () => {
    const cookie = await gw.sessionCookie(HOSTS.staff);
    const { jwt } = await assertionFor(gw, HOSTS.staff, cookie);
    const header = decodeProtectedHeader(jwt);
    assert.equal(header.alg, 'ES256');
    assert.equal(header.typ, 'JWT');
    const set = await jwks(gw);
    assert.equal(set.keys.length, 1);
    assert.equal(set.keys[0]?.kid, header.kid);
    assert.equal(set.keys[0]?.alg, 'ES256');
    assert.equal(set.keys[0]?.use, 'sig');
    assert.equal((set.keys[0] as { d?: string }).d, undefined, 'no private part is published');
  });

  test('carries the staff claims and verifies with the staff audience', async () => {
    t = Date.now();
    const email = 'grace@example.com';
    const cookie = await gw.sessionCookie(HOSTS.staff, { email, name: 'Grace Hopper', amr: ['pwd', 'otp'], authTime: Math.floor(t / 1000) - 30 });
    const user = await gw.store.getUserByEmail('staff', email);
    const { jwt } = await assertionFor(gw, HOSTS.staff, cookie);
    const who = await verifyIdentity({ 'x-regentra-identity': jwt }, opts('staff'));
    assert.equal(who.sub, user?.id);
    assert.equal(who.email, email);
    assert.equal(who.name, 'Grace Hopper');
    assert.equal(who.realm, 'staff');
    assert.equal(who.client, null);
    assert.equal(who.role, 'admin');
    assert.deepEqual(who.amr, ['pwd', 'otp']);
    assert.equal(who.authTime, Math.floor(t / 1000) - 30);
    const c = who.claims;
    assert.equal(c.iss, ISSUER);
    assert.equal(c.aud, 'staff');
    assert.equal(c.iat, Math.floor(t / 1000));
    assert.equal(c.exp, c.iat + 120);
    assert.equal(typeof c.jti, 'string');
    assert.ok((c.jti as string).length >= 16);
    assert.equal(typeof c.sid, 'string');
    assert.equal(who.sid, c.sid);
  });

  test('carries the portal claims and verifies with the portal audience only', async () => {
    t = Date.now();
    const cookie = await gw.sessionCookie(HOSTS.globex, { email: 'wile@globex.test' });
    const { jwt } = await assertionFor(gw, HOSTS.globex, cookie);
    const who = await verifyIdentity({ 'x-regentra-identity': jwt }, opts('portal'));
    assert.equal(who.realm, 'portal:globex');
    assert.equal(who.client, 'globex');
    assert.equal(who.role, null);
    assert.equal(who.claims.aud, 'portal');
    await rejectsWith(verifyIdentity({ 'x-regentra-identity': jwt }, opts('staff')), 'CLAIMS');
  });

  test('the session id and the convenience headers agree with the JWT', async () => {
    t = Date.now();
    const cookie = await gw.sessionCookie(HOSTS.acme);
    const { jwt, echo } = await assertionFor(gw, HOSTS.acme, cookie);
    const claims = decodeJwt(jwt);
    assert.equal(echo.headers['x-regentra-user-id'], claims.sub);
    assert.equal(echo.headers['x-regentra-email'], claims.email);
    assert.equal(echo.headers['x-regentra-client'], 'acme');
    const me = await gw.request(HOSTS.acme, '/.auth/me', { cookie });
    assert.equal(((await me.body.json()) as { sid: string }).sid, claims.sid);
  });

  test('is reused for a while per session and audience, then renewed', async () => {
    t = Date.now();
    const cookie = await gw.sessionCookie(HOSTS.staff);
    const first = decodeJwt((await assertionFor(gw, HOSTS.staff, cookie)).jwt);
    t += 10_000;
    const again = decodeJwt((await assertionFor(gw, HOSTS.staff, cookie)).jwt);
    assert.equal(again.jti, first.jti, 'reused within its reuse window');
    t += 80_000; // 90 s of a 120 s lifetime: less than a quarter is left
    const renewed = decodeJwt((await assertionFor(gw, HOSTS.staff, cookie)).jwt);
    assert.notEqual(renewed.jti, first.jti);
    assert.equal(renewed.iat, Math.floor(t / 1000));
    // another session never gets this session's JWT
    const other = decodeJwt((await assertionFor(gw, HOSTS.staff, await gw.sessionCookie(HOSTS.staff))).jwt);
    assert.notEqual(other.jti, renewed.jti);
    assert.notEqual(other.sid, renewed.sid);
  });

  test('the JWKS has an ETag, answers 304 to If-None-Match, and is served on any host name', async () => {
    const res = await gw.request(HOSTS.staff, '/.auth/jwks.json');
    const body = await res.body.text();
    assert.equal(res.statusCode, 200);
    assert.match(String(res.headers['content-type']), /^application\/jwk-set\+json/);
    const etag = res.headers.etag as string;
    assert.match(etag, /^"[A-Za-z0-9_-]+"$/);
    const cached = await gw.request(HOSTS.acme, '/.auth/jwks.json', { headers: { 'if-none-match': etag } });
    assert.equal(cached.statusCode, 304);
    assert.equal(await cached.body.text(), '');
    const other = await gw.request('127.0.0.1', '/.auth/jwks.json');
    assert.equal(other.statusCode, 200);
    assert.equal(await other.body.text(), body);
    const stale = await gw.request(HOSTS.staff, '/.auth/jwks.json', { headers: { 'if-none-match': '"something-else"' } });
    assert.equal(stale.statusCode, 200);
    await stale.body.dump();
  });

  describe('verifyIdentity rejects', () => {
    let good: string;
    before(async () => {
      t = Date.now();
      good = (await assertionFor(gw, HOSTS.staff, await gw.sessionCookie(HOSTS.staff))).jwt;
      await verifyIdentity({ 'x-regentra-identity': good }, opts('staff'));
    });

    test('a request without the header', async () => {
      await rejectsWith(verifyIdentity({}, opts('staff')), 'MISSING');
      await rejectsWith(verifyIdentity({ 'x-regentra-identity': '' }, opts('staff')), 'MISSING');
      await rejectsWith(verifyIdentity(new Headers(), opts('staff')), 'MISSING');
    });

    test('two headers', async () => {
      await rejectsWith(verifyIdentity({ 'x-regentra-identity': [good, good] }, opts('staff')), 'MULTIPLE');
      await rejectsWith(verifyIdentity({ 'x-regentra-identity': `${good}, ${good}` }, opts('staff')), 'MULTIPLE');
    });

    test('a tampered token', async () => {
      const [h, p, s] = good.split('.') as [string, string, string];
      const claims = JSON.parse(Buffer.from(p, 'base64url').toString()) as Record<string, unknown>;
      const forged = Buffer.from(JSON.stringify({ ...claims, email: 'ceo@example.com' })).toString('base64url');
      await rejectsWith(verifyIdentity({ 'x-regentra-identity': `${h}.${forged}.${s}` }, opts('staff')), 'INVALID');
      const flipped = `${s.slice(0, 5)}${s[5] === 'A' ? 'B' : 'A'}${s.slice(6)}`;
      await rejectsWith(verifyIdentity({ 'x-regentra-identity': `${h}.${p}.${flipped}` }, opts('staff')), 'INVALID');
      await rejectsWith(verifyIdentity({ 'x-regentra-identity': `${h}.${p}.` }, opts('staff')), 'INVALID');
      const none = Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url');
      await rejectsWith(verifyIdentity({ 'x-regentra-identity': `${none}.${p}.` }, opts('staff')), 'INVALID');
      await rejectsWith(verifyIdentity({ 'x-regentra-identity': 'not-a-jwt' }, opts('staff')), 'INVALID');
    });

    test('a wrong audience or issuer', async () => {
      await rejectsWith(verifyIdentity({ 'x-regentra-identity': good }, opts('portal')), 'CLAIMS');
      await rejectsWith(verifyIdentity({ 'x-regentra-identity': good }, { ...opts('staff'), issuer: 'someone-else' }), 'CLAIMS');
    });

    test("an expired token (the gateway's clock two hours back)", async () => {
      t = Date.now() - 2 * 3600_000;
      const old = (await assertionFor(gw, HOSTS.staff, await gw.sessionCookie(HOSTS.staff))).jwt;
      t = Date.now();
      await rejectsWith(verifyIdentity({ 'x-regentra-identity': old }, opts('staff')), 'EXPIRED');
    });

    test('a token signed by a key the JWKS does not have', async () => {
      const stranger = await startGateway({ configure: (r: Raw) => ({ ...r, identity: { issuer: ISSUER } }) });
      try {
        const foreign = (await assertionFor(stranger, HOSTS.staff, await stranger.sessionCookie(HOSTS.staff))).jwt;
        // same issuer and audience, a valid signature, but not by any of this gateway's keys
        await verifyIdentity({ 'x-regentra-identity': foreign }, { jwksUrl: `${stranger.url}/.auth/jwks.json`, audience: 'staff', issuer: ISSUER });
        await rejectsWith(verifyIdentity({ 'x-regentra-identity': foreign }, opts('staff')), 'INVALID');
        await rejectsWith(verifyIdentity({ 'x-regentra-identity': foreign }, { keys: await jwks(gw), audience: 'staff', issuer: ISSUER }), 'INVALID');
      } finally {
        await stranger.close();
      }
    });

    test('a verifier configured with neither jwksUrl nor keys', async () => {
      await rejectsWith(verifyIdentity({ 'x-regentra-identity': good }, { audience: 'staff', issuer: ISSUER }), 'CONFIG');
    });
  });
});

describe('EdDSA signing keys', () => {
  let gw: TestGateway;
  before(async () => {
    gw = await startGateway({ configure: withSigning([{ alg: 'EdDSA', privateKey: edPem(), kid: 'ed-1' }]) });
  });
  after(() => gw.close());

  test('sign identity JWTs that verify against the JWKS', async () => {
    const { jwt } = await assertionFor(gw, HOSTS.staff, await gw.sessionCookie(HOSTS.staff));
    const header = decodeProtectedHeader(jwt);
    assert.equal(header.alg, 'EdDSA');
    assert.equal(header.kid, 'ed-1');
    const set = await jwks(gw);
    assert.deepEqual(
      set.keys.map((k) => [k.kty, k.crv, k.alg, k.kid]),
      [['OKP', 'Ed25519', 'EdDSA', 'ed-1']],
    );
    const who = await verifyIdentity({ 'x-regentra-identity': jwt }, { jwksUrl: `${gw.url}/.auth/jwks.json`, audience: 'staff', issuer: ISSUER });
    assert.equal(who.realm, 'staff');
  });
});

describe('signing-key rotation', () => {
  const current = ecPem();
  const next = edPem();
  let both: TestGateway;
  let nextOnly: TestGateway;
  before(async () => {
    both = await startGateway({
      configure: withSigning([
        { privateKey: current, kid: 'current' },
        { alg: 'EdDSA', privateKey: next, kid: 'next' },
      ]),
    });
    nextOnly = await startGateway({ configure: withSigning([{ alg: 'EdDSA', privateKey: next, kid: 'next' }]) });
  });
  after(async () => {
    await both.close();
    await nextOnly.close();
  });

  test('the JWKS publishes both keys and the first one signs', async () => {
    const set = await jwks(both);
    assert.deepEqual(
      set.keys.map((k) => k.kid),
      ['current', 'next'],
    );
    const { jwt } = await assertionFor(both, HOSTS.staff, await both.sessionCookie(HOSTS.staff));
    assert.equal(decodeProtectedHeader(jwt).kid, 'current');
    await verifyIdentity({ 'x-regentra-identity': jwt }, { jwksUrl: `${both.url}/.auth/jwks.json`, audience: 'staff', issuer: ISSUER });
  });

  test('a JWT signed by the second key (a replica already rotated) still verifies', async () => {
    const { jwt } = await assertionFor(nextOnly, HOSTS.staff, await nextOnly.sessionCookie(HOSTS.staff));
    assert.equal(decodeProtectedHeader(jwt).kid, 'next');
    const who = await verifyIdentity({ 'x-regentra-identity': jwt }, { jwksUrl: `${both.url}/.auth/jwks.json`, audience: 'staff', issuer: ISSUER });
    assert.equal(who.realm, 'staff');
  });

  test('kids default to the key thumbprint and differ per key', async () => {
    const gw = await startGateway({ configure: withSigning([{ privateKey: ecPem() }, { privateKey: ecPem() }]) });
    try {
      const kids = (await jwks(gw)).keys.map((k) => k.kid as string);
      assert.equal(kids.length, 2);
      assert.notEqual(kids[0], kids[1]);
      for (const kid of kids) assert.match(kid, /^[A-Za-z0-9_-]{43}$/);
    } finally {
      await gw.close();
    }
  });
});
