/**
 * What an upstream receives: inbound identity headers stripped in every spelling,
 * forwarding headers rebuilt, the gateway's cookies removed, hop-by-hop headers
 * dropped, the gateway's own headers injected (non-ASCII text %-encoded); and what
 * a client receives: no Set-Cookie that would overwrite the gateway's cookies.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { HOSTS, requestTarget, startGateway, type TestGateway, type RawConfig } from '../support/gateway.ts';
import type { Echo } from '../support/upstream.ts';
import { headerText, isIdentityHeaderName } from '../../src/identity/headers.ts';
import { withoutCookies } from '../../src/util/cookies.ts';

type Raw = RawConfig;

const FORGED = [
  'X-Regentra-Email',
  'forged-1@evil.test',
  'x-regentra-email',
  'forged-2@evil.test',
  'X_REGENTRA_EMAIL',
  'forged-3@evil.test',
  'x_regentra_identity',
  'forged.jwt.token',
  'X-Regentra_User-Id',
  'forged-id',
  'X-REGENTRA-IDENTITY',
  'forged.jwt.token2',
  'X-Regentra-Identity',
  'forged.jwt.token3',
  'x-regentra-role',
  'admin',
  'X-Regentra-Realm',
  'staff',
  'x-regentra-client',
  'globex',
  'x-regentra-auth-method',
  'pwd otp',
  'X-Regentra-Anything-New',
  'x',
  'x-regentraish',
  'x',
];

/** every header name the upstream saw, as sent (case kept) */
function rawNames(echo: Echo): string[] {
  return echo.rawHeaders.filter((_, i) => i % 2 === 0);
}

function values(echo: Echo, name: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < echo.rawHeaders.length; i += 2) if (echo.rawHeaders[i]?.toLowerCase() === name) out.push(echo.rawHeaders[i + 1] as string);
  return out;
}

describe('inbound identity headers are stripped', () => {
  let gw: TestGateway;
  before(async () => {
    gw = await startGateway();
  });
  after(() => gw.close());

  test('on a public path, none reaches the upstream', async () => {
    const res = await requestTarget(gw.port, HOSTS.staff, '/assets/x', { headers: FORGED });
    assert.equal(res.status, 200);
    const echo = JSON.parse(res.body) as Echo;
    const leaked = rawNames(echo).filter((n) => /^x[-_]regentra/i.test(n));
    assert.deepEqual(leaked, []);
  });

  test("on an authenticated path, only the gateway's own are there, once each", async () => {
    const cookie = await gw.sessionCookie(HOSTS.staff, { email: 'real@example.com' });
    const res = await requestTarget(gw.port, HOSTS.staff, '/private', { headers: [...FORGED, 'cookie', cookie] });
    assert.equal(res.status, 200);
    const echo = JSON.parse(res.body) as Echo;
    const names = rawNames(echo).filter((n) => /^x[-_]regentra/i.test(n));
    assert.deepEqual(names.sort(), [
      'x-regentra-auth-method',
      'x-regentra-email',
      'x-regentra-identity',
      'x-regentra-name',
      'x-regentra-realm',
      'x-regentra-role',
      'x-regentra-user-id',
    ]);
    assert.deepEqual(values(echo, 'x-regentra-email'), ['real@example.com']);
    assert.deepEqual(values(echo, 'x-regentra-realm'), ['staff']);
    assert.deepEqual(values(echo, 'x-regentra-auth-method'), ['pwd otp']);
    assert.ok(!values(echo, 'x-regentra-identity')[0]?.startsWith('forged'));
    assert.doesNotMatch(res.body, /forged|evil\.test/);
  });

  test('a portal request gets the client header of its own client only', async () => {
    const cookie = await gw.sessionCookie(HOSTS.acme);
    const res = await requestTarget(gw.port, HOSTS.acme, '/tickets', { headers: [...FORGED, 'cookie', cookie] });
    const echo = JSON.parse(res.body) as Echo;
    assert.deepEqual(values(echo, 'x-regentra-client'), ['acme']);
    assert.deepEqual(values(echo, 'x-regentra-role'), []);
  });

  test('without a session nothing is proxied, forged headers or not', async () => {
    const before = gw.staffUpstream.received.length;
    const res = await requestTarget(gw.port, HOSTS.staff, '/private', { headers: FORGED });
    assert.equal(res.status, 401);
    assert.equal(gw.staffUpstream.received.length, before);
  });

  test('isIdentityHeaderName covers every spelling', () => {
    for (let i = 0; i < FORGED.length; i += 2) assert.ok(isIdentityHeaderName((FORGED[i] as string).toLowerCase()), FORGED[i]);
    for (const name of ['x-request-id', 'x-forwarded-for', 'regentra-email', 'x-regentr', 'accept']) assert.ok(!isIdentityHeaderName(name), name);
  });
});

