/**
 * Cookie sessions over HTTP: bound to realm and host, robust to tampering, idle
 * and absolute expiry (injected clock), key rotation, cookie attributes, sign-out
 * and server-side revocation.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Dispatcher } from 'undici';
import { openStore } from '../../src/store/index.ts';
import type { Store } from '../../src/store/types.ts';
import { HOSTS, startGateway, type TestGateway, type RawConfig } from '../support/gateway.ts';
import { key32 } from '../support/keys.ts';

type Raw = RawConfig;

/** a clock tests move by hand */
function manualClock(start = Date.UTC(2026, 0, 5, 9, 0, 0)) {
  let t = start;
  return { now: () => t, advance: (ms: number) => void (t += ms), set: (ms: number) => void (t = ms) };
}

async function me(gw: TestGateway, host: string, cookie: string | undefined): Promise<{ status: number; setCookie: string[]; body: Record<string, unknown> }> {
  const res = await gw.request(host, '/.auth/me', cookie ? { cookie } : {});
  return { status: res.statusCode, setCookie: setCookies(res), body: (await res.body.json()) as Record<string, unknown> };
}

function setCookies(res: Dispatcher.ResponseData): string[] {
  const v = res.headers['set-cookie'];
  return v === undefined ? [] : Array.isArray(v) ? v : [v];
}

/** `name=value` of the Set-Cookie for `name`, or undefined */
function cookiePair(setCookie: readonly string[], name: string): string | undefined {
  return setCookie.find((c) => c.startsWith(`${name}=`))?.split(';', 1)[0];
}

const isCleared = (c: string) => /Max-Age=0/i.test(c) || /Expires=Thu, 01 Jan 1970/i.test(c);

describe('sessions are bound to their realm and host', () => {
  let gw: TestGateway;
  before(async () => {
    gw = await startGateway();
  });
  after(() => gw.close());

  test('a cookie works on the host it was issued for', async () => {
    const cookie = await gw.sessionCookie(HOSTS.acme);
    const r = await me(gw, HOSTS.acme, cookie);
    assert.equal(r.status, 200);
    assert.equal(r.body.realm, 'portal:acme');
  });

  for (const [name, host] of [
    ["globex's portal", HOSTS.globex],
    ["acme's other host", HOSTS.acmeCustom],
    ['the staff host', HOSTS.staff],
    ['a wildcard host', 'x.initech.example.test'],
  ] as const) {
    test(`a cookie from acme's portal is no session on ${name}`, async () => {
      const cookie = await gw.sessionCookie(HOSTS.acme);
      const r = await me(gw, host, cookie);
      assert.equal(r.status, 401);
      const before = gw.portalUpstream.received.length + gw.staffUpstream.received.length;
      const res = await gw.request(host, '/private', { cookie });
      assert.equal(res.statusCode, 401);
      await res.body.dump();
      assert.equal(gw.portalUpstream.received.length + gw.staffUpstream.received.length, before);
    });
  }

  test('a staff cookie is no session on a portal', async () => {
    const cookie = await gw.sessionCookie(HOSTS.staff);
    assert.equal((await me(gw, HOSTS.globex, cookie)).status, 401);
  });

  test("one wildcard sub-domain does not accept another's cookie", async () => {
    const cookie = await gw.sessionCookie('a.initech.example.test');
    assert.equal((await me(gw, 'a.initech.example.test', cookie)).status, 200);
    assert.equal((await me(gw, 'b.initech.example.test', cookie)).status, 401);
  });

  test('a session whose realm was edited is refused even on its own host', async () => {
    // sealed (so authentic) but claiming a realm that is not the host's
    const cookie = await gw.sessionCookie(HOSTS.globex, { realm: 'portal:acme' });
    assert.equal((await me(gw, HOSTS.globex, cookie)).status, 401);
  });
});

