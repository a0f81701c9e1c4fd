/**
 * The proxy engine (undici dispatcher, response written straight to the client):
 * responses that go through Fastify when the session cookie must be re-sealed,
 * bodiless responses, an upstream answer node:http refuses to relay, a client that
 * goes away mid-download, WebSocket handshakes agreed end to end (subprotocol,
 * compression, refusals, close codes), the opened-session cache, and the access log.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { connect, createServer as createNetServer, type AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { request as undiciRequest } from 'undici';
import WebSocket, { WebSocketServer } from 'ws';
import { baseRawConfig, HOSTS, startGateway, type TestGateway, type RawConfig } from '../support/gateway.ts';
import { startUpstream } from '../support/upstream.ts';
import { eventually, startServed } from '../ops/harness.ts';

type Raw = RawConfig;

interface Special {
  readonly url: string;
  /** upstream responses to /drip closed before they finished (the client went away) */
  dripsCut: number;
  close(): Promise<void>;
}

/** an upstream with the awkward cases: bodiless statuses, endless responses, WebSocket choices */
async function startSpecial(): Promise<Special> {
  const state = { dripsCut: 0 };
  const server: Server = createServer((req: IncomingMessage, res) => {
    req.resume();
    const u = new URL(req.url ?? '/', 'http://x');
    if (u.pathname.startsWith('/status/')) {
      res.writeHead(Number(u.pathname.slice(8)), { 'x-upstream': 'special', etag: '"v1"' });
      return void res.end();
    }
    if (u.pathname === '/drip') {
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      const timer = setInterval(() => res.write(Buffer.alloc(16_384, 65)), 5);
      res.once('close', () => {
        clearInterval(timer);
        if (!res.writableFinished) state.dripsCut++;
      });
      return;
    }
    if (u.pathname === '/set-cookie') {
      res.setHeader('set-cookie', ['app=1; Path=/', 'regentra_session=evil; Path=/']);
    }
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ method: req.method, url: req.url, headers: req.headers }));
  });
  const wss = new WebSocketServer({
    noServer: true,
    perMessageDeflate: true,
    handleProtocols: (protocols) => (protocols.has('chat.v2') ? 'chat.v2' : false),
  });
  server.on('upgrade', (req, socket, head) => {
    if (req.url === '/slow') {
      socket.on('error', () => {});
      setTimeout(() => socket.destroy(), 500);
      return;
    }
    if (req.url === '/refuse') {
      socket.end('HTTP/1.1 403 Forbidden\r\nContent-Type: text/plain\r\nContent-Length: 4\r\nConnection: close\r\n\r\nnope');
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      ws.on('message', (data, binary) => {
        if (String(data) === 'close me') ws.close(4001, 'asked to');
        else ws.send(data, { binary });
      });
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    get dripsCut() {
      return state.dripsCut;
    },
    set dripsCut(v: number) {
      state.dripsCut = v;
    },
    close: () =>
      new Promise<void>((r) => {
        for (const c of wss.clients) c.terminate();
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

/** an "upstream" that answers with a header value node:http will not write */
async function startMalformed(): Promise<{ url: string; close(): Promise<void> }> {
  const server = createNetServer((socket) => {
    socket.once('data', () => socket.end('HTTP/1.1 200 OK\r\nX-Bad: a\x7fb\r\nContent-Length: 2\r\n\r\nok'));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, close: () => new Promise<void>((r) => server.close(() => r())) };
}

function manualClock(start = Date.now()) {
  let t = start;
  return { now: () => t, advance: (ms: number) => void (t += ms) };
}

const setCookies = (v: string | string[] | undefined) => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

describe('proxy engine', () => {
  let special: Special;
  let malformed: { url: string; close(): Promise<void> };
  let gw: TestGateway;
  const clock = manualClock();
  before(async () => {
    special = await startSpecial();
    malformed = await startMalformed();
    gw = await startGateway({
      now: clock.now,
      configure: (r: Raw) => {
        r.sites.staff.upstream = special.url;
        r.sites.portal.clients[1].upstream = malformed.url; // globex
        return r;
      },
    });
  });
  after(async () => {
    await gw.close();
    await special.close();
    await malformed.close();
  });

  test('a session refreshed on a proxied request: the new cookie is set, the upstream answer is intact, its own cookies filtered', async () => {
    const cookie = await gw.sessionCookie(HOSTS.staff);
    clock.advance(61_000); // past the refresh interval: the gate re-seals the session
    const res = await gw.request(HOSTS.staff, '/set-cookie?x=1', { cookie });
    const body = (await res.body.json()) as { url: string };
    assert.equal(res.statusCode, 200);
    assert.equal(body.url, '/set-cookie?x=1');
    const set = setCookies(res.headers['set-cookie']);
    assert.ok(
      set.some((c) => c.startsWith('app=1')),
      'the upstream cookie is kept',
    );
    const mine = set.filter((c) => c.startsWith(`${gw.cookieName}=`));
    assert.equal(mine.length, 1, set.join(' | '));
    assert.ok(!(mine[0] as string).startsWith(`${gw.cookieName}=evil`), 'the upstream cannot set the gateway cookie');
    // the refreshed cookie works
    const again = await gw.request(HOSTS.staff, '/echo', { cookie: (mine[0] as string).split(';', 1)[0] });
    assert.equal(again.statusCode, 200);
    await again.body.dump();
  });

  test('HEAD, 204 and 304 are relayed without a body', async () => {
    const cookie = await gw.sessionCookie(HOSTS.staff);
    for (const [method, path, status] of [
      ['HEAD', '/echo', 200],
      ['GET', '/status/204', 204],
      ['GET', '/status/304', 304],
    ] as const) {
      const res = await gw.request(HOSTS.staff, path, { method, cookie });
      assert.equal(res.statusCode, status, `${method} ${path}`);
      assert.equal((await res.body.arrayBuffer()).byteLength, 0);
      if (status !== 200) assert.equal(res.headers.etag, '"v1"');
    }
  });

  test('an upstream answer node:http cannot relay → 502, and the next request is fine', async () => {
    const cookie = await gw.sessionCookie(HOSTS.globex);
    const res = await gw.request(HOSTS.globex, '/x', { cookie });
    assert.equal(res.statusCode, 502);
    assert.equal(((await res.body.json()) as { error: string }).error, 'upstream_down');
    const staff = await gw.request(HOSTS.staff, '/echo', { cookie: await gw.sessionCookie(HOSTS.staff) });
    assert.equal(staff.statusCode, 200);
    await staff.body.dump();
  });

  test('a client that goes away mid-download stops the upstream response', async () => {
    const cookie = await gw.sessionCookie(HOSTS.staff);
    const before = special.dripsCut;
    const res = await gw.request(HOSTS.staff, '/drip', { cookie });
    assert.equal(res.statusCode, 200);
    for await (const chunk of res.body) {
      // read a little, then leave
      void chunk;
      break;
    }
    const deadline = Date.now() + 5_000;
    while (special.dripsCut === before && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    assert.equal(special.dripsCut, before + 1);
  });

  test('the opened-session cache: a cookie changed by one character is refused after the genuine one was accepted', async () => {
    const cookie = await gw.sessionCookie(HOSTS.staff);
    const ok = await gw.request(HOSTS.staff, '/echo', { cookie });
    assert.equal(ok.statusCode, 200);
    await ok.body.dump();
    const i = cookie.indexOf('=') + 10;
    const tampered = cookie.slice(0, i) + (cookie[i] === 'A' ? 'B' : 'A') + cookie.slice(i + 1);
    const bad = await gw.request(HOSTS.staff, '/echo', { cookie: tampered });
    assert.equal(bad.statusCode, 401);
    await bad.body.dump();
    const again = await gw.request(HOSTS.staff, '/echo', { cookie });
    assert.equal(again.statusCode, 200);
    await again.body.dump();
  });

  describe('WebSocket', () => {
    const open = (path: string, opts: { cookie?: string; protocols?: string[]; deflate?: boolean } = {}) =>
      new Promise<{ ws: WebSocket } | { status: number }>((resolve, reject) => {
        const ws = new WebSocket(`ws://127.0.0.1:${gw.port}${path}`, opts.protocols ?? [], {
          headers: { host: HOSTS.staff, ...(opts.cookie ? { cookie: opts.cookie } : {}) },
          perMessageDeflate: opts.deflate ?? false,
        });
        ws.once('open', () => resolve({ ws }));
        ws.once('unexpected-response', (_req, res) => {
          res.resume();
          resolve({ status: res.statusCode ?? 0 });
        });
        ws.once('error', reject);
      });

    test('subprotocol and compression are agreed between client and upstream; messages and close codes pass through', async () => {
      const cookie = await gw.sessionCookie(HOSTS.staff);
      const opened = await open('/live', { cookie, protocols: ['chat.v1', 'chat.v2'], deflate: true });
      assert.ok('ws' in opened);
      const { ws } = opened;
      assert.equal(ws.protocol, 'chat.v2');
      assert.match(ws.extensions, /permessage-deflate/);
      const big = 'y'.repeat(200_000);
      const echoed = new Promise<string>((r) => ws.once('message', (d) => r(String(d))));
      ws.send(big);
      assert.equal(await echoed, big);
      const closed = new Promise<{ code: number; reason: string }>((r) => ws.once('close', (code, reason) => r({ code, reason: String(reason) })));
      ws.send('close me');
      assert.deepEqual(await closed, { code: 4001, reason: 'asked to' });
    });

    test('an upstream that refuses the upgrade: its answer reaches the client', async () => {
      const opened = await open('/refuse', { cookie: await gw.sessionCookie(HOSTS.staff) });
      assert.deepEqual(opened, { status: 403 });
    });

    test('a client that resets its connection during the handshake leaves the gateway serving', async () => {
      const cookie = await gw.sessionCookie(HOSTS.staff);
      const socket = connect(gw.port, '127.0.0.1');
      await new Promise<void>((r) => socket.once('connect', () => r()));
      socket.write(
        `GET /slow HTTP/1.1\r\nHost: ${HOSTS.staff}\r\nCookie: ${cookie}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n`,
      );
      await new Promise((r) => setTimeout(r, 150)); // the gateway now waits for the upstream's answer
      socket.resetAndDestroy();
      await new Promise((r) => setTimeout(r, 100));
      const res = await gw.request(HOSTS.staff, '/echo', { cookie });
      assert.equal(res.statusCode, 200);
      await res.body.dump();
    });

    test('an upstream that is down: 502', async () => {
      const ws = new WebSocket(`ws://127.0.0.1:${gw.port}/live`, { headers: { host: HOSTS.globex, cookie: await gw.sessionCookie(HOSTS.globex) } });
      const status = await new Promise<number>((resolve) => {
        ws.once('unexpected-response', (_req, res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        });
        ws.once('error', () => resolve(-1));
      });
      assert.equal(status, 502);
    });
  });
});

describe('access log and plain requests', () => {
  test('at info, a proxied request writes one access-log line, "request completed", with the request and its status', async () => {
    const staff = await startUpstream('staff-app');
    const portal = await startUpstream('portal-app');
    const served = await startServed(baseRawConfig(staff.url, portal.url));
    try {
      const res = await served.request(HOSTS.staff, '/assets/app.css');
      assert.equal(res.statusCode, 200);
      await res.body.dump();
      await new Promise((r) => setTimeout(r, 50));
      const done = served.logs.filter((l) => l.msg === 'request completed');
      const line = done.find((l) => (l.req as { url?: string } | undefined)?.url === '/assets/app.css');
      assert.ok(line, JSON.stringify(done));
      assert.equal((line.res as { statusCode?: number }).statusCode, 200);
      assert.equal(typeof line.reqId, 'string');
      assert.equal(typeof line.responseTime, 'number');
      assert.deepEqual(line.req, { method: 'GET', url: '/assets/app.css', host: HOSTS.staff, ip: '127.0.0.1' });
      // one line per request: no separate "incoming request"
      assert.ok(!served.logs.some((l) => l.msg === 'incoming request'));
    } finally {
      await served.close();
      await staff.close();
      await portal.close();
    }
  });

  test('the access-log line escapes what the client sent and redacts credentials in the URL', async () => {
    const staff = await startUpstream('staff-app');
    const portal = await startUpstream('portal-app');
    const served = await startServed(baseRawConfig(staff.url, portal.url));
    try {
      // a Host header no site has, with JSON's special characters: Fastify's path answers it
      const host = 'evil"host\\name\u00e9';
      const res = await served.request(host, '/assets/app.css?code=SECRET-CODE-2&q=%22');
      assert.ok(res.statusCode >= 400, String(res.statusCode));
      await res.body.dump();
      const ours = () => served.logs.filter((l) => l.msg === 'request completed' && (l.req as { host?: string }).host === host);
      await eventually(() => ours().length > 0, 5_000, 'the access-log line');
      const lines = ours();
      assert.equal(lines.length, 1, JSON.stringify(served.logs.slice(-3)));
      assert.deepEqual(lines[0]?.req, { method: 'GET', url: '/assets/app.css?code=[redacted]&q=%22', host, ip: '127.0.0.1' });
      assert.deepEqual(lines[0]?.res, { statusCode: res.statusCode });
      assert.ok(!JSON.stringify(served.logs).includes('SECRET-CODE-2'));
    } finally {
      await served.close();
      await staff.close();
      await portal.close();
    }
  });

  test("an upstream for a plain request sees one Host header and the client's body", async () => {
    const gw2 = await startGateway();
    try {
      const res = await undiciRequest(`${gw2.url}/assets/upload`, {
        method: 'POST',
        headers: { host: HOSTS.staff, 'content-type': 'text/plain' },
        body: 'hello',
      });
      const echo = (await res.body.json()) as { bodyBytes: number; rawHeaders: string[] };
      assert.equal(echo.bodyBytes, 5);
      assert.equal(echo.rawHeaders.filter((_, i) => i % 2 === 0 && echo.rawHeaders[i]?.toLowerCase() === 'host').length, 1);
    } finally {
      await gw2.close();
    }
  });
});
