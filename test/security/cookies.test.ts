/**
 * Session and flow cookies, attacked. Complements test/session/session.test.ts
 * (tampered, truncated, oversized, other realm/host/client, expired, retired key):
 *
 * - a cookie name sent twice (a planted cookie next to the real one: cookie tossing
 *   from a sibling host or another path) is no session and no flow, whichever order;
 * - the values of the two cookies swapped, or a cookie sealed for another site's
 *   host pasted under this one, is nothing;
 * - the gateway's cookies never reach an upstream, whatever the route (public path,
 *   OPTIONS, WebSocket upgrade, HTTP/1.0), however they are sent (several Cookie
 *   headers, spacing, duplicates, with the flow cookie), signed in or not.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { HOSTS, startGateway, type TestGateway } from '../support/gateway.ts';
import { startUpstream, type Upstream } from '../support/upstream.ts';
import { Client, createEnrolledUser, signIn } from '../auth/password/flow.ts';
import { rawExchange, wireTap, type WireTap } from './support.ts';

let gw: TestGateway;
let staffUp: Upstream;
let tap: WireTap;
let names: { session: string; flow: string };
/** a real browser's cookies after a password + TOTP sign-in: session and (new) flow */
let victim: { session: string; flow: string; email: string };
let other: { session: string; email: string };

before(async () => {
  staffUp = await startUpstream('staff-app');
  tap = await wireTap(staffUp.port);
  gw = await startGateway({
    configure: (raw) => {
      (raw.sites as { staff: Record<string, unknown> }).staff.upstream = tap.url;
      return raw;
    },
  });
  names = { session: gw.cookieName, flow: `${gw.cookieName}_flow` };
  const signedIn = async (email: string) => {
    const { secret } = await createEnrolledUser(gw, HOSTS.staff, { email });
    const browser = new Client(gw, HOSTS.staff);
    const done = await signIn(browser, email, secret, Date.now());
    assert.equal(done.status, 303);
    // a flow cookie as a browser holds one while signing in (a new sign-in page)
    await new Client(gw, HOSTS.staff).get('/.auth/login');
    const page = await browser.get('/.auth/login?rd=/x');
    assert.equal(page.status, 303, 'signed in: the sign-in page redirects');
    return browser;
  };
  const v = await signedIn('victim@example.com');
  const flowPage = await new Client(gw, HOSTS.staff).get('/.auth/login');
  const flowCookie = String(flowPage.headers['set-cookie']).split(';', 1)[0]!.split('=').slice(1).join('=');
  victim = { session: v.cookies.get(names.session)!, flow: flowCookie, email: 'victim@example.com' };
  const o = await signedIn('other@example.com');
  other = { session: o.cookies.get(names.session)!, email: 'other@example.com' };
  assert.ok(victim.session && victim.flow && other.session);
});
after(async () => {
  await gw.close();
  await tap.close();
  await staffUp.close();
});

async function me(cookieHeader: string): Promise<{ status: number; email?: string }> {
  const res = await gw.request(HOSTS.staff, '/.auth/me', { headers: { cookie: cookieHeader } });
  const body = (await res.body.json()) as { email?: string };
  return { status: res.statusCode, ...(body.email ? { email: body.email } : {}) };
}

