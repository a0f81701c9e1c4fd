/**
 * Configuration reload (src/runtime/reload.ts) through the real serve(): swaps under
 * load without a failed request or a closed connection, applies routes,
 * upstreams and keys, refuses a bad file and keeps serving the old one.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Client } from 'undici';
import WebSocket from 'ws';
import { baseRawConfig, HOSTS, type RawConfig } from '../support/gateway.ts';
import { ecPem, key32 } from '../support/keys.ts';
import { startUpstream, type Upstream } from '../support/upstream.ts';
import { eventually, sleep, startServed } from './harness.ts';

type Raw = RawConfig;

function withStaffUpstream(raw: Raw, url: string): Raw {
  return { ...raw, sites: { ...raw.sites, staff: { ...raw.sites.staff, upstream: url } } };
}

/** an upstream that holds every answer until released, so a request is surely in flight */
async function holdingUpstream() {
  let release: () => void = () => {};
  const held = new Promise<void>((resolve) => (release = resolve));
  let arrived: () => void = () => {};
  const arrival = new Promise<void>((resolve) => (arrived = resolve));
  const server = createServer((_req, res) => {
    arrived();
    void held.then(() => res.writeHead(200, { 'x-upstream': 'holding' }).end('done'));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    arrival,
    release: () => release(),
    close: () => {
      server.closeAllConnections();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

let a: Upstream;
let b: Upstream;
before(async () => {
  a = await startUpstream('upstream-a');
  b = await startUpstream('upstream-b');
});
after(async () => {
  await a.close();
  await b.close();
});

describe('config reload', () => {
  test('under load: no request fails, no connection is closed, the new upstream takes over', async () => {
    const raw: Raw = baseRawConfig(a.url, a.url);
    raw.server.shutdownGraceMs = 5_000;
    const gw = await startServed(raw);
    // every request spends 60 ms upstream, so some are always in flight at a swap
    a.delayMs = 60;
    b.delayMs = 60;
    const clients = Array.from({ length: 6 }, () => new Client(gw.running.url, { pipelining: 1, keepAliveTimeout: 30_000 }));
    let connects = 0;
    for (const c of clients) c.on('connect', () => connects++);
    const seen: string[] = [];
    const failures: string[] = [];
    let loading = true;
    const worker = async (client: Client) => {
      while (loading) {
        try {
          const res = await client.request({ path: '/health', method: 'GET', headers: { host: HOSTS.staff } });
          await res.body.dump();
          if (res.statusCode !== 200) failures.push(`status ${res.statusCode}`);
          else seen.push(String(res.headers['x-upstream']));
        } catch (err) {
          failures.push((err as Error).message);
        }
      }
    };
    try {
      const load = Promise.all(clients.map(worker));
      const generations: number[] = [];
      for (let i = 1; i <= 4; i++) {
        await sleep(150);
        gw.write(withStaffUpstream(raw, i % 2 === 1 ? b.url : a.url));
        const result = await gw.running.reload();
        assert.equal(result.ok, true, JSON.stringify(result));
        generations.push(result.generation);
      }
      await sleep(150);
      loading = false;
      await load;

      assert.deepEqual(generations, [2, 3, 4, 5]);
      assert.deepEqual(failures, []);
      assert.ok(seen.length >= 30, `only ${seen.length} requests completed`);
      assert.ok(seen.includes('upstream-a') && seen.includes('upstream-b'), 'both upstreams served');
      // each client kept its one keep-alive connection through four reloads
      assert.equal(connects, clients.length);
      // after the last swap (back to a), new requests reach a only
      const tail = await gw.request(HOSTS.staff, '/health');
      assert.equal(tail.headers['x-upstream'], 'upstream-a');
      await tail.body.dump();
    } finally {
      a.delayMs = 0;
      b.delayMs = 0;
      await Promise.all(clients.map((c) => c.close()));
      await gw.close();
    }
  });

  test('a request in flight during the swap finishes on the old upstream; the next goes to the new one', async () => {
    const holding = await holdingUpstream();
    const raw: Raw = baseRawConfig(holding.url, a.url);
    const gw = await startServed(raw);
    try {
      const slow = gw.request(HOSTS.staff, '/health');
      await holding.arrival;
      gw.write(withStaffUpstream(raw, b.url));
      const result = await gw.running.reload();
      assert.equal(result.ok, true);
      const fresh = await gw.request(HOSTS.staff, '/health');
      assert.equal(fresh.statusCode, 200);
      assert.equal(fresh.headers['x-upstream'], 'upstream-b');
      await fresh.body.dump();
      const retired = () => gw.logs.find((l) => l.msg === 'previous configuration closed' && l.generation === 1);
      await sleep(100);
      assert.equal(retired(), undefined, 'the old configuration stays open while its request runs');

      holding.release();
      const old = await slow;
      assert.equal(old.statusCode, 200);
      assert.equal(old.headers['x-upstream'], 'holding');
      assert.equal(await old.body.text(), 'done');
      await eventually(() => retired() !== undefined, 2_000, 'the old configuration to be closed');
      assert.equal(retired()?.drained, true);
    } finally {
      holding.release();
      await gw.close();
      await holding.close();
    }
  });

  test('stop() while a previous configuration is still draining waits for its request too', async () => {
    const holding = await holdingUpstream();
    const raw: Raw = baseRawConfig(holding.url, a.url);
    const gw = await startServed(raw);
    try {
      const slow = gw.request(HOSTS.staff, '/health');
      await holding.arrival;
      gw.write(withStaffUpstream(raw, b.url));
      assert.equal((await gw.running.reload()).ok, true);
      const stopping = gw.running.stop();
      await sleep(100);
      holding.release();
      const old = await slow;
      assert.equal(old.statusCode, 200);
      assert.equal(await old.body.text(), 'done');
      await stopping;
      assert.equal(await gw.running.closed, 0);
      const refused = await gw.running.reload();
      assert.equal(refused.ok, false, 'no reload once stopped');
    } finally {
      holding.release();
      await gw.close();
      await holding.close();
    }
  });

  test('routes change: a client added by a reload is served, a removed one is not', async () => {
    const raw: Raw = baseRawConfig(a.url, b.url);
    const gw = await startServed(raw);
    try {
      const newHost = 'newco.support.example.test';
      const before = await gw.request(newHost, '/assets/app.css');
      assert.equal(before.statusCode, 421);
      await before.body.dump();

      const clients = [...raw.sites.portal.clients.filter((c: Raw) => c.id !== 'globex'), { id: 'newco', name: 'NewCo', hosts: [newHost] }];
      gw.write({ ...raw, sites: { ...raw.sites, portal: { ...raw.sites.portal, clients } } });
      assert.equal((await gw.running.reload()).ok, true);

      const added = await gw.request(newHost, '/assets/app.css');
      assert.equal(added.statusCode, 200);
      assert.equal(added.headers['x-upstream'], 'upstream-b');
      await added.body.dump();
      const removed = await gw.request(HOSTS.globex, '/assets/app.css');
      assert.equal(removed.statusCode, 421);
      await removed.body.dump();
    } finally {
      await gw.close();
    }
  });

  test('keys change: a rotated-in session key keeps old cookies valid, removing the old key ends them; JWKS follows the signing keys', async () => {
    const raw: Raw = baseRawConfig(a.url, a.url);
    const oldKey = raw.keys.session[0] as string;
    const gw = await startServed(raw);
    try {
      const cookie = await gw.sessionCookie(HOSTS.staff);
      const kidsOf = async () => {
        const res = await gw.request(HOSTS.staff, '/.auth/jwks.json');
        return ((await res.body.json()) as { keys: { kid: string }[] }).keys.map((k) => k.kid);
      };
      const [oldKid] = await kidsOf();

      const newKey = key32();
      const rotated = { ...raw, keys: { ...raw.keys, session: [newKey, oldKey], signing: [{ kid: 'next', privateKey: ecPem() }, ...raw.keys.signing] } };
      gw.write(rotated);
      assert.equal((await gw.running.reload()).ok, true);
      const still = await gw.request(HOSTS.staff, '/private', { cookie });
      assert.equal(still.statusCode, 200);
      const echoed = (await still.body.json()) as { headers: Record<string, string> };
      const header = JSON.parse(Buffer.from((echoed.headers['x-regentra-identity'] ?? '').split('.')[0] ?? '', 'base64url').toString()) as { kid: string };
      assert.equal(header.kid, 'next', 'assertions are signed with the new first key');
      assert.deepEqual(await kidsOf(), ['next', oldKid]);

      gw.write({ ...rotated, keys: { ...rotated.keys, session: [newKey] } });
      assert.equal((await gw.running.reload()).ok, true);
      const ended = await gw.request(HOSTS.staff, '/private', { cookie });
      assert.equal(ended.statusCode, 401);
      await ended.body.dump();
    } finally {
      await gw.close();
    }
  });

  test('a bad configuration is refused with its errors logged; the old one keeps serving', async () => {
    const raw: Raw = baseRawConfig(a.url, a.url);
    const gw = await startServed(raw);
    try {
      gw.write({ ...withStaffUpstream(raw, 'ftp://nowhere'), surprise: true, keys: { ...raw.keys, session: ['too-short'] } });
      const result = await gw.running.reload();
      assert.equal(result.ok, false);
      assert.equal(result.generation, 1);
      const errors = result.ok ? [] : result.errors;
      assert.ok(
        errors.some((e) => e.startsWith('sites.staff.upstream:')),
        errors.join('\n'),
      );
      assert.ok(
        errors.some((e) => e.includes('unknown key "surprise"')),
        errors.join('\n'),
      );
      const logged = gw.logs.find((l) => l.msg.startsWith('configuration reload refused'));
      assert.ok(logged, 'the refusal is logged');
      assert.deepEqual(logged.errors, errors);
      assert.equal(JSON.stringify(gw.logs).includes('too-short'), false, 'a secret value is never logged');

      // broken YAML and a missing ${ENV} reference are refused too
      gw.write({ ...raw, keys: { ...raw.keys, session: ['${NOT_SET_ANYWHERE}'] } });
      const missingEnv = await gw.running.reload();
      assert.equal(missingEnv.ok, false);
      assert.match(missingEnv.ok ? '' : missingEnv.errors.join('\n'), /keys\.session\[0\]: environment variable NOT_SET_ANYWHERE is not set/);

      const res = await gw.request(HOSTS.staff, '/health');
      assert.equal(res.statusCode, 200);
      assert.equal(res.headers['x-upstream'], 'upstream-a');
      await res.body.dump();
      assert.equal(gw.running.config.sites.staff.upstream, a.url);
      const metrics = (await gw.ops('/metrics')).body;
      assert.match(metrics, /^regentra_config_reloads_total\{outcome="refused"\} 2$/m);
      assert.match(metrics, /^regentra_config_generation 1$/m);
    } finally {
      await gw.close();
    }
  });

  test('SIGHUP and POST /-/reload on the ops listener reload; restart-only changes are reported', async () => {
    const raw: Raw = baseRawConfig(a.url, a.url);
    const gw = await startServed(raw, { installSignalHandlers: true });
    try {
      gw.write(withStaffUpstream(raw, b.url));
      process.kill(process.pid, 'SIGHUP');
      await eventually(() => gw.running.config.sites.staff.upstream === b.url, 5_000, 'the SIGHUP reload');
      const viaHup = await gw.request(HOSTS.staff, '/health');
      assert.equal(viaHup.headers['x-upstream'], 'upstream-b');
      await viaHup.body.dump();

      gw.write({ ...raw, server: { ...raw.server, port: 1, keepAliveTimeoutMs: 1_000 } });
      const res = await gw.ops('/-/reload', 'POST');
      assert.equal(res.status, 200);
      const body = JSON.parse(res.body) as { ok: boolean; generation: number; restartRequired: string[] };
      assert.equal(body.ok, true);
      assert.equal(body.generation, 3);
      assert.deepEqual(body.restartRequired, ['server.port', 'server.keepAliveTimeoutMs']);
      // still listening where it was
      const same = await gw.request(HOSTS.staff, '/health');
      assert.equal(same.statusCode, 200);
      assert.equal(same.headers['x-upstream'], 'upstream-a');
      await same.body.dump();

      gw.write({ ...raw, sites: 'nonsense' });
      const refused = await gw.ops('/-/reload', 'POST');
      assert.equal(refused.status, 422);
      assert.equal((JSON.parse(refused.body) as { ok: boolean }).ok, false);
    } finally {
      await gw.close();
    }
    assert.equal(process.listenerCount('SIGHUP'), 0, 'stop() removes its signal handlers');
  });

  test('a WebSocket opened before a reload keeps working until the old configuration is retired', async () => {
    const raw: Raw = baseRawConfig(a.url, a.url);
    raw.server.shutdownGraceMs = 1_000;
    const gw = await startServed(raw);
    try {
      const cookie = await gw.sessionCookie(HOSTS.staff);
      const open = (ws: WebSocket) =>
        new Promise<string>((resolve, reject) => {
          ws.once('message', (data) => resolve(String(data)));
          ws.once('error', reject);
        });
      const wsUrl = gw.running.url.replace('http', 'ws');
      const first = new WebSocket(`${wsUrl}/socket`, { headers: { host: HOSTS.staff, cookie } });
      assert.equal((JSON.parse(await open(first)) as { hello: string }).hello, 'upstream-a');
      const closed = new Promise<number>((resolve) => first.once('close', () => resolve(Date.now())));

      gw.write(withStaffUpstream(raw, b.url));
      const reloadedAt = Date.now();
      assert.equal((await gw.running.reload()).ok, true);
      const echo = new Promise<string>((resolve) => first.once('message', (data) => resolve(String(data))));
      first.send('still there');
      assert.equal(await echo, 'still there');

      const second = new WebSocket(`${wsUrl}/socket`, { headers: { host: HOSTS.staff, cookie } });
      assert.equal((JSON.parse(await open(second)) as { hello: string }).hello, 'upstream-b');
      const closedAt = await closed;
      assert.ok(closedAt - reloadedAt >= 900, `closed after ${closedAt - reloadedAt} ms, before the grace period`);
      assert.equal(second.readyState, WebSocket.OPEN, 'the new generation keeps its WebSockets');
      second.close();
    } finally {
      await gw.close();
    }
  });
});
