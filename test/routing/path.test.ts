/**
 * Request-target normalisation: the table (unit), then over HTTP — public-path
 * tricks must not skip sign-in, the upstream receives the normalised path, and
 * every spelling of /.auth is the gateway's own.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { normalizeTarget } from '../../src/routing/path.ts';
import { HOSTS, requestTarget, startGateway, type TestGateway } from '../support/gateway.ts';
import type { Echo } from '../support/upstream.ts';

describe('normalizeTarget', () => {
  const ok: ReadonlyArray<readonly [string, string, string?]> = [
    ['/', '/'],
    ['/a/b', '/a/b'],
    ['/a/b/', '/a/b/'],
    ['/private?x=/assets/', '/private', 'x=/assets/'],
    ['/assets/../private', '/private'],
    ['/assets/%2e%2e/private', '/private'],
    ['/assets/%2E%2E/private', '/private'],
    ['/assets/.%2e/private', '/private'],
    ['//assets/../private', '/private'],
    ['/a//b', '/a/b'],
    ['//', '/'],
    ['/a/./b/', '/a/b/'],
    ['/a/b/.', '/a/b/'],
    ['/a/b/..', '/a/'],
    ['/..', '/'],
    ['/../../etc/passwd', '/etc/passwd'],
    ['/a%41', '/aA'],
    ['/%7e', '/~'],
    ['/%e2%82%ac', '/%E2%82%AC'],
    ['/%3f', '/%3F'],
    ['/%23', '/%23'],
    ['/ASSETS/x', '/ASSETS/x'],
    ['/.AUTH/me', '/.auth/me'],
    ['/.Auth', '/.auth'],
    ['/%2eauth/me', '/.auth/me'],
    ['/x/../.auth/me', '/.auth/me'],
    ['/.authx', '/.authx'],
    ['/a/.../b', '/a/.../b'],
    ['/x;a=b', '/x;a=b'],
    ['/a#fragment', '/a'],
    ['/a?b=1#c', '/a', 'b=1'],
    ['/a?q=%2f..&r=a+b', '/a', 'q=%2f..&r=a+b'],
  ];
  for (const [target, path, query = ''] of ok) {
    test(`${target} → ${path}${query ? `?${query}` : ''}`, () => {
      assert.deepEqual(normalizeTarget(target), { ok: true, path, query });
    });
  }

  const refused: ReadonlyArray<readonly [string, RegExp]> = [
    ['', /starting with "\/"/],
    ['*', /starting with "\/"/],
    ['http://evil.test/x', /starting with "\/"/],
    ['\\assets\\..\\private', /starting with "\/"/],
    ['/assets%2f..%2fprivate', /encoded "\/"/],
    ['/a%2F', /encoded "\/"/],
    ['/a%5c..%5cb', /encoded "\/"/],
    ['/assets/..;/private', /dot-segment with parameters/],
    ['/..;', /dot-segment with parameters/],
    ['/.;/x', /dot-segment with parameters/],
    ['/a b', /control, space or non-ASCII/],
    ['/é', /control, space or non-ASCII/],
    ['/a%00', /encoded control/],
    ['/a%0d%0a', /encoded control/],
    ['/%', /malformed %-escape/],
    ['/%zz', /malformed %-escape/],
    ['/%C0%AE', /not UTF-8|UTF-8/],
    ['/%ff', /UTF-8/],
  ];
  for (const [target, reason] of refused) {
    test(`${JSON.stringify(target)} is refused`, () => {
      const n = normalizeTarget(target);
      assert.equal(n.ok, false);
      if (!n.ok) assert.match(n.reason, reason);
    });
  }

  // normalised, but marked: an upstream that decodes twice or applies NFKC reads another path (the site refuses it by default)
  const ambiguous: ReadonlyArray<readonly [string, string, RegExp]> = [
    ['/assets/%252e%252e/secret', '/assets/%252e%252e/secret', /double-encoded/],
    ['/assets/..%252f..%252fsecret', '/assets/..%252f..%252fsecret', /double-encoded/],
    ['/a/%25%32%65', '/a/%252e', /double-encoded/],
    ['/assets/%ef%bc%8e%ef%bc%8e/secret', '/assets/%EF%BC%8E%EF%BC%8E/secret', /U\+FF0E .*NFKC/],
    ['/assets/%E2%80%A5/secret', '/assets/%E2%80%A5/secret', /U\+2025/],
    ['/assets/..%EF%BC%8Fsecret', '/assets/..%EF%BC%8Fsecret', /U\+FF0F/],
    ['/assets/..%E2%88%95secret', '/assets/..%E2%88%95secret', /U\+2215/],
    ['/assets/..%E2%81%84secret', '/assets/..%E2%81%84secret', /U\+2044/],
    ['/assets/..%E2%A7%B8secret', '/assets/..%E2%A7%B8secret', /U\+29F8/],
    ['/kb/%C2%BD', '/kb/%C2%BD', /U\+00BD/],
  ];
  for (const [target, path, reason] of ambiguous) {
    test(`${target} → ${path}, marked ambiguous`, () => {
      const n = normalizeTarget(target);
      assert.ok(n.ok);
      assert.equal(n.path, path);
      assert.match(n.ambiguous ?? '', reason);
    });
  }

  test('non-ASCII text and a literal "%" are not ambiguous', () => {
    for (const target of ['/kb/caf%C3%A9', '/kb/%E6%97%A5', '/kb/100%25', '/kb/%25zz', '/kb/%E2%82%AC']) {
      const n = normalizeTarget(target);
      assert.ok(n.ok && n.ambiguous === undefined, target);
    }
  });

  test('a backslash inside the path is a slash', () => {
    assert.deepEqual(normalizeTarget('/assets\\..\\private'), { ok: true, path: '/private', query: '' });
  });

  test('the result is a fixed point', () => {
    for (const [target] of ok) {
      const once = normalizeTarget(target);
      assert.ok(once.ok);
      const twice = normalizeTarget(once.query ? `${once.path}?${once.query}` : once.path);
      assert.deepEqual(twice, once, target);
    }
  });
});

describe('paths over HTTP', () => {
  let gw: TestGateway;
  before(async () => {
    gw = await startGateway();
  });
  after(() => gw.close());

  const attacks = [
    '/private?x=/assets/',
    '/assets/../private',
    '/assets/%2e%2e/private',
    '/assets%2f..%2fprivate',
    '//assets/../private',
    '/assets/..;/private',
    '/ASSETS/x',
    '\\assets\\..\\private',
    '/assets\\..\\private',
    '/assets/%2E%2E/private',
    '/assets/./../private',
    '/health/../private',
    '/health/',
    '/healthz',
    '/assetsx/a',
  ];
  for (const target of attacks) {
    test(`${target} on a site with public /assets/ and /health needs sign-in`, async () => {
      const before = gw.staffUpstream.received.length;
      const res = await requestTarget(gw.port, HOSTS.staff, target, { headers: { accept: 'application/json' } });
      // 401 (needs sign-in), or 400 for a target the gateway refuses to interpret at all
      assert.ok(res.status === 401 || res.status === 400, `${target}: ${res.status} ${res.body}`);
      assert.equal(gw.staffUpstream.received.length, before, 'the upstream must not be reached');
    });
  }

  test('a browser asking for a protected path after a trick is sent to sign in', async () => {
    const res = await requestTarget(gw.port, HOSTS.staff, '/assets/%2e%2e/private', { headers: { accept: 'text/html' } });
    assert.equal(res.status, 302);
    assert.equal(res.headers.location, `/.auth/login?rd=${encodeURIComponent('/private')}`);
  });

  const allowed: ReadonlyArray<readonly [string, string]> = [
    ['/assets/app.css', '/assets/app.css'],
    ['/assets/a/../b.css', '/assets/b.css'],
    ['//assets//x/./y.css', '/assets/x/y.css'],
    ['/assets/%61pp.css', '/assets/app.css'],
    ['/assets\\img\\logo.png', '/assets/img/logo.png'],
    ['/health', '/health'],
    ['/assets/x.js?v=%2F..&a=1&a=2&flag', '/assets/x.js?v=%2F..&a=1&a=2&flag'],
    ['/assets/%e2%82%ac.txt', '/assets/%E2%82%AC.txt'],
  ];
  for (const [target, seen] of allowed) {
    test(`public ${target} reaches the upstream as ${seen}`, async () => {
      const res = await requestTarget(gw.port, HOSTS.staff, target);
      assert.equal(res.status, 200, res.body);
      assert.equal((JSON.parse(res.body) as Echo).url, seen);
    });
  }

  test('an authenticated request reaches the upstream with the normalised path', async () => {
    const cookie = await gw.sessionCookie(HOSTS.staff);
    const res = await requestTarget(gw.port, HOSTS.staff, '/a/b/../%63/./d?x=1', { headers: { cookie } });
    assert.equal(res.status, 200, res.body);
    assert.equal((JSON.parse(res.body) as Echo).url, '/a/c/d?x=1');
  });

  for (const target of ['/.AUTH/me', '/%2eauth/me', '/x/../.auth/me', '/.Auth/ME/../me', '//.auth/me', '/assets/../.auth/me']) {
    test(`${target} is the gateway's own /.auth/me, never proxied`, async () => {
      const email = `me-${target.length}-${gw.staffUpstream.received.length}@example.com`;
      const cookie = await gw.sessionCookie(HOSTS.staff, { email });
      const before = gw.staffUpstream.received.length;
      const res = await requestTarget(gw.port, HOSTS.staff, target, { headers: { cookie } });
      assert.equal(res.status, 200, res.body);
      assert.equal((JSON.parse(res.body) as { email: string }).email, email);
      assert.equal(res.headers['x-upstream'], undefined);
      assert.equal(gw.staffUpstream.received.length, before);
    });
  }

  for (const target of ['/.auth', '/.AUTH', '/.auth/', '/.auth/nothing-here', '/.auth/../.auth/x']) {
    test(`${target} is never proxied, even with a session`, async () => {
      const cookie = await gw.sessionCookie(HOSTS.staff);
      const before = gw.staffUpstream.received.length;
      const res = await requestTarget(gw.port, HOSTS.staff, target, { headers: { cookie, accept: 'application/json' } });
      assert.equal(res.status, 404, res.body);
      assert.equal(gw.staffUpstream.received.length, before);
    });
  }

  for (const target of ['/%C0%AE%C0%AE/private', '/a%00b', '/a%2fb']) {
    test(`${target} → 400 from the gateway's catalogue`, async () => {
      const res = await requestTarget(gw.port, HOSTS.staff, target, { headers: { accept: 'application/json' } });
      assert.equal(res.status, 400);
      assert.equal((JSON.parse(res.body) as { error: string }).error, 'bad_path');
    });
  }
});