describe('tampered cookies', () => {
  let gw: TestGateway;
  let good: string;
  before(async () => {
    gw = await startGateway();
    good = await gw.sessionCookie(HOSTS.staff);
  });
  after(() => gw.close());

  const variants: ReadonlyArray<readonly [string, (name: string, value: string) => string]> = [
    ['one character changed', (n, v) => `${n}=${v.slice(0, 10)}${v[10] === 'A' ? 'B' : 'A'}${v.slice(11)}`],
    ['truncated', (n, v) => `${n}=${v.slice(0, v.length - 8)}`],
    ['cut in half', (n, v) => `${n}=${v.slice(0, v.length / 2)}`],
    ['nonce dropped', (n, v) => `${n}=${decodeURIComponent(v).split(';')[0]}`],
    ['nonce of the wrong length', (n, v) => `${n}=${encodeURIComponent(`${decodeURIComponent(v).split(';')[0]};AAAA`)}`],
    ['empty', (n) => `${n}=`],
    ['not base64', (n) => `${n}=${encodeURIComponent('!!!;???')}`],
    ['a bad %-escape', (n) => `${n}=%E0%A4%A`],
    ['huge', (n) => `${n}=${'A'.repeat(8000)}`],
    ['another key', (n) => `${n}=${encodeURIComponent(`${Buffer.alloc(64, 1).toString('base64')};${Buffer.alloc(24, 2).toString('base64')}`)}`],
  ];
  for (const [name, make] of variants) {
    test(`${name} → no session, no 500`, async () => {
      const eq = good.indexOf('=');
      const cookie = make(good.slice(0, eq), good.slice(eq + 1));
      const r = await me(gw, HOSTS.staff, cookie);
      assert.equal(r.status, 401);
      const res = await gw.request(HOSTS.staff, '/private', { cookie, headers: { accept: 'application/json' } });
      assert.equal(res.statusCode, 401);
      await res.body.dump();
    });
  }

  test('the untouched cookie still works', async () => {
    assert.equal((await me(gw, HOSTS.staff, good)).status, 200);
  });
});

describe('idle timeout and absolute lifetime', () => {
  const clock = manualClock();
  let gw: TestGateway;
  before(async () => {
    gw = await startGateway({
      now: clock.now,
      configure: (r: Raw) => ({ ...r, session: { secure: false, idleTimeoutSeconds: 600, absoluteLifetimeSeconds: 3600 } }),
    });
  });
  after(() => gw.close());

  test('activity within the idle timeout keeps the session, and refreshes it', async () => {
    const start = clock.now();
    const cookie = await gw.sessionCookie(HOSTS.staff);
    clock.advance(599_000);
    const r = await me(gw, HOSTS.staff, cookie);
    assert.equal(r.status, 200);
    const refreshed = cookiePair(r.setCookie, gw.cookieName);
    assert.ok(refreshed, 'a refreshed cookie is sent');
    // the refreshed cookie carries the new last-seen time: another 599 s is fine…
    clock.advance(599_000);
    assert.equal((await me(gw, HOSTS.staff, refreshed)).status, 200);
    // …but the original cookie is now idle for 1198 s
    const stale = await me(gw, HOSTS.staff, cookie);
    assert.equal(stale.status, 401);
    assert.ok(
      stale.setCookie.some((c) => c.startsWith(`${gw.cookieName}=`) && isCleared(c)),
      'the expired cookie is cleared',
    );
    clock.set(start);
  });

  test('the session ends at the idle timeout exactly', async () => {
    const cookie = await gw.sessionCookie(HOSTS.staff);
    clock.advance(600_000);
    assert.equal((await me(gw, HOSTS.staff, cookie)).status, 401);
  });

  test('the absolute lifetime ends even an active session', async () => {
    const start = clock.now();
    let cookie = await gw.sessionCookie(HOSTS.staff);
    for (let t = 500_000; t < 3_600_000; t += 500_000) {
      clock.set(start + t);
      const r = await me(gw, HOSTS.staff, cookie);
      assert.equal(r.status, 200, `at ${t / 1000} s`);
      cookie = cookiePair(r.setCookie, gw.cookieName) ?? cookie;
    }
    clock.set(start + 3_600_000);
    assert.equal((await me(gw, HOSTS.staff, cookie)).status, 401);
  });

  test('a session issued in the future (clock skew beyond a minute) is refused', async () => {
    const cookie = await gw.sessionCookie(HOSTS.staff, { iat: clock.now() + 120_000, seen: clock.now() + 120_000 });
    assert.equal((await me(gw, HOSTS.staff, cookie)).status, 401);
  });
});

