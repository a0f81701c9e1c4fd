/**
 * Configuration reloads and graceful shutdown of the real serve() under a load of
 * authenticated requests (test/ops/reload and test/ops/shutdown cover a public path and
 * a handful of requests).
 *
 * - Reload: session keys rotated (new first, old kept), a signing key rotated in and
 *   made first, a client added, the upstream moved — while signed-in users keep sending
 *   on keep-alive connections: every request answered 200 with the user's identity, and
 *   every identity JWT verifies against the JWKS the gateway publishes at that time.
 * - Shutdown: stop() in the middle of the load: every request the gateway accepted is
 *   answered (200, then the connection closed), none is cut; requests sent afterwards
 *   find the listener closed (what a load balancer retries elsewhere); exit code 0.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Client, errors as undiciErrors } from 'undici';
import { baseRawConfig, HOSTS, type RawConfig } from '../support/gateway.ts';
import { ecPem, key32 } from '../support/keys.ts';
import { startUpstream, type Upstream } from '../support/upstream.ts';
import { sleep, startServed, type Served } from '../ops/harness.ts';
import { verifyIdentity } from '../../src/identity/verify.ts';
import { iterations } from '../security/support.ts';

type Raw = RawConfig;

interface Outcome {
  status: number;
  error: string | null;
  id: string;
  jwt?: string;
}

/** `n` clients on keep-alive connections, each sending authenticated requests until `stop()` */
function loadGenerator(served: Served, cookies: readonly string[], n: number) {
  let running = true;
  let seq = 0;
  const outcomes: Outcome[] = [];
  const clients = Array.from({ length: n }, () => new Client(served.running.url, { pipelining: 1, keepAliveTimeout: 30_000 }));
  const worker = async (client: Client, w: number) => {
    while (running) {
      const id = `r${++seq}`;
      try {
        const res = await client.request({
          path: `/api/${id}`,
          method: 'GET',
          headers: { host: HOSTS.staff, cookie: cookies[w % cookies.length] as string, accept: 'application/json' },
        });
        const body = await res.body.text();
        let jwt: string | undefined;
        if (res.statusCode === 200) jwt = (JSON.parse(body) as { headers: Record<string, string> }).headers['x-regentra-identity'];
        outcomes.push({ status: res.statusCode, error: null, id, ...(jwt ? { jwt } : {}) });
      } catch (err) {
        outcomes.push({ status: 0, error: (err as { code?: string }).code ?? (err as Error).message, id });
        if (err instanceof undiciErrors.SocketError || (err as { code?: string }).code === 'ECONNREFUSED') await sleep(5);
      }
    }
  };
  const done = Promise.all(clients.map(worker));
  return {
    outcomes,
    async stop() {
      running = false;
      await done;
      await Promise.all(clients.map((c) => c.close().catch(() => {})));
    },
  };
}