describe('forwarding headers', () => {
  let gw: TestGateway;
  let trusted: TestGateway;
  before(async () => {
    gw = await startGateway();
    trusted = await startGateway({ configure: (r: Raw) => ({ ...r, server: { ...r.server, trustedProxies: ['127.0.0.1'] } }) });
  });
  after(async () => {
    await gw.close();
    await trusted.close();
  });

  const spoofed = [
    'X-Forwarded-For',
    '203.0.113.9',
    'X-Forwarded-Host',
    'evil.test',
    'X-Forwarded-Proto',
    'https',
    'X-Forwarded-Port',
    '1',
    'Forwarded',
    'for=203.0.113.9',
    'X-Real-IP',
    '203.0.113.9',
  ];

  test('from an untrusted client, X-Forwarded-* are replaced and Forwarded/X-Real-IP dropped', async () => {
    const res = await requestTarget(gw.port, HOSTS.staff, '/assets/x', { headers: spoofed });
    const echo = JSON.parse(res.body) as Echo;
    assert.deepEqual(values(echo, 'x-forwarded-for'), ['127.0.0.1']);
    assert.deepEqual(values(echo, 'x-forwarded-host'), [HOSTS.staff]);
    assert.deepEqual(values(echo, 'x-forwarded-proto'), ['http']);
    assert.deepEqual(values(echo, 'x-forwarded-port'), []);
    assert.deepEqual(values(echo, 'forwarded'), []);
    assert.deepEqual(values(echo, 'x-real-ip'), []);
  });

  test('from a configured trusted proxy, X-Forwarded-For is appended to', async () => {
    const res = await requestTarget(trusted.port, HOSTS.staff, '/assets/x', {
      headers: ['X-Forwarded-For', '203.0.113.9, 198.51.100.7', 'X-Forwarded-Proto', 'https'],
    });
    const echo = JSON.parse(res.body) as Echo;
    assert.deepEqual(values(echo, 'x-forwarded-for'), ['203.0.113.9, 198.51.100.7, 127.0.0.1']);
    assert.deepEqual(values(echo, 'x-forwarded-proto'), ['https']);
  });

  test('the Host header reaches the upstream unchanged', async () => {
    const res = await requestTarget(gw.port, `${HOSTS.acme}:8443`, '/assets/x');
    const echo = JSON.parse(res.body) as Echo;
    assert.deepEqual(values(echo, 'host'), [`${HOSTS.acme}:8443`]);
  });
});

describe('cookies', () => {
  let gw: TestGateway;
  before(async () => {
    gw = await startGateway();
  });
  after(() => gw.close());

  test("the gateway's cookies are removed from Cookie, other cookies stay in order", async () => {
    const session = await gw.sessionCookie(HOSTS.staff);
    const cookie = `theme=dark; ${session}; regentra_session_flow=abc; lang=en-GB; regentra_session_other=1`;
    const res = await gw.request(HOSTS.staff, '/private', { cookie });
    const echo = (await res.body.json()) as Echo;
    assert.equal(echo.headers.cookie, 'theme=dark; lang=en-GB; regentra_session_other=1');
  });

  test("a Cookie with only the gateway's cookies is not sent at all", async () => {
    const session = await gw.sessionCookie(HOSTS.staff);
    const res = await gw.request(HOSTS.staff, '/private', { cookie: session });
    const echo = (await res.body.json()) as Echo;
    assert.equal(echo.headers.cookie, undefined);
  });

  test("the gateway's cookies are removed on public paths too", async () => {
    const res = await gw.request(HOSTS.staff, '/assets/x', { cookie: 'a=1; regentra_session=stolen?; b=2' });
    const echo = (await res.body.json()) as Echo;
    assert.equal(echo.headers.cookie, 'a=1; b=2');
  });

  test('withoutCookies keeps what it cannot parse and drops exact names only', () => {
    assert.equal(withoutCookies('a=1;regentra_session=x;b', ['regentra_session']), 'a=1; b');
    assert.equal(withoutCookies('xregentra_session=1', ['regentra_session']), 'xregentra_session=1');
    assert.equal(withoutCookies(' regentra_session = 1 ', ['regentra_session']), undefined);
  });

  test("an upstream Set-Cookie with the gateway's cookie name is dropped, others are kept", async () => {
    const session = await gw.sessionCookie(HOSTS.staff);
    const res = await gw.request(HOSTS.staff, '/set-cookie', { cookie: session });
    await res.body.dump();
    const set = res.headers['set-cookie'];
    const list = set === undefined ? [] : Array.isArray(set) ? set : [set];
    // the sample upstream sets app=1, regentra_session=evil and __Host-regentra_session=evil
    assert.deepEqual(
      list.map((c) => c.split('=')[0]),
      ['app'],
    );
  });
});