describe('key rotation', () => {
  const oldKey = key32();
  const newKey = key32();
  let store: Store;
  let oldOnly: TestGateway;
  let rotated: TestGateway;
  let newOnly: TestGateway;
  const withKeys = (keys: string[]) => (r: Raw) => ({ ...r, keys: { ...r.keys, session: keys } });
  before(async () => {
    store = await openStore({ driver: 'sqlite', path: ':memory:' });
    oldOnly = await startGateway({ store, configure: withKeys([oldKey]) });
    rotated = await startGateway({ store, configure: withKeys([newKey, oldKey]) });
    newOnly = await startGateway({ store, configure: withKeys([newKey]) });
  });
  after(async () => {
    await oldOnly.close();
    await rotated.close();
    await newOnly.close();
    await store.close();
  });

  test('a cookie sealed with the old key works after rotation and is re-sealed with the new key', async () => {
    const cookie = await oldOnly.sessionCookie(HOSTS.staff, { email: 'rotate@example.com' });
    assert.equal((await me(newOnly, HOSTS.staff, cookie)).status, 401, 'the new key alone cannot open it');
    const r = await me(rotated, HOSTS.staff, cookie);
    assert.equal(r.status, 200);
    assert.equal(r.body.email, 'rotate@example.com');
    const resealed = cookiePair(r.setCookie, rotated.cookieName);
    assert.ok(resealed, 'the response re-seals the cookie');
    assert.notEqual(resealed, cookie);
    const n = await me(newOnly, HOSTS.staff, resealed);
    assert.equal(n.status, 200, 'the re-sealed cookie opens with the new key');
    assert.equal(n.body.email, 'rotate@example.com');
    assert.equal(n.body.sid, r.body.sid, 'it is the same session');
  });

  test('a cookie sealed with the new key is not re-issued', async () => {
    const cookie = await rotated.sessionCookie(HOSTS.staff);
    const r = await me(rotated, HOSTS.staff, cookie);
    assert.equal(r.status, 200);
    assert.equal(cookiePair(r.setCookie, rotated.cookieName), undefined);
  });

  test('a key removed from the config no longer opens its cookies', async () => {
    const cookie = await oldOnly.sessionCookie(HOSTS.staff);
    assert.equal((await me(newOnly, HOSTS.staff, cookie)).status, 401);
    const res = await newOnly.request(HOSTS.staff, '/private', { cookie, headers: { accept: 'text/html' } });
    assert.equal(res.statusCode, 302);
    assert.match(String(res.headers.location), /^\/\.auth\/login\?rd=/);
    await res.body.dump();
  });
});

