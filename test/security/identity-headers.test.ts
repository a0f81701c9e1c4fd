/**
 * Identity header injection. Every inbound spelling of every identity header (case,
 * `_` for `-`, repeated, folded, as a trailer, named in Connection, a genuine JWT
 * replayed) is gone before the request leaves for the upstream, on every route that
 * reaches one: public paths (prefix and exact), protected paths with a session,
 * OPTIONS, bodies, WebSocket upgrades, on staff and portal hosts. What the upstream
 * receives is read off the wire (a TCP relay), not from a parser that could hide
 * duplicates; only the gateway's own headers, once each, with the session's values.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { HEADERS } from '../../src/identity/headers.ts';
import { verifyIdentity } from '../../src/identity/verify.ts';
import { HOSTS, requestTarget, startGateway, type TestGateway } from '../support/gateway.ts';
import { startUpstream, type Upstream } from '../support/upstream.ts';
import { rawExchange, requestLines, wireTap, type WireTap } from './support.ts';

/** every spelling of one header name: case, `_` for each `-`, both mixed */
function spellings(name: string): string[] {
  const title = name.replace(/(^|-)([a-z])/g, (_m, d: string, c: string) => d + c.toUpperCase());
  const out = new Set([name, name.toUpperCase(), title, name.replaceAll('-', '_'), title.replaceAll('-', '_'), name.toUpperCase().replaceAll('-', '_')]);
  const dashes = [...name.matchAll(/-/g)].map((m) => m.index);
  for (const i of dashes) out.add(`${title.slice(0, i)}_${title.slice(i + 1)}`);
  return [...out];
}

const NAMES = Object.values(HEADERS);
const EXTRA = ['x-regentra-session', 'x-regentra-admin', 'x-regentra-tenant', 'X-Regentra'];
/** [name, value] for every spelling of every identity header, each value marked FORGED */
const FORGERIES: Array<[string, string]> = [...NAMES, ...EXTRA].flatMap((n, i) =>
  spellings(n).map((s, j): [string, string] => [s, `FORGED-${i}-${j}@evil.test`]),
);
/** the same header twice, in two cases, with different values */
const REPEATED: Array<[string, string]> = [
  ['X-Regentra-Email', 'FORGED-rep-1@evil.test'],
  ['x-regentra-email', 'FORGED-rep-2@evil.test'],
  ['X-Regentra-Role', 'admin'],
  ['X-Regentra-Role', 'admin'],
];

function headerLines(pairs: ReadonlyArray<readonly [string, string]>): string {
  return pairs.map(([n, v]) => `${n}: ${v}\r\n`).join('');
}

/** identity-like header names in raw upstream traffic */
function identityNames(wire: string): string[] {
  return [...wire.matchAll(/\r\n(x[-_]regentra[^:\r\n]*):/gi)].map((m) => m[1] as string);
}

