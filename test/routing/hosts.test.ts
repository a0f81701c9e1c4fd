/**
 * Host → site routing over HTTP: exact names in any case, with a port or a trailing
 * dot; wildcards only on a dot boundary; anything else is a 421 the upstreams never see.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { canonicalHost } from '../../src/routing/sites.ts';
import { HOSTS, startGateway, type TestGateway } from '../support/gateway.ts';
import type { Echo } from '../support/upstream.ts';

let gw: TestGateway;
before(async () => {
  gw = await startGateway();
});
after(() => gw.close());

/** GET a public path naming `host`; returns the status and the upstream that answered (or null). */
async function reach(host: string): Promise<{ status: number; upstream: string | null; echo: Echo | null }> {
  const res = await gw.request(host, '/assets/app.css');
  const body = await res.body.text();
  const upstream = typeof res.headers['x-upstream'] === 'string' ? res.headers['x-upstream'] : null;
  return { status: res.statusCode, upstream, echo: upstream ? (JSON.parse(body) as Echo) : null };
}

function upstreamCount(): number {
  return gw.staffUpstream.received.length + gw.portalUpstream.received.length;
}

describe('host routing', () => {
  test('an exact host reaches its site', async () => {
    assert.equal((await reach(HOSTS.staff)).upstream, 'staff-app');
    assert.equal((await reach(HOSTS.acme)).upstream, 'portal-app');
    assert.equal((await reach(HOSTS.acmeCustom)).upstream, 'portal-app');
  });

  test('host names match case-insensitively', async () => {
    const r = await reach('STAFF.Example.TEST');
    assert.equal(r.status, 200);
    assert.equal(r.upstream, 'staff-app');
  });

  test('the port is ignored', async () => {
    assert.equal((await reach(`${HOSTS.staff}:8443`)).upstream, 'staff-app');
    assert.equal((await reach(`${HOSTS.acme}:${gw.port}`)).upstream, 'portal-app');
  });

  test('a trailing dot is ignored', async () => {
    assert.equal((await reach(`${HOSTS.staff}.`)).upstream, 'staff-app');
    assert.equal((await reach(`${HOSTS.globex}.:80`)).upstream, 'portal-app');
  });

  test('the site, not the host header spelling, decides the realm', async () => {
    const cookie = await gw.sessionCookie(HOSTS.globex);
    const res = await gw.request('GLOBEX.support.example.test.', '/.auth/me', { cookie });
    assert.equal(res.statusCode, 200);
    assert.equal(((await res.body.json()) as { realm: string }).realm, 'portal:globex');
  });

  test('a wildcard matches a sub-domain on a dot boundary', async () => {
    assert.equal((await reach('a.initech.example.test')).upstream, 'portal-app');
    assert.equal((await reach('deep.er.initech.example.test')).upstream, 'portal-app');
    const cookie = await gw.sessionCookie('a.initech.example.test');
    const me = await gw.request('a.initech.example.test', '/.auth/me', { cookie });
    assert.equal(((await me.body.json()) as { realm: string }).realm, 'portal:initech');
  });

  for (const host of [
    'initech.example.test',
    'evilinitech.example.test',
    'a.initech.example.test.evil.test',
    'initech.example.test.evil.test',
    '.initech.example.test',
  ]) {
    test(`a wildcard does not match ${host}`, async () => {
      const before = upstreamCount();
      const r = await reach(host);
      assert.equal(r.status, 421);
      assert.equal(r.upstream, null);
      assert.equal(upstreamCount(), before);
    });
  }
});

describe('canonicalHost (answers remembered per Host header)', () => {
  // the longest name DNS allows: 253 characters in labels of at most 63
  const longest = `${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(61)}`;

  test('the longest name, with its trailing dot and a port, is read; one character more is no host', () => {
    assert.equal(longest.length, 253);
    assert.equal(canonicalHost(`${longest.toUpperCase()}.:65535`), longest);
    assert.equal(canonicalHost(`${longest}x.:65535`), null);
    assert.equal(canonicalHost(`${longest}.:655355`), null);
  });

  test('the same header gives the same answer every time, remembered or not, past the memory’s bound', () => {
    const seen = ['Staff.Example.Test:8080', 'a..b', 'x'.repeat(300), 'staff.example.test.'];
    const first = seen.map((h) => canonicalHost(h));
    assert.deepEqual(first, ['staff.example.test', null, null, 'staff.example.test']);
    for (let i = 0; i < 2_100; i++) canonicalHost(`host-${i}.example.test`); // more names than it keeps
    assert.deepEqual(
      seen.map((h) => canonicalHost(h)),
      first,
    );
  });
});

describe('unknown hosts', () => {
  for (const host of [
    'unknown.example.test',
    'staff.example.test.evil.test',
    'xstaff.example.test',
    '127.0.0.1',
    '127.0.0.1:8080',
    '[::1]:8080',
    'staff.example.test:abc',
    'a..b',
  ]) {
    test(`${JSON.stringify(host)} → 421 JSON for API clients, never proxied`, async () => {
      const before = upstreamCount();
      const res = await gw.request(host, '/private', { headers: { accept: 'application/json' } });
      assert.equal(res.statusCode, 421);
      assert.match(String(res.headers['content-type']), /^application\/json/);
      const body = (await res.body.json()) as { error: string };
      assert.equal(body.error, 'unknown_host');
      assert.equal(upstreamCount(), before);
    });
  }

  test('421 is a page for a browser', async () => {
    const res = await gw.request('unknown.example.test', '/', { headers: { accept: 'text/html,application/xhtml+xml' } });
    assert.equal(res.statusCode, 421);
    assert.match(String(res.headers['content-type']), /^text\/html/);
    const page = await res.body.text();
    assert.match(page, /Unknown site/);
    assert.match(String(res.headers['content-security-policy']), /default-src 'none'/);
  });

  test('an unknown host gets no session and no gateway endpoint', async () => {
    const cookie = await gw.sessionCookie(HOSTS.staff);
    const res = await gw.request('unknown.example.test', '/.auth/me', { cookie });
    assert.equal(res.statusCode, 421);
    await res.body.dump();
  });

  test('every method on an unknown host is refused', async () => {
    const before = upstreamCount();
    for (const method of ['POST', 'PUT', 'DELETE', 'PATCH'] as const) {
      const res = await gw.request('unknown.example.test', '/x', { method, body: 'data' });
      assert.equal(res.statusCode, 421, method);
      await res.body.dump();
    }
    assert.equal(upstreamCount(), before);
  });
});