describe('cookie attributes with session.secure', () => {
  const clock = manualClock();
  let gw: TestGateway;
  before(async () => {
    gw = await startGateway({ now: clock.now, configure: (r: Raw) => ({ ...r, server: { ...r.server, publicScheme: 'https' }, session: { secure: true } }) });
  });
  after(() => gw.close());

  test('the session cookie is __Host-, Secure, HttpOnly, SameSite=Lax, Path=/ and has no Domain', async () => {
    assert.equal(gw.cookieName, '__Host-regentra_session');
    const cookie = await gw.sessionCookie(HOSTS.staff);
    clock.advance(120_000); // past the refresh interval: the response re-issues the cookie
    const r = await me(gw, HOSTS.staff, cookie);
    assert.equal(r.status, 200);
    const set = r.setCookie.find((c) => c.startsWith('__Host-regentra_session='));
    assert.ok(set, r.setCookie.join('\n'));
    const attrs = set
      .split(';')
      .slice(1)
      .map((a) => a.trim().toLowerCase());
    assert.ok(attrs.includes('secure'), set);
    assert.ok(attrs.includes('httponly'), set);
    assert.ok(attrs.includes('samesite=lax'), set);
    assert.ok(attrs.includes('path=/'), set);
    assert.ok(!attrs.some((a) => a.startsWith('domain')), set);
  });

  test('a cookie without the __Host- prefix is ignored', async () => {
    const cookie = (await gw.sessionCookie(HOSTS.staff)).replace(/^__Host-/, '');
    assert.equal((await me(gw, HOSTS.staff, cookie)).status, 401);
  });
});

describe('sign-out', () => {
  let gw: TestGateway;
  before(async () => {
    gw = await startGateway();
  });
  after(() => gw.close());

  const clears = (res: Dispatcher.ResponseData) => setCookies(res).some((c) => c.startsWith(`${gw.cookieName}=`) && isCleared(c));

  test('a same-origin GET clears the cookie and goes to the signed-out page', async () => {
    const cookie = await gw.sessionCookie(HOSTS.staff);
    const res = await gw.request(HOSTS.staff, '/.auth/logout?rd=/after', { cookie, headers: { 'sec-fetch-site': 'same-origin' } });
    await res.body.dump();
    assert.equal(res.statusCode, 303);
    assert.equal(res.headers.location, `/.auth/signed-out?rd=${encodeURIComponent('/after')}`);
    assert.ok(clears(res));
    assert.equal(res.headers['cache-control'], 'no-store');
  });

  test('a same-origin GET judged by Origin when Sec-Fetch-Site is absent', async () => {
    const cookie = await gw.sessionCookie(HOSTS.staff);
    const res = await gw.request(HOSTS.staff, '/.auth/logout', { cookie, headers: { origin: `http://${HOSTS.staff}` } });
    await res.body.dump();
    assert.equal(res.statusCode, 303);
    assert.ok(clears(res));
  });

  test('a cross-site GET shows a confirmation page and keeps the session', async () => {
    const cookie = await gw.sessionCookie(HOSTS.staff, { email: 'stay@example.com' });
    for (const headers of [{ 'sec-fetch-site': 'cross-site' }, { origin: 'https://evil.test' }, {}]) {
      const res = await gw.request(HOSTS.staff, '/.auth/logout', { cookie, headers: { accept: 'text/html', ...headers } });
      assert.equal(res.statusCode, 200, JSON.stringify(headers));
      assert.ok(!clears(res));
      const page = await res.body.text();
      assert.match(page, /Sign out\?/);
      assert.match(page, /stay@example\.com/);
      assert.match(page, /<form method="post" action="\/\.auth\/logout\?rd=%2F">/);
    }
    assert.equal((await me(gw, HOSTS.staff, cookie)).status, 200);
  });

  test('a POST that is not same-origin is refused and keeps the session', async () => {
    const cookie = await gw.sessionCookie(HOSTS.staff);
    for (const headers of [{ 'sec-fetch-site': 'cross-site' }, { 'sec-fetch-site': 'same-site' }, { origin: 'https://evil.test' }, { origin: 'null' }, {}]) {
      const res = await gw.request(HOSTS.staff, '/.auth/logout', { method: 'POST', cookie, headers });
      assert.equal(res.statusCode, 403, JSON.stringify(headers));
      assert.ok(!clears(res));
      await res.body.dump();
    }
    assert.equal((await me(gw, HOSTS.staff, cookie)).status, 200);
  });

  test('a same-origin POST signs out', async () => {
    const cookie = await gw.sessionCookie(HOSTS.staff);
    const res = await gw.request(HOSTS.staff, '/.auth/logout', { method: 'POST', cookie, headers: { 'sec-fetch-site': 'same-origin' } });
    await res.body.dump();
    assert.equal(res.statusCode, 303);
    assert.ok(clears(res));
  });

  test('signing out without a session just goes to the signed-out page', async () => {
    const res = await gw.request(HOSTS.staff, '/.auth/logout', { headers: { 'sec-fetch-site': 'cross-site' } });
    await res.body.dump();
    assert.equal(res.statusCode, 303);
    assert.equal(res.headers.location, `/.auth/signed-out?rd=${encodeURIComponent('/')}`);
  });

  test('sign-out is recorded in the audit log', async () => {
    const email = 'audited@example.com';
    const cookie = await gw.sessionCookie(HOSTS.staff, { email });
    const user = await gw.store.getUserByEmail('staff', email);
    const res = await gw.request(HOSTS.staff, '/.auth/logout', { cookie, headers: { 'sec-fetch-site': 'same-origin' } });
    await res.body.dump();
    const events = await gw.store.listAudit({ limit: 50 });
    assert.ok(events.some((e) => e.type === 'signout' && e.userId === user?.id));
  });
});