describe('identity header injection', () => {
  let gw: TestGateway;
  let staffTap: WireTap;
  let portalTap: WireTap;
  let cookie: string;
  let acmeCookie: string;
  let staffUp: Upstream;
  let portalUp: Upstream;
  before(async () => {
    // echo upstreams behind TCP relays that record the raw bytes the gateway sends
    staffUp = await startUpstream('staff-app');
    portalUp = await startUpstream('portal-app');
    staffTap = await wireTap(staffUp.port);
    portalTap = await wireTap(portalUp.port);
    gw = await startGateway({
      configure: (raw) => {
        const sites = raw.sites as { staff: Record<string, unknown>; portal: Record<string, unknown> };
        sites.staff.upstream = staffTap.url;
        sites.portal.upstream = portalTap.url;
        return raw;
      },
    });
    cookie = await gw.sessionCookie(HOSTS.staff, { email: 'real@example.com', name: 'Real Person' });
    acmeCookie = await gw.sessionCookie(HOSTS.acme, { email: 'acme-user@example.com' });
  });
  after(async () => {
    await gw.close();
    await staffTap.close();
    await portalTap.close();
    await staffUp.close();
    await portalUp.close();
  });

  function taps(): string {
    return staffTap.text() + portalTap.text();
  }

  /** send one raw request, return the bytes the upstreams received for it */
  async function through(host: string, requestHead: string, body = ''): Promise<{ status: number[]; wire: string; closed: boolean }> {
    staffTap.clear();
    portalTap.clear();
    // close after the answer (so the exchange ends at once), unless the request names its own Connection
    const ownConnection = /\r\nConnection:/i.test(requestHead);
    const head = ownConnection ? requestHead : `${requestHead}Connection: close\r\n`;
    // with Connection: close the exchange ends with the answer and the wait is only a cap
    // (a loaded machine can take longer than 300 ms); a kept-open connection waits it out
    const r = await rawExchange(gw.port, `${head}\r\n${body}`, { waitMs: ownConnection ? 1_000 : 5_000 });
    return { status: r.statuses, wire: taps(), closed: r.closed };
  }

  const routes: ReadonlyArray<{ name: string; host: string; line: string; session: 'staff' | 'acme' | null; body?: string }> = [
    { name: 'public prefix path', host: HOSTS.staff, line: 'GET /assets/app.js HTTP/1.1', session: null },
    { name: 'public exact path', host: HOSTS.staff, line: 'GET /health HTTP/1.1', session: null },
    { name: 'public path, OPTIONS (CORS preflight)', host: HOSTS.staff, line: 'OPTIONS /assets/app.js HTTP/1.1', session: null },
    { name: 'public path, POST with a body', host: HOSTS.staff, line: 'POST /assets/upload HTTP/1.1', session: null, body: 'x=1' },
    { name: 'public path on a portal host', host: HOSTS.acme, line: 'GET /assets/logo.png HTTP/1.1', session: null },
    { name: 'public path with a session', host: HOSTS.staff, line: 'GET /assets/app.js HTTP/1.1', session: 'staff' },
    { name: 'protected path with a session', host: HOSTS.staff, line: 'GET /private/reports?x=1 HTTP/1.1', session: 'staff' },
    { name: 'protected path with a session, OPTIONS', host: HOSTS.staff, line: 'OPTIONS /private/reports HTTP/1.1', session: 'staff' },
    { name: 'protected path with a session, PUT with a body', host: HOSTS.staff, line: 'PUT /private/item HTTP/1.1', session: 'staff', body: '{"a":1}' },
    { name: 'portal path with a session', host: HOSTS.acme, line: 'GET /tickets HTTP/1.1', session: 'acme' },
  ];

  for (const route of routes) {
    test(`${route.name}: no inbound identity header reaches the upstream`, async () => {
      const c = route.session === 'staff' ? cookie : route.session === 'acme' ? acmeCookie : null;
      const body = route.body ?? '';
      const head = `${route.line}\r\nHost: ${route.host}\r\n${headerLines(FORGERIES)}${headerLines(REPEATED)}${c ? `Cookie: ${c}\r\n` : ''}${body ? `Content-Type: text/plain\r\nContent-Length: ${body.length}\r\n` : ''}`;
      const { status, wire } = await through(route.host, head, body);
      assert.deepEqual(status, [200], `answered ${status}`);
      assert.equal(requestLines(wire).length, 1, 'one request upstream');
      assert.doesNotMatch(wire, /FORGED|evil\.test/, 'a forged value reached the upstream');
      const names = identityNames(wire);
      const isPublic = route.line.includes(' /assets/') || route.line.includes(' /health ');
      if (route.session === null || isPublic) {
        // public paths are proxied without identity, signed in or not
        assert.deepEqual(names, [], 'no identity header at all on a public path or without a session');
      } else {
        // exactly the gateway's own, lower case, once each
        const expected =
          route.session === 'staff'
            ? [HEADERS.authMethod, HEADERS.email, HEADERS.identity, HEADERS.name, HEADERS.realm, HEADERS.role, HEADERS.userId]
            : [HEADERS.authMethod, HEADERS.client, HEADERS.email, HEADERS.identity, HEADERS.name, HEADERS.realm, HEADERS.userId];
        assert.deepEqual([...names].sort(), expected.sort());
        const email = /\r\nx-regentra-email: ([^\r]*)\r\n/.exec(wire)?.[1];
        assert.equal(email, route.session === 'staff' ? 'real@example.com' : 'acme-user@example.com');
        const jwt = /\r\nx-regentra-identity: ([^\r]*)\r\n/.exec(wire)?.[1] as string;
        const who = await verifyIdentity(
          { 'x-regentra-identity': jwt },
          {
            keys: JSON.parse(gw.core.jwks.body),
            audience: route.session === 'staff' ? 'staff' : 'portal',
            issuer: gw.config.identity.issuer,
          },
        );
        assert.equal(who.email, email);
      }
    });
  }

  test('without a session a protected path is not proxied at all, forged identity or not (GET, OPTIONS, POST)', async () => {
    for (const line of ['GET /private HTTP/1.1', 'OPTIONS /private HTTP/1.1', 'POST /private HTTP/1.1']) {
      const { status, wire } = await through(HOSTS.staff, `${line}\r\nHost: ${HOSTS.staff}\r\n${headerLines(FORGERIES)}Content-Length: 0\r\n`);
      assert.deepEqual(status, [401], line);
      assert.equal(wire, '', `${line}: nothing reached the upstream`);
    }
  });

  test('a genuine identity JWT replayed by a client is stripped and authenticates nothing', async () => {
    const first = await through(HOSTS.staff, `GET /private HTTP/1.1\r\nHost: ${HOSTS.staff}\r\nCookie: ${cookie}\r\n`);
    const jwt = /\r\nx-regentra-identity: ([^\r]*)\r\n/.exec(first.wire)?.[1];
    assert.ok(jwt, 'captured a genuine assertion');
    for (const name of ['X-Regentra-Identity', 'x_regentra_identity', 'Authorization']) {
      const value = name === 'Authorization' ? `Bearer ${jwt}` : jwt;
      const denied = await through(HOSTS.staff, `GET /private HTTP/1.1\r\nHost: ${HOSTS.staff}\r\nAccept: application/json\r\n${name}: ${value}\r\n`);
      assert.deepEqual(denied.status, [401], `${name}: no session from a replayed assertion`);
      assert.equal(denied.wire, '');
      const me = await requestTarget(gw.port, HOSTS.staff, '/.auth/me', { headers: { [name]: value } });
      assert.equal(me.status, 401, `${name}: /.auth/me`);
      const pub = await through(HOSTS.staff, `GET /assets/x HTTP/1.1\r\nHost: ${HOSTS.staff}\r\n${name}: ${value}\r\n`);
      if (name !== 'Authorization') assert.ok(!pub.wire.includes(jwt), `${name}: the replayed assertion reached the upstream of a public path`);
    }
  });

  test('header folding (obs-fold) is refused with 400 and the connection closed; nothing is proxied', async () => {
    const folds = [
      `X-Regentra-Email: a\r\n evil@evil.test`,
      `X-Foo: a\r\n X-Regentra-Email: FORGED@evil.test`,
      `X-Regentra-Role:\r\n\tadmin`,
      `X-Regentra_Identity: a\r\n\t b`,
    ];
    for (const fold of folds) {
      for (const session of [null, cookie]) {
        const { status, wire, closed } = await through(
          HOSTS.staff,
          `GET /assets/x HTTP/1.1\r\nHost: ${HOSTS.staff}\r\n${fold}\r\n${session ? `Cookie: ${session}\r\n` : ''}`,
        );
        assert.deepEqual(status, [400], JSON.stringify(fold));
        assert.equal(closed, true, 'connection closed');
        assert.equal(wire, '', 'nothing proxied');
      }
    }
  });

  test('identity headers sent as chunked trailers never reach the upstream', async () => {
    const chunked = '5\r\nhello\r\n0\r\nX-Regentra-Email: FORGED-trailer@evil.test\r\nx_regentra_identity: FORGED.jwt\r\n\r\n';
    for (const [path, c] of [
      ['/assets/up', null],
      ['/private/up', cookie],
    ] as const) {
      const { status, wire } = await through(
        HOSTS.staff,
        `POST ${path} HTTP/1.1\r\nHost: ${HOSTS.staff}\r\nTrailer: X-Regentra-Email\r\nTransfer-Encoding: chunked\r\n${c ? `Cookie: ${c}\r\n` : ''}`,
        chunked,
      );
      assert.deepEqual(status, [200], path);
      assert.doesNotMatch(wire, /FORGED/, `${path}: a trailer reached the upstream`);
      assert.ok(wire.includes('hello'), 'the body itself was forwarded');
    }
  });

  test("naming identity headers in Connection does not remove the gateway's own or smuggle a forged one", async () => {
    const { status, wire } = await through(
      HOSTS.staff,
      `GET /private HTTP/1.1\r\nHost: ${HOSTS.staff}\r\nConnection: keep-alive, X-Regentra-Identity, x-regentra-email\r\nX-Regentra-Email: FORGED@evil.test\r\nCookie: ${cookie}\r\n`,
    );
    assert.deepEqual(status, [200]);
    assert.doesNotMatch(wire, /FORGED/);
    assert.match(wire, /\r\nx-regentra-identity: ey/, "the gateway's own assertion is still sent");
    assert.match(wire, /\r\nx-regentra-email: real@example\.com\r\n/);
    assert.doesNotMatch(wire, /\r\nconnection: [^\r]*regentra/i, "the client's Connection list is not forwarded");
  });

  describe('WebSocket upgrades', () => {
    const upgrade = (path: string, c: string | null, host: string = HOSTS.staff) =>
      `GET ${path} HTTP/1.1\r\nHost: ${host}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n${headerLines(FORGERIES)}${headerLines(REPEATED)}${c ? `Cookie: ${c}\r\n` : ''}`;

    for (const [name, path, session, host] of [
      ['public path', '/assets/live', null, HOSTS.staff],
      ['protected path with a session', '/live?room=1', 'staff', HOSTS.staff],
      ['portal path with a session', '/live', 'acme', HOSTS.acme],
    ] as const) {
      test(`${name}: the upgrade reaches the upstream without any inbound identity header`, async () => {
        const c = session === 'staff' ? cookie : session === 'acme' ? acmeCookie : null;
        const { status, wire } = await through(host, upgrade(path, c, host));
        assert.deepEqual(status, [101]);
        assert.equal(requestLines(wire).length, 1);
        assert.doesNotMatch(wire, /FORGED|evil\.test/);
        const names = identityNames(wire).map((n) => n.toLowerCase());
        if (session === null) assert.deepEqual(names, []);
        else {
          assert.equal(new Set(names).size, names.length, 'each identity header once');
          assert.ok(names.includes(HEADERS.identity) && names.includes(HEADERS.email));
        }
      });
    }

    test('without a session the upgrade is refused and nothing reaches the upstream', async () => {
      const { status, wire } = await through(HOSTS.staff, upgrade('/live', null));
      assert.deepEqual(status, [401]);
      assert.equal(wire, '');
    });
  });
});
