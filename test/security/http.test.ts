/**
 * HTTP framing attacks over raw sockets: request smuggling (Content-Length with
 * Transfer-Encoding, duplicated or malformed Content-Length, obs-fold, bare LF,
 * invalid chunk sizes, odd Transfer-Encoding spellings), oversized headers (431),
 * slow headers (closed after server.headersTimeoutMs), very long URLs (414 or 431),
 * and malformed requests of every kind: each gets the gateway's own page/JSON or a
 * clean 400 and a closed connection — never a hang, a 5xx, or a second request
 * reaching the upstream. What the upstream receives is read off the wire.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { baseRawConfig, HOSTS, startGateway, type TestGateway } from '../support/gateway.ts';
import { startUpstream, type Upstream } from '../support/upstream.ts';
import { startServed } from '../ops/harness.ts';
import { firstHeaders, rawExchange, sleep, wireTap, type WireTap } from './support.ts';

const H = HOSTS.staff;
const HEADERS_TIMEOUT_MS = 1_000;

let gw: TestGateway;
let upstream: Upstream;
let tap: WireTap;

before(async () => {
  upstream = await startUpstream('staff-app');
  tap = await wireTap(upstream.port);
  gw = await startGateway({
    configure: (raw) => {
      const r = raw as { server: Record<string, unknown>; sites: { staff: Record<string, unknown> } };
      r.server.headersTimeoutMs = HEADERS_TIMEOUT_MS;
      r.sites.staff.upstream = tap.url;
      return raw;
    },
  });
});
after(async () => {
  await gw.close();
  await tap.close();
  await upstream.close();
});

/** send raw bytes; what the client got back and what reached the upstream */
async function attack(data: string | Buffer | ReadonlyArray<string | Buffer>, waitMs = 600) {
  tap.clear();
  const before = upstream.received.length;
  const r = await rawExchange(gw.port, data, { waitMs });
  await sleep(30);
  const wire = tap.text();
  // what the upstream's own parser made of it, and the raw bytes it was sent
  return { ...r, wire, received: upstream.received.slice(before) };
}

/** the gateway is still healthy: a normal request works */
async function healthy(): Promise<void> {
  const r = await attack(`GET /assets/ok HTTP/1.1\r\nHost: ${H}\r\nConnection: close\r\n\r\n`);
  assert.deepEqual(r.statuses, [200], 'the gateway still answers normally');
}

const SMUGGLED = `GET /assets/SMUGGLED HTTP/1.1\r\nHost: ${H}\r\n\r\n`;

