/**
 * Signing out ends the session server-side: a copy of the cookie taken before the
 * sign-out is no session afterwards — on this gateway at once, and on another
 * replica sharing the store within the revocation bound.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStore } from '../../src/store/index.ts';
import type { Store } from '../../src/store/types.ts';
import { etagMatches } from '../../src/auth/core-routes.ts';
import { HOSTS, startGateway, type TestGateway } from '../support/gateway.ts';
import { key32, ecPem } from '../support/keys.ts';

describe('sign-out revokes the session server-side', () => {
  let dir: string;
  let store: Store;
  let t = Date.UTC(2026, 2, 1, 10, 0, 0);
  const now = () => t;
  let a: TestGateway;
  let b: TestGateway;
  const keys = { session: [key32()], signing: [{ privateKey: ecPem() }], encryption: [{ id: 'k1', key: key32() }] };

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'regentra-signout-'));
    store = await openStore({ driver: 'sqlite', path: join(dir, 'gw.db') });
    const configure = (raw: Record<string, unknown>) => ({ ...raw, keys });
    a = await startGateway({ store, now, configure });
    b = await startGateway({ store, now, configure });
  });
  after(async () => {
    await a.close();
    await b.close();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const me = async (gw: TestGateway, cookie: string) => {
    const r = await gw.request(HOSTS.staff, '/.auth/me', { cookie });
    await r.body.dump();
    return r.statusCode;
  };

  test('a copied cookie is refused after sign-out, here at once and on the other replica within the bound', async () => {
    const cookie = await a.sessionCookie(HOSTS.staff);
    assert.equal(await me(a, cookie), 200);
    assert.equal(await me(b, cookie), 200, 'the other replica has seen (and cached) the live session');

    const out = await a.request(HOSTS.staff, '/.auth/logout', { cookie, headers: { 'sec-fetch-site': 'same-origin' } });
    await out.body.dump();
    assert.equal(out.statusCode, 303);

    assert.equal(await me(a, cookie), 401, 'the replica that signed out refuses the copy at once');
    t += a.config.session.revocationCheckSeconds * 1000;
    assert.equal(await me(b, cookie), 401, 'the other replica refuses it once its cache bound has passed');
  });

  test('other sessions of the same user are not affected by one sign-out', async () => {
    const first = await a.sessionCookie(HOSTS.staff);
    const uid = (await store.listUsers('staff')).at(-1)!.id;
    const second = await a.sessionCookie(HOSTS.staff, { uid });
    const out = await a.request(HOSTS.staff, '/.auth/logout', { cookie: first, headers: { 'sec-fetch-site': 'same-origin' } });
    await out.body.dump();
    assert.equal(await me(a, first), 401);
    assert.equal(await me(a, second), 200);
  });
});

describe('If-None-Match handling for the JWKS and page assets', () => {
  test('matches lists, weak validators and *', () => {
    assert.equal(etagMatches('"abc"', '"abc"'), true);
    assert.equal(etagMatches('W/"abc"', '"abc"'), true);
    assert.equal(etagMatches('"x", W/"abc"', '"abc"'), true);
    assert.equal(etagMatches('*', '"abc"'), true);
    assert.equal(etagMatches('"abd"', '"abc"'), false);
    assert.equal(etagMatches(undefined, '"abc"'), false);
  });

  test('a weak validator in a list gets 304 from /.auth/jwks.json', async () => {
    const gw = await startGateway();
    try {
      const first = await gw.request(HOSTS.staff, '/.auth/jwks.json');
      const etag = String(first.headers.etag);
      await first.body.dump();
      const again = await gw.request(HOSTS.staff, '/.auth/jwks.json', { headers: { 'if-none-match': `"other", W/${etag}` } });
      await again.body.dump();
      assert.equal(again.statusCode, 304);
    } finally {
      await gw.close();
    }
  });
});
