/**
 * The fast lane (src/proxy/lane.ts): a signed-in or public request whose every check
 * comes out plain is forwarded ahead of Fastify; anything else is handed to Fastify
 * untouched. What the upstream and the client see must not depend on which path a
 * request took: the same request through the lane (a socket) and through Fastify
 * (inject(), which never reaches the lane) gives the upstream the same headers.
 * regentra_fast_lane_requests_total says which path a request took.
 */
import { connect } from 'node:net';
import { Writable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createLogger } from '../../src/ops/logger.ts';
import { nextRequestId } from '../../src/ops/request-id.ts';
import { baseRawConfig, HOSTS, startGateway, type RawConfig, type TestGateway } from '../support/gateway.ts';
import { closedPort, startUpstream, type Echo } from '../support/upstream.ts';
import { eventually, startServed } from '../ops/harness.ts';
import { Client } from 'undici';

/** how many requests the lane has forwarded so far */
async function laneCount(gw: { core: TestGateway['core'] }): Promise<number> {
  return (await gw.core.metrics.fastLane.get()).values[0]?.value ?? 0;
}

/** the request the upstream received last */
const lastEcho = (gw: TestGateway): Echo => gw.staffUpstream.received.at(-1) as Echo;

/** the upstream's view of a request, but for the transport's own headers (the connection the client used) */
const comparable = (h: Echo['headers']) => Object.fromEntries(Object.entries(h).filter(([name]) => name !== 'connection' && name !== 'content-length'));

/** the same request through the lane (a socket) and through Fastify (inject(), which never reaches the lane): what each upstream saw */
async function bothPaths(g: TestGateway, path: string, headers: Record<string, string>, cookie: string): Promise<{ lane: Echo; fastify: Echo }> {
  const before = await laneCount(g);
  const viaLane = await g.request(HOSTS.staff, path, { cookie, headers });
  assert.equal(viaLane.statusCode, 200);
  await viaLane.body.dump();
  assert.equal(await laneCount(g), before + 1, 'forwarded by the lane');
  const lane = lastEcho(g);
  const viaFastify = await g.inject(HOSTS.staff, path, { cookie, headers });
  assert.equal(viaFastify.statusCode, 200);
  assert.equal(await laneCount(g), before + 1, 'inject() goes through Fastify');
  return { lane, fastify: lastEcho(g) };
}

/** a request written byte for byte on its own connection (two Host headers: no client library sends that) */
async function rawRequest(port: number, head: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => socket.write(head));
    let text = '';
    socket.setEncoding('latin1');
    socket.on('data', (d: string) => (text += d));
    socket.on('end', () => resolve(text));
    socket.on('error', reject);
    setTimeout(() => {
      socket.destroy();
      resolve(text);
    }, 2_000).unref();
  });
}