describe('request smuggling', () => {
  const cases: ReadonlyArray<readonly [string, string]> = [
    [
      'CL.TE: Content-Length and Transfer-Encoding: chunked',
      `POST /assets/a HTTP/1.1\r\nHost: ${H}\r\nContent-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n${SMUGGLED}`,
    ],
    [
      'TE.CL: Transfer-Encoding first, then Content-Length',
      `POST /assets/a HTTP/1.1\r\nHost: ${H}\r\nTransfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n5c\r\n${SMUGGLED}\r\n0\r\n\r\n`,
    ],
    ['two Content-Length headers that differ', `POST /assets/a HTTP/1.1\r\nHost: ${H}\r\nContent-Length: 4\r\nContent-Length: 80\r\n\r\nabcd${SMUGGLED}`],
    ['two Content-Length headers that agree', `POST /assets/a HTTP/1.1\r\nHost: ${H}\r\nContent-Length: 4\r\nContent-Length: 4\r\n\r\nabcd${SMUGGLED}`],
    ['a Content-Length list', `POST /assets/a HTTP/1.1\r\nHost: ${H}\r\nContent-Length: 4, 4\r\n\r\nabcd${SMUGGLED}`],
    ['Content-Length with a sign', `POST /assets/a HTTP/1.1\r\nHost: ${H}\r\nContent-Length: +4\r\n\r\nabcd${SMUGGLED}`],
    ['negative Content-Length', `POST /assets/a HTTP/1.1\r\nHost: ${H}\r\nContent-Length: -1\r\n\r\n${SMUGGLED}`],
    ['Content-Length in hex', `POST /assets/a HTTP/1.1\r\nHost: ${H}\r\nContent-Length: 0x4\r\n\r\nabcd${SMUGGLED}`],
    ['huge Content-Length', `POST /assets/a HTTP/1.1\r\nHost: ${H}\r\nContent-Length: 99999999999999999999999\r\n\r\n${SMUGGLED}`],
    ['space before the colon', `POST /assets/a HTTP/1.1\r\nHost: ${H}\r\nTransfer-Encoding : chunked\r\nContent-Length: 4\r\n\r\n0\r\n\r\n${SMUGGLED}`],
    ['Transfer-Encoding: xchunked', `POST /assets/a HTTP/1.1\r\nHost: ${H}\r\nTransfer-Encoding: xchunked\r\nContent-Length: 4\r\n\r\nabcd${SMUGGLED}`],
    ['Transfer-Encoding: chunked, identity', `POST /assets/a HTTP/1.1\r\nHost: ${H}\r\nTransfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n${SMUGGLED}`],
    [
      'Transfer-Encoding: identity, chunked with Content-Length',
      `POST /assets/a HTTP/1.1\r\nHost: ${H}\r\nTransfer-Encoding: identity, chunked\r\nContent-Length: 4\r\n\r\n0\r\n\r\n${SMUGGLED}`,
    ],
    [
      'two Transfer-Encoding headers',
      `POST /assets/a HTTP/1.1\r\nHost: ${H}\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: identity\r\n\r\n0\r\n\r\n${SMUGGLED}`,
    ],
    [
      'Transfer-Encoding folded onto the next line (obs-fold)',
      `POST /assets/a HTTP/1.1\r\nHost: ${H}\r\nTransfer-Encoding:\r\n chunked\r\nContent-Length: 4\r\n\r\n0\r\n\r\n${SMUGGLED}`,
    ],
    ['a header folded onto the next line (obs-fold)', `GET /assets/a HTTP/1.1\r\nHost: ${H}\r\nX-Note: a\r\n b\r\n\r\n${SMUGGLED}`],
    ['Transfer-Encoding with a tab', `POST /assets/a HTTP/1.1\r\nHost: ${H}\r\nTransfer-Encoding:\tchunked\r\nContent-Length: 4\r\n\r\n0\r\n\r\n${SMUGGLED}`],
    ['bare LF line endings', `POST /assets/a HTTP/1.1\nHost: ${H}\nTransfer-Encoding: chunked\nContent-Length: 4\n\n0\n\n${SMUGGLED}`],
    ['a bare LF inside the header block', `POST /assets/a HTTP/1.1\r\nHost: ${H}\nContent-Length: 4\r\n\r\nabcd${SMUGGLED}`],
    ['a bare CR', `GET /assets/a HTTP/1.1\r\nHost: ${H}\rX-A: b\r\n\r\n${SMUGGLED}`],
    ['chunk size not hex', `POST /assets/a HTTP/1.1\r\nHost: ${H}\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n${SMUGGLED}`],
    [
      'chunk size overflowing 64 bits',
      `POST /assets/a HTTP/1.1\r\nHost: ${H}\r\nTransfer-Encoding: chunked\r\n\r\n10000000000000001\r\nabc\r\n0\r\n\r\n${SMUGGLED}`,
    ],
    ['chunk size with a sign', `POST /assets/a HTTP/1.1\r\nHost: ${H}\r\nTransfer-Encoding: chunked\r\n\r\n+3\r\nabc\r\n0\r\n\r\n${SMUGGLED}`],
    ['chunk size with a space', `POST /assets/a HTTP/1.1\r\nHost: ${H}\r\nTransfer-Encoding: chunked\r\n\r\n3 \r\nabc\r\n0\r\n\r\n${SMUGGLED}`],
    ['chunk shorter than its size', `POST /assets/a HTTP/1.1\r\nHost: ${H}\r\nTransfer-Encoding: chunked\r\n\r\n10\r\nabc\r\n0\r\n\r\n${SMUGGLED}`],
    ['chunk data without CRLF', `POST /assets/a HTTP/1.1\r\nHost: ${H}\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcXX0\r\n\r\n${SMUGGLED}`],
    ['chunk extension with a bare LF', `POST /assets/a HTTP/1.1\r\nHost: ${H}\r\nTransfer-Encoding: chunked\r\n\r\n3;x\nabc\r\n0\r\n\r\n${SMUGGLED}`],
    ['a NUL in a header value', `GET /assets/a HTTP/1.1\r\nHost: ${H}\r\nX-A: a\u0000b\r\n\r\n${SMUGGLED}`],
    ['a control character in a header name', `GET /assets/a HTTP/1.1\r\nHost: ${H}\r\nX\u0001A: b\r\n\r\n${SMUGGLED}`],
    ['HTTP/1.2', `GET /assets/a HTTP/1.2\r\nHost: ${H}\r\n\r\n${SMUGGLED}`],
    ['an unknown method', `SMUGGLE /assets/a HTTP/1.1\r\nHost: ${H}\r\n\r\n${SMUGGLED}`],
  ];

  for (const [name, data] of cases) {
    test(`${name}: 400 and closed; the smuggled request never reaches the upstream`, async () => {
      const r = await attack(data);
      assert.ok(r.statuses.length >= 1, `no answer (${JSON.stringify(r.text.slice(0, 80))})`);
      assert.equal(r.statuses[0], 400, `first answer ${r.statuses[0]}: ${r.text.slice(0, 160)}`);
      assert.equal(r.closed, true, 'the connection is closed after a framing error');
      assert.equal(r.statuses.length, 1, `the connection answered ${r.statuses.length} requests`);
      assert.ok(r.received.length <= 1, `the upstream saw ${r.received.length} requests`);
      assert.doesNotMatch(r.wire, /SMUGGLED/, 'the smuggled request reached the upstream');
    });
  }

  test('pipelined well-formed requests are each proxied once, as themselves', async () => {
    const one = (p: string) => `GET /assets/${p} HTTP/1.1\r\nHost: ${H}\r\n\r\n`;
    const r = await attack(
      `${one('p1')}POST /assets/p2 HTTP/1.1\r\nHost: ${H}\r\nContent-Length: 5\r\n\r\nhello${one('p3')}GET /assets/p4 HTTP/1.1\r\nHost: ${H}\r\nConnection: close\r\n\r\n`,
    );
    assert.deepEqual(r.statuses, [200, 200, 200, 200]);
    assert.deepEqual(
      r.received.map((e) => `${e.method} ${e.url} ${e.bodyBytes}`),
      ['GET /assets/p1 0', 'POST /assets/p2 5', 'GET /assets/p3 0', 'GET /assets/p4 0'],
    );
  });

  test('a body that looks like a request is forwarded as a body, not as a request', async () => {
    const body = SMUGGLED;
    const r = await attack(`POST /assets/a HTTP/1.1\r\nHost: ${H}\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`);
    assert.deepEqual(r.statuses, [200]);
    assert.deepEqual(
      r.received.map((e) => `${e.method} ${e.url} ${e.bodyBytes}`),
      [`POST /assets/a ${body.length}`],
      'one request upstream, with the body',
    );
  });

  test('an HTTP/1.0 request with Transfer-Encoding is not kept alive', async () => {
    const r = await attack(`POST /assets/a HTTP/1.0\r\nHost: ${H}\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n${SMUGGLED}`);
    assert.ok(r.closed);
    assert.ok(r.statuses.length <= 1);
    assert.doesNotMatch(r.wire, /SMUGGLED/);
  });

  test('the gateway is healthy after all of that', healthy);
});

