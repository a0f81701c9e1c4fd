/**
 * The Host header decides the site (and so the realm, the upstream and the cookie a
 * session is bound to). Spellings of a configured host are one site; anything else —
 * unknown hosts, look-alikes (IDN, punycode, full-width), suffix and prefix tricks,
 * absolute-form request targets naming another host, several Host headers, a
 * forwarded host from an untrusted peer — is refused before any upstream is asked.
 * Sent over raw sockets: HTTP clients would normalise or refuse most of these.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { HOSTS, startGateway, type TestGateway } from '../support/gateway.ts';
import { firstBody, firstHeaders, HOST_TRICKS, rawExchange } from './support.ts';

let gw: TestGateway;
let trusted: TestGateway;
let staffCookie: string;

before(async () => {
  gw = await startGateway();
  trusted = await startGateway({ configure: (r) => ({ ...r, server: { ...(r.server as object), trustedProxies: ['127.0.0.1'] } }) });
  staffCookie = await gw.sessionCookie(HOSTS.staff);
});
after(async () => {
  await gw.close();
  await trusted.close();
});

const upstreamCount = (g: TestGateway) =>
  g.staffUpstream.received.length + g.portalUpstream.received.length + g.staffUpstream.upgrades.length + g.portalUpstream.upgrades.length;

/** one raw request with the given header lines (each without CRLF); Connection: close added */
async function send(g: TestGateway, target: string, headerLines: readonly string[], method = 'GET') {
  const before = upstreamCount(g);
  const r = await rawExchange(g.port, `${method} ${target} HTTP/1.1\r\n${headerLines.map((h) => `${h}\r\n`).join('')}Connection: close\r\n\r\n`, {
    waitMs: 500,
  });
  return { ...r, status: r.statuses[0] ?? 0, headers: firstHeaders(r.text), body: firstBody(r.text), proxied: upstreamCount(g) - before };
}

describe('spellings of a configured host are that site', () => {
  for (const host of ['STAFF.EXAMPLE.TEST', 'Staff.Example.Test', 'staff.example.test.', 'staff.example.test:8080', 'STAFF.example.test.:443']) {
    test(`${JSON.stringify(host)} serves the staff site, and the staff cookie works there`, async () => {
      const pub = await send(gw, '/assets/a.css', [`Host: ${host}`]);
      assert.equal(pub.status, 200, pub.text.slice(0, 200));
      assert.equal(pub.proxied, 1);
      const me = await send(gw, '/.auth/me', [`Host: ${host}`, `Cookie: ${staffCookie}`]);
      assert.equal(me.status, 200, 'the session is bound to the canonical host, not its spelling');
    });
  }
});

describe('anything else is refused with 421 and never proxied', () => {
  const unknown = [
    'evil.test',
    'example.test',
    'support.example.test',
    '.initech.example.test',
    'initech.example.test',
    'staff.example.test.evil.test',
    'staff.example.test..',
    'staff..example.test',
    'staff.example.test:',
    'staff.example.test:80:80',
    'staff.example.test:http',
    '[::1]',
    '[::1]:8080',
    '127.0.0.1',
    'localhost',
    // IDN and look-alikes: never folded onto an ASCII site
    'stäff.example.test',
    'xn--stff-loa.example.test',
    '\u0455taff.example.test', // Cyrillic dze
    'ｓｔａｆｆ.example.test', // full-width
    'staff\u3002example\u3002test', // ideographic full stops
    'xn--staff-example-test',
    ...HOST_TRICKS,
  ];
  for (const host of unknown) {
    test(`Host: ${JSON.stringify(host)}`, async () => {
      for (const [target, extra] of [
        ['/assets/a.css', []],
        ['/private', [`Cookie: ${staffCookie}`]],
        ['/.auth/login', []],
        ['/.auth/me', [`Cookie: ${staffCookie}`]],
      ] as const) {
        const r = await send(gw, target, [`Host: ${Buffer.from(host, 'utf8').toString('latin1')}`, 'Accept: application/json', ...extra]);
        assert.ok(r.status === 421 || r.status === 400, `${target}: ${r.status} ${r.text.slice(0, 120)}`);
        assert.equal(r.proxied, 0, `${target}: proxied`);
        assert.doesNotMatch(r.headers['set-cookie'] ?? '', /regentra/, 'no cookie is issued for an unknown host');
      }
    });
  }

  test('a WebSocket upgrade naming an unknown host is refused', async () => {
    const r = await rawExchange(
      gw.port,
      `GET /live HTTP/1.1\r\nHost: evil.test\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nCookie: ${staffCookie}\r\n\r\n`,
      { waitMs: 500 },
    );
    assert.equal(r.statuses[0], 421);
    assert.equal(gw.staffUpstream.upgrades.length + gw.portalUpstream.upgrades.length, 0);
  });

  test('only the public keys are served on any host name', async () => {
    assert.equal((await send(gw, '/.auth/jwks.json', ['Host: regentra-gateway'])).status, 200);
    for (const target of ['/.auth/jwks.json/x', '/.auth/jwks.jsonx', '/.auth/me', '/.auth/login']) {
      assert.equal((await send(gw, target, ['Host: regentra-gateway', 'Accept: application/json'])).status, 421, target);
    }
    assert.equal((await send(gw, '/.auth/jwks.json', ['Host: regentra-gateway'], 'POST')).status, 421);
  });
});