test('reloads under authenticated load: keys rotated, a client added, the upstream moved; no request fails', async () => {
  const a = await startUpstream('upstream-a');
  const b = await startUpstream('upstream-b');
  const oldSession = key32();
  const newSession = key32();
  const oldSigning = ecPem();
  const newSigning = ecPem();
  const raw: Raw = baseRawConfig(a.url, a.url);
  raw.keys = { session: [oldSession], signing: [{ privateKey: oldSigning }], encryption: [{ id: 'k1', key: key32() }] };
  raw.server.shutdownGraceMs = 5_000;
  const served = await startServed(raw);
  a.delayMs = 5;
  b.delayMs = 5;
  const cookies = await Promise.all(Array.from({ length: 8 }, () => served.sessionCookie(HOSTS.staff)));
  const jwksSeen: string[] = [];
  const fetchJwks = async () => {
    const res = await served.request(HOSTS.staff, '/.auth/jwks.json');
    jwksSeen.push(await res.body.text());
  };
  await fetchJwks();
  const load = loadGenerator(served, cookies, 8);
  try {
    const steps: Array<(r: Raw) => Raw> = [
      (r) => ({ ...r, keys: { ...r.keys, session: [newSession, oldSession] } }),
      (r) => ({ ...r, keys: { ...r.keys, signing: [{ privateKey: oldSigning }, { privateKey: newSigning }] } }),
      (r) => ({ ...r, keys: { ...r.keys, signing: [{ privateKey: newSigning }, { privateKey: oldSigning }] } }),
      (r) => ({
        ...r,
        sites: {
          ...r.sites,
          portal: { ...r.sites.portal, clients: [...r.sites.portal.clients, { id: 'newco', name: 'NewCo', hosts: ['newco.support.example.test'] }] },
        },
      }),
      (r) => ({ ...r, sites: { ...r.sites, staff: { ...r.sites.staff, upstream: b.url } } }),
    ];
    let current = raw;
    for (const step of steps) {
      await sleep(iterations(250, 5_000));
      current = step(current);
      served.write(current);
      const result = await served.running.reload();
      assert.equal(result.ok, true, JSON.stringify(result));
      await fetchJwks();
    }
    await sleep(250);
  } finally {
    await load.stop();
  }
  try {
    const { outcomes } = load;
    const failed = outcomes.filter((o) => o.status !== 200);
    assert.deepEqual(failed.slice(0, 5), [], `${failed.length} of ${outcomes.length} requests failed`);
    assert.ok(outcomes.length > 100, `only ${outcomes.length} requests`);
    // every identity verifies against the keys published at the end (the old signing key is still listed)
    const keys = JSON.parse(jwksSeen.at(-1) as string);
    const sample = outcomes.filter((_, i) => i % Math.max(1, Math.floor(outcomes.length / 150)) === 0);
    for (const o of sample) {
      assert.ok(o.jwt, `${o.id} reached the upstream without an identity`);
      await verifyIdentity({ 'x-regentra-identity': o.jwt }, { keys, audience: 'staff', issuer: served.running.config.identity.issuer });
    }
    assert.ok(
      b.received.some((e) => e.url.startsWith('/api/')),
      'the new upstream took over',
    );
  } finally {
    await served.close();
    await a.close();
    await b.close();
  }
});

test('graceful shutdown under authenticated load: every accepted request is answered; exit code 0', async () => {
  const upstream: Upstream = await startUpstream('staff-app');
  const raw: Raw = baseRawConfig(upstream.url, upstream.url);
  raw.server.shutdownGraceMs = 10_000;
  const served = await startServed(raw);
  upstream.delayMs = 30; // requests are always in flight
  const cookies = await Promise.all(Array.from({ length: 6 }, () => served.sessionCookie(HOSTS.staff)));
  const load = loadGenerator(served, cookies, 12);
  await sleep(iterations(600, 10_000));
  const stopping = served.running.stop();
  // keep sending for a while after stop() was called
  await sleep(500);
  await stopping;
  await load.stop();
  const code = await served.running.closed;
  try {
    const { outcomes } = load;
    const atUpstream = new Set(upstream.received.map((e) => e.url.slice('/api/'.length)));
    const answered = outcomes.filter((o) => o.status !== 0);
    const bad = answered.filter((o) => o.status !== 200);
    assert.deepEqual(bad.slice(0, 5), [], `${bad.length} requests answered with an error status`);
    // a request that reached the upstream was accepted: its client must have its answer
    const cut = outcomes.filter((o) => o.status === 0 && atUpstream.has(o.id));
    assert.deepEqual(cut.slice(0, 5), [], `${cut.length} accepted requests were cut by the shutdown`);
    // the others never got to the gateway: refused or closed before anything was sent back
    const refused = outcomes.filter((o) => o.status === 0 && !atUpstream.has(o.id));
    for (const o of refused) assert.match(String(o.error), /ECONNREFUSED|UND_ERR_SOCKET|ECONNRESET|other side closed|UND_ERR_CLOSED/, `${o.id}: ${o.error}`);
    assert.ok(answered.length > 100, `only ${answered.length} answered requests`);
    assert.ok(refused.length > 0, 'requests sent after stop() found the listener closed');
    assert.equal(code, 0, 'a clean exit');
  } finally {
    await served.close().catch(() => {});
    await upstream.close();
  }
});