describe('oversized and slow requests', () => {
  test('headers larger than server.maxHeaderBytes: 431 and closed', async () => {
    for (const big of [
      `X-Big: ${'a'.repeat(20_000)}\r\n`,
      Array.from({ length: 600 }, (_, i) => `X-H${i}: ${'v'.repeat(30)}\r\n`).join(''),
      `Cookie: ${'c'.repeat(20_000)}\r\n`,
    ]) {
      const r = await attack(`GET /assets/a HTTP/1.1\r\nHost: ${H}\r\n${big}\r\n`);
      assert.deepEqual(r.statuses, [431]);
      assert.ok(r.closed);
      assert.equal(r.received.length, 0);
    }
  });

  test('very long URLs: 414 or 431, never a crash; the longest accepted one is proxied intact', async () => {
    for (const length of [17_000, 20_000, 100_000, 1_000_000]) {
      for (const target of [`/assets/${'a'.repeat(length)}`, `/private?${'q'.repeat(length)}`, `/.auth/login?rd=${'%2e'.repeat(length / 3)}`]) {
        const r = await attack(`GET ${target} HTTP/1.1\r\nHost: ${H}\r\n\r\n`, 1_500);
        assert.ok(r.statuses[0] === 414 || r.statuses[0] === 431, `${length}: ${r.statuses[0]}`);
        assert.ok(r.closed);
        assert.equal(r.received.length, 0);
      }
    }
    const near = `/assets/${'b'.repeat(12_000)}`;
    const ok = await attack(`GET ${near} HTTP/1.1\r\nHost: ${H}\r\nConnection: close\r\n\r\n`);
    assert.deepEqual(ok.statuses, [200]);
    assert.equal(ok.received[0]?.url, near);
    assert.ok(ok.wire.startsWith(`GET ${near} HTTP/1.1\r\n`), 'proxied intact');
    // a long protected URL: the sign-in redirect carries it (or refuses cleanly), never breaks
    const login = await attack(`GET /private/${'c'.repeat(12_000)} HTTP/1.1\r\nHost: ${H}\r\nAccept: text/html\r\nConnection: close\r\n\r\n`);
    assert.ok([302, 400, 414].includes(login.statuses[0] as number), String(login.statuses[0]));
    await healthy();
  });

  test(`slow headers (slowloris) are cut after server.headersTimeoutMs (${HEADERS_TIMEOUT_MS} ms)`, async () => {
    const started = performance.now();
    const pieces = [`GET /assets/a HTTP/1.1\r\nHost: ${H}\r\n`, ...Array.from({ length: 40 }, (_, i) => `X-Drip-${i}: a\r\n`)];
    const r = await rawExchange(gw.port, pieces, { pauseMs: 200, waitMs: 100 });
    const took = performance.now() - started;
    assert.ok(r.closed, 'the connection was closed');
    assert.ok(took < HEADERS_TIMEOUT_MS + 2_500, `closed after ${Math.round(took)} ms, not within the bound`);
    assert.ok(took >= HEADERS_TIMEOUT_MS - 100, `closed after ${Math.round(took)} ms, before the timeout`);
    assert.ok(
      r.statuses.every((s) => s === 408),
      `answered ${r.statuses}`,
    );
    assert.equal(tap.text().includes('X-Drip'), false, 'nothing proxied');
  });

  test('a client that opens a connection and sends nothing is cut too', async () => {
    const started = performance.now();
    const r = await rawExchange(gw.port, '', { waitMs: HEADERS_TIMEOUT_MS + 2_500 });
    assert.ok(r.closed, 'an idle, silent connection was closed');
    assert.ok(performance.now() - started < HEADERS_TIMEOUT_MS + 2_500);
  });
});