describe('a request naming two hosts is refused', () => {
  const cases: ReadonlyArray<readonly [string, readonly string[]]> = [
    ['two Host headers, the site first', [`Host: ${HOSTS.staff}`, 'Host: evil.test']],
    ['two Host headers, the site last', ['Host: evil.test', `Host: ${HOSTS.staff}`]],
    ['two Host headers naming two sites', [`Host: ${HOSTS.acme}`, `Host: ${HOSTS.staff}`]],
    ['the same Host header twice', [`Host: ${HOSTS.staff}`, `Host: ${HOSTS.staff}`]],
    ['two Host headers in different case', [`Host: ${HOSTS.staff}`, `host: ${HOSTS.globex}`]],
  ];
  for (const [name, lines] of cases) {
    test(`${name}: 400 and the connection closed, nothing proxied`, async () => {
      for (const [target, extra] of [
        ['/assets/a.css', []],
        ['/private', [`Cookie: ${staffCookie}`]],
      ] as const) {
        for (const g of [gw, trusted]) {
          const r = await send(g, target, [...lines, ...extra]);
          assert.equal(r.status, 400, `${target}: ${r.text.slice(0, 200)}`);
          assert.equal(r.proxied, 0, `${target}: proxied`);
          assert.equal(r.closed, true);
        }
      }
      const ws = await rawExchange(
        gw.port,
        `GET /assets/live HTTP/1.1\r\n${lines.join('\r\n')}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n`,
        { waitMs: 500 },
      );
      assert.equal(ws.statuses[0], 400, `upgrade: ${ws.text.slice(0, 120)}`);
      assert.equal(gw.staffUpstream.upgrades.length + gw.portalUpstream.upgrades.length, 0);
    });
  }

  const absolute: ReadonlyArray<readonly [string, string]> = [
    ['http://evil.test/private', HOSTS.staff],
    ['http://evil.test/assets/a.css', HOSTS.staff],
    [`http://${HOSTS.staff}/assets/a.css`, 'evil.test'],
    [`http://${HOSTS.acme}/private`, HOSTS.staff],
    [`https://${HOSTS.staff}/assets/a.css`, HOSTS.staff],
    [`//evil.test/assets/a.css`, HOSTS.staff],
    [`${HOSTS.staff}:443`, HOSTS.staff],
  ];
  for (const [target, host] of absolute) {
    test(`an absolute-form target ${target} with Host ${host} is refused, never proxied to either host`, async () => {
      const r = await send(gw, target, [`Host: ${host}`, `Cookie: ${staffCookie}`, 'Accept: application/json']);
      // "//evil.test/…" is an origin-form path on this host (normalised, then gated like any other)
      if (target.startsWith('//')) {
        assert.ok(r.status === 421 || r.status === 200, String(r.status));
        if (r.status === 200) assert.match(r.body, /"url":"\/evil\.test\/assets\/a\.css"/);
        return;
      }
      assert.ok(r.status === 400 || r.status === 421, `${r.status} ${r.text.slice(0, 160)}`);
      assert.equal(r.proxied, 0);
    });
  }

  test('CONNECT is never tunnelled', async () => {
    const before = upstreamCount(gw);
    const r = await rawExchange(gw.port, `CONNECT evil.test:443 HTTP/1.1\r\nHost: ${HOSTS.staff}\r\n\r\n`, { waitMs: 500 });
    assert.ok(r.closed, 'the connection is closed');
    assert.ok(
      r.statuses.every((s) => s >= 400),
      `answered ${r.statuses}`,
    );
    assert.equal(upstreamCount(gw), before);
  });
});

describe('forwarded host headers', () => {
  test('from an untrusted peer, X-Forwarded-Host and Forwarded do not choose the site', async () => {
    const unknownHost = await send(gw, '/assets/a.css', [
      'Host: evil.test',
      `X-Forwarded-Host: ${HOSTS.staff}`,
      `Forwarded: host=${HOSTS.staff}`,
      'Accept: application/json',
    ]);
    assert.equal(unknownHost.status, 421);
    assert.equal(unknownHost.proxied, 0);
    const staff = await send(gw, '/assets/a.css', [`Host: ${HOSTS.staff}`, 'X-Forwarded-Host: evil.test', `Forwarded: host=${HOSTS.acme}`]);
    assert.equal(staff.status, 200);
    const echo = JSON.parse(staff.body) as { headers: Record<string, string> };
    assert.equal(echo.headers['x-forwarded-host'], HOSTS.staff, 'rebuilt from Host');
    assert.equal(echo.headers.forwarded, undefined);
    // a session cookie is not carried to another site by a forwarded host either
    const me = await send(gw, '/.auth/me', [`Host: ${HOSTS.acme}`, `X-Forwarded-Host: ${HOSTS.staff}`, `Cookie: ${staffCookie}`]);
    assert.equal(me.status, 401);
  });

  test('from a trusted proxy, the forwarded host is the site, and an unknown one is refused', async () => {
    const cookie = await trusted.sessionCookie(HOSTS.staff);
    const ok = await send(trusted, '/.auth/me', ['Host: gateway.internal', `X-Forwarded-Host: ${HOSTS.staff}`, `Cookie: ${cookie}`]);
    assert.equal(ok.status, 200);
    const bad = await send(trusted, '/assets/a.css', [`Host: ${HOSTS.staff}`, 'X-Forwarded-Host: evil.test', 'Accept: application/json']);
    assert.equal(bad.status, 421);
    assert.equal(bad.proxied, 0);
  });
});
