/**
 * A replayed cookie older than the touch interval (issue #17): every response gets the
 * refreshed cookie, but it is sealed once per session and interval (src/session/refresh-cache.ts);
 * the refreshed cookie works; and a cached refresh never outlives the checks: a signed-out,
 * idle-expired or disabled session is refused even while its refresh is cached.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Dispatcher } from 'undici';
import { HOSTS, startGateway, type TestGateway } from '../support/gateway.ts';

type Raw = Record<string, unknown>;

function manualClock(start = Date.UTC(2026, 0, 5, 9, 0, 0)) {
  let t = start;
  return { now: () => t, advance: (ms: number) => void (t += ms) };
}

function setCookies(res: Dispatcher.ResponseData): string[] {
  const v = res.headers['set-cookie'];
  return v === undefined ? [] : Array.isArray(v) ? v : [v];
}

const TOUCH_MS = 60_000;

describe('a replayed old cookie', () => {
  const clock = manualClock();
  let gw: TestGateway;
  let seals = 0;
  before(async () => {
    gw = await startGateway({
      now: clock.now,
      configure: (r: Raw) => ({ ...r, session: { secure: false, idleTimeoutSeconds: 600, absoluteLifetimeSeconds: 3600, revocationCheckSeconds: 5 } }),
    });
    // count the session cookies sealed (the refresh's cost)
    const encode = gw.app.encodeSecureSession.bind(gw.app);
    gw.app.encodeSecureSession = (session, name) => {
      if (name === 'session') seals++;
      return encode(session, name);
    };
  });
  after(() => gw.close());

  /** the response's session cookie pair (`name=value`), or undefined */
  async function send(
    path: string,
    cookie: string,
  ): Promise<{ status: number; refreshed: string | undefined; cleared: boolean; attributes: string | undefined }> {
    const res = await gw.request(HOSTS.staff, path, { cookie, headers: { accept: 'application/json' } });
    await res.body.dump();
    const mine = setCookies(res).filter((c) => c.startsWith(`${gw.cookieName}=`));
    assert.ok(mine.length <= 1, 'at most one Set-Cookie for the session');
    const cleared = mine.some((c) => /Max-Age=0/i.test(c));
    const [pair, ...attributes] = mine[0]?.split(';') ?? [];
    return { status: res.statusCode, refreshed: cleared ? undefined : pair, cleared, attributes: attributes.map((a) => a.trim()).join('; ') || undefined };
  }

  test('gets the refreshed cookie on every response, sealed once per interval, and the refreshed cookie works', async () => {
    const old = await gw.sessionCookie(HOSTS.staff);
    seals = 0; // (sealing the test's cookie counted too)
    clock.advance(TOUCH_MS + 60_000);
    const answers = [];
    for (const path of ['/private', '/private/a', '/.auth/me', '/private/b', '/.auth/me']) answers.push(await send(path, old));
    assert.ok(
      answers.every((a) => a.status === 200),
      JSON.stringify(answers),
    );
    const first = answers[0]?.refreshed;
    assert.ok(first, 'the proxied response carries the refreshed cookie');
    assert.equal(answers[0]?.attributes, 'Path=/; HttpOnly; SameSite=Lax', 'the attributes secure-session gives the session cookie');
    assert.ok(
      answers.every((a) => a.refreshed === first),
      "every response, proxied or the gateway's own, carries the same refreshed cookie",
    );
    assert.equal(seals, 1, 'the refresh is sealed once');
    // parallel requests with the old cookie: still one seal
    const burst = await Promise.all(Array.from({ length: 16 }, (_, i) => send(`/private/${i}`, old)));
    assert.ok(burst.every((a) => a.status === 200 && a.refreshed === first));
    assert.equal(seals, 1);

    // the refreshed cookie works and, being fresh, is not re-sent
    const fresh = await send('/private', first);
    assert.equal(fresh.status, 200);
    assert.equal(fresh.refreshed, undefined);
    assert.equal(seals, 1);

    // a new interval: the old cookie (still within the idle timeout) gets a new refresh, sealed once
    clock.advance(TOUCH_MS);
    const next = await send('/private', old);
    const again = await send('/.auth/me', old);
    assert.equal(next.status, 200);
    assert.ok(next.refreshed && next.refreshed !== first);
    assert.equal(again.refreshed, next.refreshed);
    assert.equal(seals, 2);
  });

  test("another session of the same user never gets this session's refreshed cookie", async () => {
    const a = await gw.sessionCookie(HOSTS.staff, { email: 'two-sessions@example.com' });
    const user = await gw.store.getUserByEmail('staff', 'two-sessions@example.com');
    assert.ok(user);
    const b = await gw.sessionCookie(HOSTS.staff, { uid: user.id, email: 'two-sessions@example.com' });
    seals = 0;
    clock.advance(TOUCH_MS + 1_000);
    const ra = await send('/private', a);
    const rb = await send('/private', b);
    assert.ok(ra.refreshed && rb.refreshed && ra.refreshed !== rb.refreshed);
    assert.equal(seals, 2);
  });

  test('a signed-out session is refused even while its refresh is cached', async () => {
    const old = await gw.sessionCookie(HOSTS.staff);
    clock.advance(TOUCH_MS + 1_000);
    const r = await send('/private', old);
    assert.ok(r.refreshed);
    const out = await gw.request(HOSTS.staff, '/.auth/logout', { cookie: r.refreshed, headers: { 'sec-fetch-site': 'same-origin' } });
    await out.body.dump();
    for (const cookie of [old, r.refreshed]) {
      const after = await send('/private', cookie);
      assert.equal(after.status, 401);
      assert.equal(after.refreshed, undefined, 'no refreshed cookie for a revoked session');
    }
    assert.equal(gw.staffUpstream.received.filter((q) => q.headers.cookie?.includes(r.refreshed as string)).length, 0);
  });

  test("a disabled user's session is refused even while its refresh is cached", async () => {
    const old = await gw.sessionCookie(HOSTS.staff, { email: 'disabled-later@example.com' });
    const user = await gw.store.getUserByEmail('staff', 'disabled-later@example.com');
    assert.ok(user);
    clock.advance(TOUCH_MS + 1_000);
    const r = await send('/private', old);
    assert.ok(r.refreshed);
    await gw.store.updateUser('staff', user.id, { status: 'disabled' });
    clock.advance(5_000);
    for (const cookie of [old, r.refreshed]) {
      const after = await send('/private', cookie);
      assert.equal(after.status, 401);
      assert.equal(after.refreshed, undefined);
    }
  });

  test("an idle-expired cookie is refused even while its session's refresh is cached", async () => {
    const old = await gw.sessionCookie(HOSTS.staff);
    clock.advance(590_000);
    const r = await send('/private', old);
    assert.equal(r.status, 200);
    assert.ok(r.refreshed);
    // 11 s later the refresh is still in its interval, but the presented cookie is past the idle timeout
    clock.advance(11_000);
    const stale = await send('/private', old);
    assert.equal(stale.status, 401);
    assert.equal(stale.refreshed, undefined);
    assert.ok(stale.cleared, 'the expired cookie is cleared');
    // the refreshed one (seen 11 s ago) is fine
    assert.equal((await send('/private', r.refreshed)).status, 200);
  });
});