describe("malformed requests get the gateway's answer or a clean 400", () => {
  /** the gateway's catalogue answer: an x-request-id, and a JSON body with a stable error code or a page with the reference */
  const isGatewayAnswer = (text: string) => /\r\nx-request-id: /i.test(text) && (/"error":"[a-z_]+"/.test(text) || /Reference: [0-9a-f-]{36}/.test(text));

  const targets = [
    '/%',
    '/%zz',
    '/a%2',
    '/%C0%AE',
    '/%ff',
    '/a%00b',
    '/a%2fb',
    '/a%5cb',
    '/.auth%2fme',
    '/assets/..;/x',
    '/..;/',
    '*',
    'http://evil.test/',
    'evil.test',
    '?x',
    '',
    '/a\u00e9',
    '/a\u0007',
    '/assets/\u00ff',
    '/.auth/assets/%E0%A4%A',
    `/.auth/assets/${'n'.repeat(500)}`,
    `/.auth/admin/portal/${'x'.repeat(300)}/authentication`,
    '/.auth/login?rd=%',
    '/.auth/login?rd=%E0%A4%A&rd=x',
    '/.auth/callback?code=%ff&state=%',
    '/.auth/handoff?ticket=%%%',
    '/.auth/consent/callback?state=%00',
    '/.auth/sso?rd[]=x&__proto__[x]=1',
    '/.auth/me?constructor=1',
  ];
  for (const target of targets) {
    test(`GET ${JSON.stringify(target)}`, async () => {
      const r = await attack(Buffer.from(`GET ${target} HTTP/1.1\r\nHost: ${H}\r\nAccept: application/json\r\nConnection: close\r\n\r\n`, 'latin1'));
      const status = r.statuses[0] ?? 0;
      assert.ok(status > 0, 'answered');
      assert.ok(status < 500, `a server error: ${r.text.slice(0, 200)}`);
      if (status === 400 && !isGatewayAnswer(r.text)) assert.ok(r.closed, "a 400 that is not the gateway's own closes the connection");
      else assert.ok(isGatewayAnswer(r.text) || status === 200 || status === 302 || status === 303, `not the gateway's answer: ${r.text.slice(0, 300)}`);
      assert.equal(r.received.length, 0, 'nothing proxied');
    });
  }

  test("bodies the gateway's forms cannot parse are the gateway's 400/413/415 answers", async () => {
    const bodies: ReadonlyArray<readonly [string, string]> = [
      ['application/json', '{"email":'],
      ['application/json', '{"__proto__":{"csrf":"x"}}'],
      ['application/x-www-form-urlencoded', '%%%=%%%&csrf'],
      ['application/x-www-form-urlencoded', 'a'.repeat(70_000)],
      ['text/xml', '<x/>'],
      ['multipart/form-data; boundary=x', '--x\r\n\r\n'],
      ['', 'csrf=x'],
    ];
    for (const [type, body] of bodies) {
      const r = await attack(
        `POST /.auth/login HTTP/1.1\r\nHost: ${H}\r\nAccept: application/json\r\n${type ? `Content-Type: ${type}\r\n` : ''}Content-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`,
      );
      const status = r.statuses[0] ?? 0;
      assert.ok(status >= 400 && status < 500, `${type}: ${status} ${r.text.slice(0, 200)}`);
      assert.ok(isGatewayAnswer(r.text), `${type}: not the gateway's answer: ${r.text.slice(0, 300)}`);
    }
    await healthy();
  });

  test("an Expect other than 100-continue is the gateway's to answer, and never desynchronises the connection", async () => {
    for (const [target, status] of [
      ['/assets/a', 200],
      ['/.auth/me', 401],
      ['/private', 401],
    ] as const) {
      const r = await attack(`GET ${target} HTTP/1.1\r\nHost: ${H}\r\nExpect: something-else\r\nAccept: application/json\r\nConnection: close\r\n\r\n`);
      assert.deepEqual(r.statuses, [status], `${target}: ${r.text.slice(0, 200)}`);
      if (status !== 200) assert.ok(isGatewayAnswer(r.text), `${target}: not the gateway's answer: ${r.text.slice(0, 300)}`);
    }
    const r = await attack(`POST /assets/a HTTP/1.1\r\nHost: ${H}\r\nExpect: something-else\r\nContent-Length: ${SMUGGLED.length}\r\n\r\n${SMUGGLED}`);
    assert.ok(r.statuses.length <= 1, `answered ${r.statuses}`);
    assert.ok(
      r.received.every((e) => !e.url.includes('SMUGGLED')),
      'the body was read as a request',
    );
  });

  test('a request without Host (HTTP/1.1) is a clean 400', async () => {
    const r = await attack(`GET /assets/a HTTP/1.1\r\n\r\n`);
    assert.equal(r.statuses[0], 400);
    assert.ok(r.closed);
    assert.equal(r.received.length, 0);
    assert.equal(firstHeaders(r.text)['x-upstream'], undefined);
  });
});