describe('the fast lane', () => {
  let gw: TestGateway;
  before(async () => {
    gw = await startGateway();
  });
  after(() => gw.close());

  test('a signed-in request takes the lane, and the upstream sees exactly what Fastify’s path sends it', async () => {
    const cookie = `${await gw.sessionCookie(HOSTS.staff)}; app_pref=dark`;
    // inbound identity headers in two spellings and a forwarding header: stripped on both paths
    const headers = {
      accept: 'application/json',
      'user-agent': 'lane-test/1',
      'x-regentra-user-id': 'evil',
      'X-Regentra-Identity': 'forged.jwt.value',
      'x-forwarded-host': 'evil.example',
      'x-app-header': 'kept',
    };
    const { lane, fastify } = await bothPaths(gw, '/api/items?page=2', headers, cookie);

    assert.equal(lane.url, '/api/items?page=2');
    assert.equal(fastify.url, lane.url);
    // the same header names and values, but for the transport's own
    assert.deepEqual(comparable(lane.headers), comparable(fastify.headers));
    assert.equal(lane.headers['x-regentra-user-id'] !== 'evil', true);
    assert.equal(typeof lane.headers['x-regentra-identity'], 'string');
    assert.notEqual(lane.headers['x-regentra-identity'], 'forged.jwt.value');
    assert.equal(lane.headers['x-forwarded-host'], HOSTS.staff);
    assert.equal(lane.headers['x-app-header'], 'kept');
    // the gateway's own cookie never reaches the upstream; the app's cookie does
    assert.equal(lane.headers.cookie, 'app_pref=dark');
  });

  test('the Cookie header read once per value, on one connection: each request is answered for its own header', async () => {
    const session = await gw.sessionCookie(HOSTS.staff);
    const other = await gw.sessionCookie(HOSTS.staff);
    // one connection (the lane remembers a connection's last Cookie header), headers that change between requests
    const client = new Client(gw.url, { pipelining: 1 });
    const steps: { cookie: string; status: number; lane: boolean; upstreamCookie?: string | undefined }[] = [
      { cookie: `${session}; theme=dark`, status: 200, lane: true, upstreamCookie: 'theme=dark' },
      { cookie: `${session}; theme=dark`, status: 200, lane: true, upstreamCookie: 'theme=dark' },
      { cookie: `theme=light; ${session}`, status: 200, lane: true, upstreamCookie: 'theme=light' },
      // a planted second session cookie, then a flow cookie: never the answer remembered for the header before
      { cookie: `${session}; ${other}`, status: 401, lane: false },
      { cookie: `${session}; ${gw.cookieName}_flow=x`, status: 200, lane: false, upstreamCookie: undefined },
      { cookie: session, status: 200, lane: true, upstreamCookie: undefined },
      { cookie: `a=1; ${session}; b=2`, status: 200, lane: true, upstreamCookie: 'a=1; b=2' },
      { cookie: 'a=1', status: 401, lane: false },
    ];
    try {
      for (const step of steps) {
        const before = await laneCount(gw);
        const echoes = gw.staffUpstream.received.length;
        const res = await client.request({
          path: '/api/items',
          method: 'GET',
          headers: { host: HOSTS.staff, cookie: step.cookie, accept: 'application/json' },
        });
        await res.body.dump();
        assert.equal(res.statusCode, step.status, step.cookie);
        assert.equal(await laneCount(gw), before + (step.lane ? 1 : 0), `${step.cookie}: through the lane?`);
        if (step.status === 200) assert.equal(lastEcho(gw).headers.cookie, step.upstreamCookie, step.cookie);
        else assert.equal(gw.staffUpstream.received.length, echoes, 'nothing proxied');
      }
    } finally {
      await client.close();
    }
  });

  test('a Cookie header longer than the caches keep is read for its request (and every upstream gets its own)', async () => {
    const session = await gw.sessionCookie(HOSTS.staff);
    for (const size of [5_000, 6_000]) {
      const big = `big=${'x'.repeat(size)}`;
      const res = await gw.request(HOSTS.staff, '/api/items', { cookie: `${big}; ${session}` });
      assert.equal(res.statusCode, 200);
      await res.body.dump();
      assert.equal(lastEcho(gw).headers.cookie, big);
    }
  });

  test('a public path without the gateway’s cookies takes the lane, with no identity', async () => {
    const before = await laneCount(gw);
    const res = await gw.request(HOSTS.staff, '/assets/app.css', { headers: { 'x-regentra-user-id': 'evil' } });
    assert.equal(res.statusCode, 200);
    await res.body.dump();
    assert.equal(await laneCount(gw), before + 1);
    assert.equal(lastEcho(gw).headers['x-regentra-user-id'], undefined);
    assert.equal(lastEcho(gw).headers['x-regentra-identity'], undefined);
  });

  test('a cookie older than the touch interval takes the lane and gets its refreshed cookie', async () => {
    const cookie = await gw.sessionCookie(HOSTS.staff, { seen: Date.now() - 90_000, iat: Date.now() - 90_000 });
    const before = await laneCount(gw);
    const res = await gw.request(HOSTS.staff, '/api/items', { cookie });
    assert.equal(res.statusCode, 200);
    await res.body.dump();
    assert.equal(await laneCount(gw), before + 1);
    const setCookie = String(res.headers['set-cookie'] ?? '');
    assert.match(setCookie, new RegExp(`^${gw.cookieName}=`));
    assert.match(setCookie, /HttpOnly/i);
    // the refreshed cookie is a valid session too
    const next = await gw.request(HOSTS.staff, '/api/items', { cookie: setCookie.split(';')[0] as string });
    assert.equal(next.statusCode, 200);
    await next.body.dump();
  });

  describe('anything that is not plain goes to Fastify, which decides and answers', () => {
    const cases: {
      name: string;
      send: (gw: TestGateway) => Promise<{ status: number; headers: Record<string, unknown>; body: string }>;
      status: number;
      check?: (r: { headers: Record<string, unknown>; body: string }) => void;
    }[] = [
      {
        name: 'no cookie, an API client: 401 JSON',
        send: (g) => send(g, HOSTS.staff, '/api/items', { accept: 'application/json' }),
        status: 401,
        check: (r) => assert.match(r.body, /"error":"unauthenticated"/),
      },
      {
        name: 'no cookie, a browser: the sign-in redirect',
        send: (g) => send(g, HOSTS.staff, '/app/page', { accept: 'text/html' }),
        status: 302,
        check: (r) => assert.match(String(r.headers.location), /^\/\.auth\/login\?rd=/),
      },
      {
        name: 'an idle-expired session: 401, and the cookie is cleared',
        send: async (g) => send(g, HOSTS.staff, '/api/items', { cookie: await g.sessionCookie(HOSTS.staff, { seen: Date.now() - 3 * 3600_000 }) }),
        status: 401,
        check: (r) => assert.match(String(r.headers['set-cookie']), /Max-Age=0|Expires=Thu, 01 Jan 1970/i),
      },
      {
        name: 'a session of a disabled account: 401',
        send: async (g) => {
          const user = await g.store.createUser({ realm: 'staff', email: 'disabled@example.com', displayName: 'Dis Abled', role: 'admin' });
          const cookie = await g.sessionCookie(HOSTS.staff, { uid: user.id, email: user.email });
          await g.store.updateUser('staff', user.id, { status: 'disabled' });
          return send(g, HOSTS.staff, '/api/items', { cookie });
        },
        status: 401,
      },
      {
        name: 'a session cookie for another host: 401',
        send: async (g) => send(g, HOSTS.acme, '/api/items', { cookie: await g.sessionCookie(HOSTS.staff) }),
        status: 401,
      },
      {
        name: 'a flow cookie beside the session (a sign-in in progress): proxied through Fastify',
        send: async (g) => send(g, HOSTS.staff, '/api/items', { cookie: `${await g.sessionCookie(HOSTS.staff)}; ${g.cookieName}_flow=anything` }),
        status: 200,
      },
      {
        name: 'the session cookie sent twice (cookie tossing): 401',
        send: async (g) => {
          const c = await g.sessionCookie(HOSTS.staff);
          return send(g, HOSTS.staff, '/api/items', { cookie: `${c}; ${c}` });
        },
        status: 401,
      },
      {
        name: 'the reserved prefix: the gateway’s own page',
        send: async (g) => send(g, HOSTS.staff, '/.auth/no-such-page', { cookie: await g.sessionCookie(HOSTS.staff), accept: 'application/json' }),
        status: 404,
      },
      {
        name: 'an unknown host: 421',
        send: async (g) => send(g, 'nobody.example.test', '/api/items', { cookie: await g.sessionCookie(HOSTS.staff), accept: 'application/json' }),
        status: 421,
      },
      {
        name: 'a path that could read differently upstream: 400',
        send: async (g) => send(g, HOSTS.staff, '/api/%2e%2e%2fadmin', { cookie: await g.sessionCookie(HOSTS.staff), accept: 'application/json' }),
        status: 400,
      },
      {
        name: 'a request with a body and a malformed Content-Type: 400 (Fastify checks it)',
        send: (g) => post(g, 'bogus'),
        status: 400,
      },
      {
        name: 'a request with a body: proxied through Fastify, body and all',
        send: (g) => post(g, 'text/plain'),
        status: 200,
        check: (r) => assert.equal((JSON.parse(r.body) as { bodyBytes: number }).bodyBytes, 5),
      },
      {
        name: 'two Host headers: 400',
        send: async (g) => {
          const cookie = await g.sessionCookie(HOSTS.staff);
          const text = await rawRequest(
            g.port,
            `GET /api/items HTTP/1.1\r\nHost: ${HOSTS.staff}\r\nHost: ${HOSTS.acme}\r\nCookie: ${cookie}\r\nConnection: close\r\n\r\n`,
          );
          return { status: Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1]), headers: {}, body: text };
        },
        status: 400,
      },
    ];
    for (const c of cases) {
      test(c.name, async () => {
        const before = await laneCount(gw);
        const r = await c.send(gw);
        assert.equal(r.status, c.status, r.body.slice(0, 300));
        c.check?.(r);
        assert.equal(await laneCount(gw), before, 'not forwarded by the lane');
      });
    }
  });
});

