/**
 * Open redirects: every payload of shared/testdata/open-redirects.txt must end on
 * a path of the gateway's own host — through safeRedirectTarget (unit) and over
 * HTTP through /.auth/logout?rd=… (Location) and /.auth/signed-out?rd=… (links).
 */
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { safeRedirectTarget } from '../../src/routing/redirect.ts';
import { HOSTS, startGateway, type TestGateway } from '../support/gateway.ts';

const PAYLOADS = readFileSync(new URL('../../../shared/testdata/open-redirects.txt', import.meta.url), 'utf8')
  .split('\n')
  .map((l) => l.replace(/\r$/, ''))
  .filter((l) => l.length > 0);

const ORIGIN = `http://${HOSTS.staff}`;

/** Resolved the way a browser would, `target` stays on ORIGIN and is a path there. */
function assertSameHostPath(target: string, payload: string): void {
  assert.ok(target.startsWith('/'), `${JSON.stringify(payload)} → ${JSON.stringify(target)} is not a path`);
  assert.ok(!target.startsWith('//') && !target.startsWith('/\\'), `${JSON.stringify(payload)} → ${JSON.stringify(target)} is protocol-relative`);
  // eslint-disable-next-line no-control-regex -- the assertion is that no raw control character reaches the Location header
  assert.ok(!/[\u0000-\u0020\u007f-\uffff\\]/.test(target), `${JSON.stringify(payload)} → ${JSON.stringify(target)} has raw controls, spaces or backslashes`);
  assert.equal(new URL(target, ORIGIN).origin, ORIGIN, `${JSON.stringify(payload)} → ${JSON.stringify(target)} leaves the host`);
}

const ENTITIES: Record<string, string> = { '&amp;': '&', '&lt;': '<', '&gt;': '>', '&quot;': '"', '&#39;': "'", '&#96;': '`' };
const unescapeHtml = (s: string) => s.replace(/&(amp|lt|gt|quot|#39|#96);/g, (e) => ENTITIES[e] as string);

/** Every href/action of a page, unescaped. */
function links(page: string): string[] {
  return [...page.matchAll(/\b(?:href|action)="([^"]*)"/g)].map((m) => unescapeHtml(m[1] as string));
}

/** A link's own `rd` must itself be a same-host path. */
function assertLinkSafe(link: string, payload: string): void {
  assertSameHostPath(link, payload);
  const rd = new URL(link, ORIGIN).searchParams.get('rd');
  if (rd !== null) assertSameHostPath(rd, payload);
}

test('the payload file is there and complete', () => {
  assert.ok(PAYLOADS.length >= 550, `only ${PAYLOADS.length} payloads`);
});

describe('safeRedirectTarget', () => {
  test('every payload becomes a same-host path', () => {
    for (const payload of PAYLOADS) {
      const target = safeRedirectTarget(payload);
      assertSameHostPath(target, payload);
      // what was validated is what is used: validating the result again changes nothing
      assert.equal(safeRedirectTarget(target), target, payload);
    }
  });

  test('most payloads fall back to "/"', () => {
    const kept = PAYLOADS.filter((p) => safeRedirectTarget(p) !== '/');
    // a handful are harmless same-host paths (e.g. "/%2f%2fexample.com" is refused, "/foo" is kept)
    assert.ok(kept.length < PAYLOADS.length / 4, `${kept.length} kept: ${kept.slice(0, 5).join(' ')}`);
  });

  for (const [input, expected] of [
    ['/dashboard', '/dashboard'],
    ['/a/b?x=1&y=2', '/a/b?x=1&y=2'],
    ['/a/../b', '/b'],
    ['//evil.test', '/'],
    ['/\\evil.test', '/'],
    ['https://evil.test/', '/'],
    ['javascript:alert(1)', '/'],
    ['/.auth/logout', '/'],
    ['/%2e%61uth/login', '/'],
    ['', '/'],
    [undefined, '/'],
    [['/a', '/b'], '/'],
    ['/' + 'a'.repeat(3000), '/'],
  ] as const) {
    test(`${JSON.stringify(input)?.slice(0, 40)} → ${expected}`, () => {
      assert.equal(safeRedirectTarget(input), expected);
    });
  }
});

describe('over HTTP', () => {
  let gw: TestGateway;
  before(async () => {
    gw = await startGateway();
  });
  after(() => gw.close());

  test('/.auth/logout?rd=… redirects to a same-host path, and the signed-out page links only to same-host paths', async () => {
    for (const payload of PAYLOADS) {
      const q = `?rd=${encodeURIComponent(payload)}`;
      const logout = await gw.request(HOSTS.staff, `/.auth/logout${q}`, { headers: { 'sec-fetch-site': 'same-origin' } });
      await logout.body.dump();
      assert.equal(logout.statusCode, 303, payload);
      const location = String(logout.headers.location);
      assertLinkSafe(location, payload);
      assert.ok(location.startsWith('/.auth/signed-out?rd='), location);

      const signedOut = await gw.request(HOSTS.staff, `/.auth/signed-out${q}`, { headers: { accept: 'text/html' } });
      assert.equal(signedOut.statusCode, 200, payload);
      const page = await signedOut.body.text();
      const found = links(page);
      assert.ok(
        found.some((l) => l.startsWith('/.auth/login?rd=')),
        payload,
      );
      for (const link of found) assertLinkSafe(link, payload);
    }
  });

  test('the cross-site sign-out confirmation links only to same-host paths', async () => {
    const cookie = await gw.sessionCookie(HOSTS.staff);
    for (const payload of PAYLOADS) {
      const res = await gw.request(HOSTS.staff, `/.auth/logout?rd=${encodeURIComponent(payload)}`, {
        cookie,
        headers: { 'sec-fetch-site': 'cross-site', accept: 'text/html' },
      });
      assert.equal(res.statusCode, 200, payload);
      const page = await res.body.text();
      assert.match(page, /Sign out\?/);
      const found = links(page);
      assert.ok(found.length >= 2, payload);
      for (const link of found) assertLinkSafe(link, payload);
    }
  });

  test('a payload sent raw in the query (not encoded) is just as safe', async () => {
    for (const payload of PAYLOADS) {
      // only payloads a client can put in a request line unencoded
      if (!/^[\u0021-\u007e]+$/.test(payload) || payload.includes('#')) continue;
      const res = await gw.request(HOSTS.staff, `/.auth/signed-out?rd=${payload}`, { headers: { accept: 'text/html' } }).catch(() => null);
      if (res === null) continue;
      const page = await res.body.text();
      if (res.statusCode !== 200) {
        assert.equal(res.statusCode, 400, payload);
        continue;
      }
      for (const link of links(page)) assertLinkSafe(link, payload);
    }
  });
});

test('reserved /.auth paths are no destination, except the settings pages', () => {
  assert.equal(safeRedirectTarget('/.auth/admin/security/sso?x=1'), '/.auth/admin/security/sso?x=1');
  assert.equal(safeRedirectTarget('/.AUTH/admin/'), '/.auth/admin/');
  for (const rd of ['/.auth/logout', '/.auth/login?rd=/x', '/.auth/handoff?ticket=t', '/.auth', '/.auth/administrator', '/x/../.auth/logout']) {
    assert.equal(safeRedirectTarget(rd), '/', rd);
  }
});