describe('the production listener (serve(), which survives reloads) enforces the same', () => {
  test("slow headers are cut, two Host headers and other expectations are the gateway's answers", async () => {
    const raw = baseRawConfig(tap.url, tap.url) as { server: Record<string, unknown> };
    raw.server.headersTimeoutMs = HEADERS_TIMEOUT_MS;
    const served = await startServed(raw);
    try {
      const port = Number(new URL(served.running.url).port);
      const started = performance.now();
      const slow = await rawExchange(port, [`GET /assets/a HTTP/1.1\r\nHost: ${H}\r\n`, ...Array.from({ length: 40 }, (_, i) => `X-Drip-${i}: a\r\n`)], {
        pauseMs: 200,
        waitMs: 100,
      });
      assert.ok(slow.closed && performance.now() - started < HEADERS_TIMEOUT_MS + 2_500, `closed after ${Math.round(performance.now() - started)} ms`);
      const twoHosts = await rawExchange(port, `GET /assets/a HTTP/1.1\r\nHost: ${H}\r\nHost: evil.test\r\n\r\n`, { waitMs: 500 });
      assert.equal(twoHosts.statuses[0], 400);
      assert.ok(twoHosts.closed);
      const expect = await rawExchange(
        port,
        `GET /.auth/me HTTP/1.1\r\nHost: ${H}\r\nExpect: something-else\r\nAccept: application/json\r\nConnection: close\r\n\r\n`,
        { waitMs: 500 },
      );
      assert.deepEqual(expect.statuses, [401], expect.text.slice(0, 200));
    } finally {
      await served.close();
    }
  });
});
