/**
 * WebSockets through the gateway: with a valid session (echo, identity headers,
 * no gateway cookie, no client-forged identity), without one (refused before any
 * upstream connection), and on a public path.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { verifyIdentity } from '../../src/identity/verify.ts';
import { HOSTS, startGateway, type TestGateway } from '../support/gateway.ts';

interface Hello {
  readonly hello: string;
  readonly url: string;
  readonly headers: Record<string, string | undefined>;
}

type Opened = { ok: true; ws: WebSocket; hello: Hello } | { ok: false; status: number | null; error: string };

/** Open a WebSocket to the gateway naming `host`; resolves with the upstream's greeting or the refusal. */
function open(gw: TestGateway, host: string, path: string, headers: Record<string, string> = {}): Promise<Opened> {
  return new Promise((resolve) => {
    const ws = new WebSocket(`ws://127.0.0.1:${gw.port}${path}`, { headers: { host, ...headers } });
    ws.once('unexpected-response', (_req, res) => {
      res.resume();
      resolve({ ok: false, status: res.statusCode ?? null, error: 'unexpected response' });
      ws.terminate();
    });
    ws.once('error', (err) => resolve({ ok: false, status: null, error: err.message }));
    ws.once('message', (data) => resolve({ ok: true, ws, hello: JSON.parse(String(data)) as Hello }));
  });
}

function next(ws: WebSocket): Promise<{ data: Buffer; binary: boolean }> {
  return new Promise((resolve) => ws.once('message', (data, binary) => resolve({ data: data as Buffer, binary })));
}

function closed(ws: WebSocket): Promise<void> {
  return new Promise((resolve) => {
    if (ws.readyState === WebSocket.CLOSED) resolve();
    else ws.once('close', () => resolve());
  });
}

describe('WebSocket proxying', () => {
  let gw: TestGateway;
  before(async () => {
    gw = await startGateway();
  });
  after(() => gw.close());

  test('with a valid session: messages echo, identity is injected, cookies and forgeries are not passed', async () => {
    const cookie = await gw.sessionCookie(HOSTS.staff, { email: 'ws@example.com' });
    const opened = await open(gw, HOSTS.staff, '/live?room=1', {
      cookie: `theme=dark; ${cookie}`,
      'X-Regentra-Email': 'forged@evil.test',
      x_regentra_identity: 'forged',
      'X-Forwarded-For': '203.0.113.9',
    });
    assert.ok(opened.ok, JSON.stringify(opened));
    const { ws, hello } = opened;
    assert.equal(hello.hello, 'staff-app');
    const h = hello.headers;
    assert.equal(h['x-regentra-email'], 'ws@example.com');
    assert.equal(h['x-regentra-realm'], 'staff');
    assert.equal(h.cookie, 'theme=dark');
    assert.equal(h['x-forwarded-for'], '127.0.0.1');
    assert.equal(h.host, HOSTS.staff);
    for (const name of Object.keys(h)) assert.ok(!name.includes('_'), `${name} reached the upstream`);
    const who = await verifyIdentity(h, { jwksUrl: `${gw.url}/.auth/jwks.json`, audience: 'staff', issuer: 'https://gateway.test' });
    assert.equal(who.email, 'ws@example.com');

    ws.send('hello through the gateway');
    const text = await next(ws);
    assert.equal(text.data.toString(), 'hello through the gateway');
    assert.equal(text.binary, false);
    const payload = Buffer.from([0, 1, 2, 253, 254, 255]);
    ws.send(payload);
    const bin = await next(ws);
    assert.equal(bin.binary, true);
    assert.deepEqual(Buffer.from(bin.data), payload);
    ws.close();
    await closed(ws);
  });

  test('the upstream sees the normalised path and the query', async () => {
    const cookie = await gw.sessionCookie(HOSTS.acme);
    const opened = await open(gw, HOSTS.acme, '/a/%2e%2e/live//now?x=1&y=%2F', { cookie });
    assert.ok(opened.ok);
    assert.equal(opened.hello.hello, 'portal-app');
    assert.equal(opened.hello.url, '/live/now?x=1&y=%2F');
    assert.equal(opened.hello.headers['x-regentra-client'], 'acme');
    opened.ws.close();
    await closed(opened.ws);
  });

  test('without a session: refused with 401, no upstream connection', async () => {
    const connections = gw.staffUpstream.upgrades.length;
    const opened = await open(gw, HOSTS.staff, '/live', { 'X-Regentra-Email': 'forged@evil.test' });
    assert.equal(opened.ok, false);
    assert.ok(!opened.ok && opened.status === 401, JSON.stringify(opened));
    assert.equal(gw.staffUpstream.upgrades.length, connections);
  });

  test("with another site's session: refused", async () => {
    const cookie = await gw.sessionCookie(HOSTS.globex);
    const connections = gw.portalUpstream.upgrades.length;
    const opened = await open(gw, HOSTS.acme, '/live', { cookie });
    assert.ok(!opened.ok && opened.status === 401, JSON.stringify(opened));
    assert.equal(gw.portalUpstream.upgrades.length, connections);
  });

  test('on an unknown host: refused', async () => {
    const opened = await open(gw, 'unknown.example.test', '/live');
    assert.ok(!opened.ok && opened.status === 421, JSON.stringify(opened));
  });

  test('on a reserved path: never proxied', async () => {
    const cookie = await gw.sessionCookie(HOSTS.staff);
    const opened = await open(gw, HOSTS.staff, '/.auth/nothing', { cookie });
    assert.ok(!opened.ok && opened.status === 404, JSON.stringify(opened));
  });

  test('on a public path: works without a session and without identity', async () => {
    const opened = await open(gw, HOSTS.staff, '/assets/live', { 'X-Regentra-Email': 'forged@evil.test' });
    assert.ok(opened.ok, JSON.stringify(opened));
    const h = opened.hello.headers;
    assert.equal(Object.keys(h).filter((n) => n.startsWith('x-regentra')).length, 0);
    opened.ws.send('ping');
    assert.equal((await next(opened.ws)).data.toString(), 'ping');
    opened.ws.close();
    await closed(opened.ws);
  });
});