/** a signed-in POST of five bytes with this Content-Type */
async function post(gw: TestGateway, contentType: string) {
  const res = await gw.request(HOSTS.staff, '/api/items', {
    method: 'POST',
    cookie: await gw.sessionCookie(HOSTS.staff),
    headers: { 'content-type': contentType, accept: 'application/json' },
    body: 'hello',
  });
  return { status: res.statusCode, headers: res.headers, body: await res.body.text() };
}

async function send(gw: TestGateway, host: string, path: string, opts: { cookie?: string; accept?: string }) {
  const res = await gw.request(host, path, { ...(opts.cookie ? { cookie: opts.cookie } : {}), headers: { accept: opts.accept ?? 'application/json' } });
  return { status: res.statusCode, headers: res.headers as Record<string, unknown>, body: await res.body.text() };
}

describe('the fast lane and its neighbours', () => {
  test('an upstream that is down: the lane hands the request to Fastify, which answers the 502 page or JSON', async () => {
    const dead = await closedPort();
    const gw = await startGateway({
      configure: (r: RawConfig) => {
        r.sites.staff.upstream = `http://127.0.0.1:${dead}`;
        return r;
      },
    });
    try {
      const cookie = await gw.sessionCookie(HOSTS.staff);
      const before = await laneCount(gw);
      const api = await send(gw, HOSTS.staff, '/api/items', { cookie });
      assert.equal(api.status, 502);
      assert.match(api.body, /"error":"upstream_down"/);
      assert.match(api.body, /"requestId":"[0-9a-f-]{36}"/);
      assert.equal(api.headers['content-type'], 'application/json; charset=utf-8');
      const page = await send(gw, HOSTS.staff, '/app', { cookie, accept: 'text/html' });
      assert.equal(page.status, 502);
      assert.match(String(page.headers['content-security-policy']), /default-src/);
      assert.match(page.body, /<html/i);
      assert.equal(await laneCount(gw), before + 2, 'both were forwarded by the lane first');
      // counted once each, as 5xx answers of the staff site
      const counted = (await gw.core.metrics.requests.get()).values.find((v) => v.labels.site === 'staff' && v.labels.status_class === '5xx');
      assert.equal(counted?.value, 2);
    } finally {
      await gw.close();
    }
  });

  describe('behind trusted proxies: the lane reads X-Forwarded-* as Fastify does', () => {
    test('from a trusted proxy: the forwarded host chooses the site, and the client’s address and scheme reach the upstream', async () => {
      const g = await startGateway({ configure: (r: RawConfig) => ({ ...r, server: { ...r.server, trustedProxies: ['127.0.0.1'] } }) });
      try {
        const cookie = await g.sessionCookie(HOSTS.staff);
        const headers = {
          'user-agent': 'lane-test/1',
          host: 'gateway.internal',
          'x-forwarded-host': HOSTS.staff,
          'x-forwarded-proto': 'https',
          'x-forwarded-for': '203.0.113.7',
        };
        const { lane, fastify } = await bothPaths(g, '/api/items', headers, cookie);
        assert.deepEqual(comparable(lane.headers), comparable(fastify.headers));
        assert.equal(lane.headers['x-forwarded-for'], '203.0.113.7, 127.0.0.1');
        assert.equal(lane.headers['x-forwarded-proto'], 'https');
        assert.equal(lane.headers['x-forwarded-host'], HOSTS.staff);
        assert.equal(typeof lane.headers['x-regentra-identity'], 'string');
        // the session is bound to the staff host: a forwarded host of another site is another site, with no session
        const other = await g.request(HOSTS.staff, '/api/items', {
          cookie,
          headers: { ...headers, 'x-forwarded-host': HOSTS.acme, accept: 'application/json' },
        });
        assert.equal(other.statusCode, 401);
        await other.body.dump();
      } finally {
        await g.close();
      }
    });

    test('from a peer that is not a trusted proxy: X-Forwarded-* are not believed (the Host header chooses the site)', async () => {
      const g = await startGateway({ configure: (r: RawConfig) => ({ ...r, server: { ...r.server, trustedProxies: ['10.9.9.9', '192.0.2.0/24'] } }) });
      try {
        const cookie = await g.sessionCookie(HOSTS.staff);
        const headers = { 'user-agent': 'lane-test/1', 'x-forwarded-host': HOSTS.acme, 'x-forwarded-proto': 'https', 'x-forwarded-for': '203.0.113.7' };
        const { lane, fastify } = await bothPaths(g, '/api/items', headers, cookie);
        assert.deepEqual(comparable(lane.headers), comparable(fastify.headers));
        assert.equal(lane.headers['x-forwarded-for'], '127.0.0.1');
        assert.equal(lane.headers['x-forwarded-proto'], 'http');
        assert.equal(lane.headers['x-forwarded-host'], HOSTS.staff);
      } finally {
        await g.close();
      }
    });
  });

  test('at info the lane writes the same one access-log line per request as Fastify’s path; at warn none', async () => {
    const staff = await startUpstream('staff-app');
    const portal = await startUpstream('portal-app');
    const raw = baseRawConfig(staff.url, portal.url);
    const served = await startServed(raw);
    try {
      const cookie = await served.sessionCookie(HOSTS.staff);
      const res = await served.request(HOSTS.staff, '/api/lane?x=1', { cookie });
      assert.equal(res.statusCode, 200);
      await res.body.dump();
      await new Promise((r) => setTimeout(r, 50));
      const lines = served.logs.filter((l) => l.msg === 'request completed' && (l.req as { url?: string }).url === '/api/lane?x=1');
      assert.equal(lines.length, 1, JSON.stringify(lines));
      const line = lines[0] as (typeof lines)[number];
      assert.deepEqual(line.req, { method: 'GET', url: '/api/lane?x=1', host: HOSTS.staff, ip: '127.0.0.1' });
      assert.deepEqual(line.res, { statusCode: 200 });
      // a version-8 UUID from the process's source (src/ops/request-id.ts), as Fastify's path's ids
      assert.match(String(line.reqId), /^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      assert.equal(String(line.reqId).slice(0, 24), nextRequestId().slice(0, 24));
      const anonymous = await served.request(HOSTS.staff, '/api/no-cookie', {});
      await anonymous.body.dump();
      await eventually(
        () => served.logs.some((l) => l.msg === 'request completed' && (l.req as { url?: string }).url === '/api/no-cookie'),
        5_000,
        'Fastify’s line',
      );
      const fastifyLine = served.logs.find((l) => l.msg === 'request completed' && (l.req as { url?: string }).url === '/api/no-cookie');
      assert.equal(String(fastifyLine?.reqId).slice(0, 24), String(line.reqId).slice(0, 24));
      assert.notEqual(fastifyLine?.reqId, line.reqId);
      assert.equal(typeof line.responseTime, 'number');
      assert.equal(line.level, 30);
      assert.match((await served.ops('/metrics')).body, /^regentra_fast_lane_requests_total 1$/m);
      // a credential in the query is redacted in the lane's line too
      const secret = await served.request(HOSTS.staff, '/api/lane?code=SECRET-CODE-1&x=%22', { cookie });
      assert.equal(secret.statusCode, 200);
      await secret.body.dump();
      assert.match((await served.ops('/metrics')).body, /^regentra_fast_lane_requests_total 2$/m);
      const ours = () => served.logs.filter((l) => l.msg === 'request completed' && String((l.req as { url?: string }).url).startsWith('/api/lane?code='));
      await eventually(() => ours().length > 0, 5_000, 'the lane’s access-log line');
      const redacted = ours();
      assert.deepEqual(
        redacted.map((l) => (l.req as { url?: string }).url),
        ['/api/lane?code=[redacted]&x=%22'],
      );
      assert.ok(!JSON.stringify(served.logs).includes('SECRET-CODE-1'));
    } finally {
      await served.close();
    }
    await staff.close();
    await portal.close();
    // at warn (the logger the gateway is given): no access-log line, from either path
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(
          ...chunk
            .toString('utf8')
            .split('\n')
            .filter((l) => l.trim()),
        );
        done();
      },
    });
    const quiet = await startGateway({ deps: { logger: createLogger('warn', sink) } });
    try {
      const res = await quiet.request(HOSTS.staff, '/api/lane', { cookie: await quiet.sessionCookie(HOSTS.staff) });
      assert.equal(res.statusCode, 200);
      await res.body.dump();
      await new Promise((r) => setTimeout(r, 50));
      assert.equal(await laneCount(quiet), 1);
      assert.deepEqual(
        lines.filter((l) => l.includes('request completed')),
        [],
      );
    } finally {
      await quiet.close();
    }
  });
});