describe('a cookie name sent twice is no session', () => {
  test('the real cookies work on their own (the cases below could succeed)', async () => {
    assert.deepEqual(await me(`${names.session}=${victim.session}`), { status: 200, email: victim.email });
    assert.deepEqual(await me(`${names.session}=${other.session}`), { status: 200, email: other.email });
  });

  const cases: ReadonlyArray<readonly [string, () => string]> = [
    ['two valid sessions of two users', () => `${names.session}=${other.session}; ${names.session}=${victim.session}`],
    ['the same valid session twice', () => `${names.session}=${victim.session}; ${names.session}=${victim.session}`],
    ['a planted session first, the real one last', () => `${names.session}=${other.session}; theme=dark; ${names.session}=${victim.session}`],
    ['garbage first, the real one last', () => `${names.session}=garbage; ${names.session}=${victim.session}`],
    ['the real one first, an empty one last', () => `${names.session}=${victim.session}; ${names.session}=`],
    ['in two Cookie headers', () => `${names.session}=${other.session}\r\nCookie: ${names.session}=${victim.session}`],
  ];
  for (const [name, header] of cases) {
    test(name, async () => {
      const h = header();
      const send = (path: string) =>
        rawExchange(gw.port, `GET ${path} HTTP/1.1\r\nHost: ${HOSTS.staff}\r\nAccept: application/json\r\nCookie: ${h}\r\nConnection: close\r\n\r\n`, {
          waitMs: 500,
        });
      assert.equal((await send('/.auth/me')).statuses[0], 401, 'an ambiguous session cookie is no session');
      const before = staffUp.received.length;
      assert.equal((await send('/private')).statuses[0], 401);
      assert.equal(staffUp.received.length, before, 'nothing proxied');
    });
  }

  test('a flow cookie sent twice is no flow: the form is refused as expired', async () => {
    const a = new Client(gw, HOSTS.staff);
    const page = await a.get('/.auth/login');
    const csrf = /name="csrf" value="([^"]+)"/.exec(page.body)![1]!;
    const flow = a.cookies.get(names.flow)!;
    const planted = (await new Client(gw, HOSTS.staff).get('/.auth/login')).headers['set-cookie'];
    const plantedValue = String(planted).split(';', 1)[0]!.split('=').slice(1).join('=');
    for (const cookie of [`${names.flow}=${plantedValue}; ${names.flow}=${flow}`, `${names.flow}=${flow}; ${names.flow}=${flow}`]) {
      const res = await gw.request(HOSTS.staff, '/.auth/login', {
        method: 'POST',
        headers: { cookie, 'content-type': 'application/x-www-form-urlencoded', accept: 'text/html' },
        body: new URLSearchParams({ csrf, email: victim.email, password: 'whatever it is' }).toString(),
      });
      const body = await res.body.text();
      assert.equal(res.statusCode, 403, cookie.slice(0, 40));
      assert.match(body, /Form expired/);
    }
  });
});

describe('cookie values in the wrong place are nothing', () => {
  test("the flow cookie's value under the session name, and the session's under the flow name", async () => {
    assert.equal((await me(`${names.session}=${victim.flow}`)).status, 401);
    const res = await gw.request(HOSTS.staff, '/.auth/login/totp', { headers: { cookie: `${names.flow}=${victim.session}`, accept: 'text/html' } });
    await res.body.dump();
    assert.equal(res.statusCode, 303, 'no flow: back to the start');
  });

  test('a staff session under a portal host, and a portal session under the staff host', async () => {
    const acme = await gw.sessionCookie(HOSTS.acme);
    const res = await gw.request(HOSTS.acme, '/.auth/me', { headers: { cookie: `${names.session}=${victim.session}` } });
    await res.body.dump();
    assert.equal(res.statusCode, 401);
    assert.equal((await me(acme)).status, 401);
  });
});