describe('hop-by-hop headers', () => {
  let gw: TestGateway;
  before(async () => {
    gw = await startGateway();
  });
  after(() => gw.close());

  test('Keep-Alive, TE, Upgrade, Proxy-Connection and Connection-listed headers are not forwarded (and break nothing)', async () => {
    const cookie = await gw.sessionCookie(HOSTS.staff);
    const res = await requestTarget(gw.port, HOSTS.staff, '/private', {
      headers: [
        'cookie',
        cookie,
        'Connection',
        'keep-alive, X-Hop',
        'X-Hop',
        'secret',
        'Keep-Alive',
        'timeout=5',
        'TE',
        'trailers',
        'Upgrade',
        'h2c',
        'Proxy-Connection',
        'keep-alive',
        'X-Kept',
        'yes',
      ],
    });
    assert.equal(res.status, 200, res.body);
    const echo = JSON.parse(res.body) as Echo;
    for (const name of ['x-hop', 'keep-alive', 'te', 'upgrade', 'proxy-connection']) assert.deepEqual(values(echo, name), [], name);
    assert.deepEqual(values(echo, 'x-kept'), ['yes']);
  });

  test('Expect: 100-continue uploads are proxied', async () => {
    const cookie = await gw.sessionCookie(HOSTS.staff);
    const res = await requestTarget(gw.port, HOSTS.staff, '/upload', {
      method: 'POST',
      headers: ['cookie', cookie, 'Expect', '100-continue', 'Content-Type', 'text/plain'],
      body: 'hello',
    });
    assert.equal(res.status, 200, res.body);
    const echo = JSON.parse(res.body) as Echo;
    assert.equal(echo.bodyBytes, 5);
    assert.deepEqual(values(echo, 'expect'), []);
  });

  test("the upstream's own Keep-Alive and Connection-listed response headers are not relayed", async () => {
    // the sample upstream (node:http, keep-alive) answers with `Keep-Alive: timeout=5`; the
    // client must see the gateway's own connection terms (server.keepAliveTimeoutMs: 72 s)
    const res = await gw.request(HOSTS.staff, '/assets/hop-response');
    await res.body.dump();
    assert.equal(res.statusCode, 200);
    assert.equal(res.headers['x-upstream'], 'staff-app');
    assert.equal(res.headers['keep-alive'], 'timeout=72');
  });
});

describe('injected text headers', () => {
  let gw: TestGateway;
  before(async () => {
    gw = await startGateway();
  });
  after(() => gw.close());

  for (const name of ['José Ñúñez', '山田 太郎', "Zoë 100% O'Brien", 'Ada\r\nX-Evil: 1', 'emoji 🧪 and a lone \ud800 surrogate']) {
    test(`${JSON.stringify(name)} reaches the upstream %-encoded and decodes back`, async () => {
      const cookie = await gw.sessionCookie(HOSTS.staff, { name });
      const res = await gw.request(HOSTS.staff, '/private', { cookie });
      const echo = (await res.body.json()) as Echo;
      const sent = echo.headers['x-regentra-name'] as string;
      assert.match(sent, /^[\x20-\x7e]*$/, 'only printable ASCII goes on the wire');
      assert.equal(sent, headerText(name));
      assert.equal(decodeURIComponent(sent), name.toWellFormed());
      assert.equal(echo.headers['x-evil'], undefined);
    });
  }

  test('the documented example', () => {
    assert.equal(headerText('José Ñúñez'), 'Jos%C3%A9 %C3%91%C3%BA%C3%B1ez');
    assert.equal(headerText('ada@example.com'), 'ada@example.com');
    assert.equal(headerText('100%'), '100%25');
  });
});