describe('revocation', () => {
  const clock = manualClock();
  let gw: TestGateway;
  before(async () => {
    gw = await startGateway({ now: clock.now, configure: (r: Raw) => ({ ...r, session: { secure: false, revocationCheckSeconds: 5 } }) });
  });
  after(() => gw.close());

  async function signedIn(email: string): Promise<{ cookie: string; id: string }> {
    const cookie = await gw.sessionCookie(HOSTS.staff, { email });
    const user = await gw.store.getUserByEmail('staff', email);
    assert.ok(user);
    return { cookie, id: user.id };
  }

  test("a disabled user's session ends within revocationCheckSeconds", async () => {
    const { cookie, id } = await signedIn('disable-me@example.com');
    assert.equal((await me(gw, HOSTS.staff, cookie)).status, 200);
    await gw.store.updateUser('staff', id, { status: 'disabled' });
    // the last answer may be used for up to revocationCheckSeconds…
    clock.advance(4_999);
    assert.equal((await me(gw, HOSTS.staff, cookie)).status, 200);
    // …and no longer
    clock.advance(1);
    const r = await me(gw, HOSTS.staff, cookie);
    assert.equal(r.status, 401);
    assert.ok(r.setCookie.some((c) => c.startsWith(`${gw.cookieName}=`) && isCleared(c)));
    const res = await gw.request(HOSTS.staff, '/private', { cookie });
    assert.equal(res.statusCode, 401);
    await res.body.dump();
  });

  test('"sign out everywhere" (sessionsValidAfter moved) ends older sessions, not newer ones', async () => {
    const { cookie, id } = await signedIn('everywhere@example.com');
    assert.equal((await me(gw, HOSTS.staff, cookie)).status, 200);
    clock.advance(1_000);
    await gw.store.updateUser('staff', id, { sessionsValidAfter: clock.now() });
    clock.advance(5_000);
    assert.equal((await me(gw, HOSTS.staff, cookie)).status, 401);
    const newer = await gw.sessionCookie(HOSTS.staff, { uid: id, email: 'everywhere@example.com' });
    assert.equal((await me(gw, HOSTS.staff, newer)).status, 200);
  });

  test("a deleted user's session ends", async () => {
    const { cookie, id } = await signedIn('delete-me@example.com');
    assert.equal((await me(gw, HOSTS.staff, cookie)).status, 200);
    await gw.store.deleteUser('staff', id);
    clock.advance(5_000);
    assert.equal((await me(gw, HOSTS.staff, cookie)).status, 401);
  });
});