describe("the gateway's cookies never reach an upstream", () => {
  const routes: ReadonlyArray<readonly [string, string]> = [
    ['public path', 'GET /assets/app.js HTTP/1.1'],
    ['public exact path', 'GET /health HTTP/1.1'],
    ['public path, OPTIONS', 'OPTIONS /assets/app.js HTTP/1.1'],
    ['public path, POST', 'POST /assets/form HTTP/1.1'],
    ['public path, HTTP/1.0', 'GET /assets/app.js HTTP/1.0'],
    ['protected path with the session', 'GET /private HTTP/1.1'],
    ['protected path with the session, OPTIONS', 'OPTIONS /private HTTP/1.1'],
  ];
  const spellings = () => [
    [`Cookie: ${names.session}=${victim.session}`],
    [`Cookie: ${names.session}=${victim.session}; ${names.flow}=${victim.flow}; theme=dark`],
    [`Cookie: theme=dark;${names.session}=${victim.session};  ${names.flow}=${victim.flow} ;lang=en`],
    [`Cookie: theme=dark`, `Cookie: ${names.session}=${victim.session}`, `Cookie: ${names.flow}=${victim.flow}`],
    [`Cookie: ${names.flow}=${victim.flow}`, `Cookie: ${names.session}=${victim.session}`],
    [`Cookie: ${names.session}="${victim.session}"`],
  ];

  for (const [name, line] of routes) {
    test(name, async () => {
      for (const cookieLines of spellings()) {
        tap.clear();
        const body = line.startsWith('POST') ? 'a=1' : '';
        const r = await rawExchange(
          gw.port,
          `${line}\r\nHost: ${HOSTS.staff}\r\n${cookieLines.map((l) => `${l}\r\n`).join('')}${body ? `Content-Length: ${body.length}\r\n` : ''}Connection: close\r\n\r\n${body}`,
          { waitMs: 500 },
        );
        const wire = tap.text();
        assert.equal(r.statuses[0], 200, `${cookieLines.join(' | ').slice(0, 80)}: ${r.text.slice(0, 100)}`);
        assert.ok(wire.length > 0, 'proxied');
        for (const value of [victim.session, victim.flow, decodeURIComponent(victim.session), decodeURIComponent(victim.flow)]) {
          assert.ok(!wire.includes(value), `a gateway cookie value reached the upstream (${cookieLines.join(' | ').slice(0, 60)})`);
        }
        assert.doesNotMatch(wire, new RegExp(`${names.session}`), "the gateway's cookie name reached the upstream");
        if (cookieLines.join().includes('theme=dark')) assert.match(wire, /\r\ncookie: [^\r]*theme=dark/i, 'other cookies are kept');
      }
    });
  }

  test('a WebSocket upgrade (public and protected) carries none of them', async () => {
    for (const path of ['/assets/live', '/live']) {
      tap.clear();
      const r = await rawExchange(
        gw.port,
        `GET ${path} HTTP/1.1\r\nHost: ${HOSTS.staff}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nCookie: theme=dark; ${names.session}=${victim.session}; ${names.flow}=${victim.flow}\r\n\r\n`,
        { waitMs: 300 },
      );
      assert.equal(r.statuses[0], 101, path);
      const wire = tap.text();
      assert.ok(!wire.includes(victim.session) && !wire.includes(victim.flow), path);
      assert.match(wire, /\r\ncookie: theme=dark\r\n/i);
    }
  });
});

describe('a copied session cookie after sign-out', () => {
  test("is no session: not for the gateway's pages, not for the upstream, not for a WebSocket", async () => {
    const { secret } = await createEnrolledUser(gw, HOSTS.staff, { email: 'copied@example.com' });
    const browser = new Client(gw, HOSTS.staff);
    assert.equal((await signIn(browser, 'copied@example.com', secret, Date.now(), '/app')).status, 303);
    const copy = `${names.session}=${browser.cookies.get(names.session)}`;
    assert.equal((await me(copy)).status, 200, 'the copy works before the sign-out');
    const out = await browser.send('POST', '/.auth/logout', {}, { origin: `http://${HOSTS.staff}` });
    assert.equal(out.status, 303);
    assert.ok(!browser.cookies.has(names.session), "the browser's cookie is cleared");

    assert.equal((await me(copy)).status, 401);
    const before = staffUp.received.length + staffUp.upgrades.length;
    const api = await gw.request(HOSTS.staff, '/app', { headers: { cookie: copy, accept: 'application/json' } });
    await api.body.dump();
    assert.equal(api.statusCode, 401);
    const ws = await rawExchange(
      gw.port,
      `GET /live HTTP/1.1\r\nHost: ${HOSTS.staff}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nCookie: ${copy}\r\n\r\n`,
      { waitMs: 300 },
    );
    assert.equal(ws.statuses[0], 401);
    assert.equal(staffUp.received.length + staffUp.upgrades.length, before, 'nothing reached the upstream');
    // signing in again gives a new session; the copy stays dead
    assert.equal((await signIn(browser, 'copied@example.com', secret, Date.now() + 30_000, '/app')).status, 303);
    assert.notEqual(`${names.session}=${browser.cookies.get(names.session)}`, copy);
    assert.equal((await me(copy)).status, 401);
  });
});
