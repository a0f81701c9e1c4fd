/**
 * `server.workers: 2` (src/runtime/cluster.ts): two worker processes share the listener,
 * the keys and the store; the primary aggregates metrics and readiness, replaces a
 * worker that dies, reloads every worker, and stops them all cleanly.
 */
import cluster from 'node:cluster';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Agent, request } from 'undici';
import { stringify } from 'yaml';
import { buildApp, type GatewayApp } from '../../src/app.ts';
import { loadConfigFile, loadConfigObject } from '../../src/config/load.ts';
import { serve, type Running } from '../../src/main.ts';
import { ConfigError } from '../../src/errors.ts';
import { openStore } from '../../src/store/index.ts';
import type { Store } from '../../src/store/types.ts';
import { baseRawConfig, HOSTS, sealedSessionCookie, type RawConfig } from '../support/gateway.ts';
import { startUpstream, type Upstream } from '../support/upstream.ts';
import { eventually } from '../ops/harness.ts';

let dir: string;
let staff: Upstream;
let portal: Upstream;
let running: Running;
let sealer: GatewayApp;
let store: Store;
let cookie: string;
/** a destination for the primary's log that keeps its lines (a failed assertion shows them) */
function keptLog(): { lines: string[]; destination: Writable } {
  const lines: string[] = [];
  const destination = new Writable({
    write: (chunk: Buffer, _e, done) => {
      lines.push(chunk.toString());
      done();
    },
  });
  return { lines, destination };
}
const primaryLog = keptLog();
const quiet = primaryLog.destination;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'regentra-workers-'));
  staff = await startUpstream('staff-app');
  portal = await startUpstream('portal-app');
  const raw: RawConfig = baseRawConfig(staff.url, portal.url);
  raw.server.workers = 2;
  raw.store = { driver: 'sqlite', path: join(dir, 'gateway.db') };
  // errors only: the primary's are kept for a failed assertion to show (a worker's go to stdout)
  raw.log = { level: 'error' };
  const file = join(dir, 'gateway.yaml');
  writeFileSync(file, stringify(raw));
  const { config } = loadConfigFile(file, {});
  running = await serve(config, { configFile: file, env: {}, installSignalHandlers: false, logDestination: quiet });
  // the test's own connection to the shared store, and the keys, to sign a user in
  store = await openStore({ driver: 'sqlite', path: join(dir, 'gateway.db') });
  sealer = await buildApp(config, { store, logger: false });
  await sealer.ready();
  cookie = await sealedSessionCookie(sealer, config, store, HOSTS.staff);
});

after(async () => {
  await running?.stop();
  await sealer?.close();
  await store?.close();
  await staff.close();
  await portal.close();
  rmSync(dir, { recursive: true, force: true });
});

const workerPids = () => Object.values(cluster.workers ?? {}).map((w) => w?.process.pid);

test('two workers answer signed-in requests, on many connections', async () => {
  assert.equal(workerPids().length, 2);
  const agent = new Agent({ connections: 16 });
  try {
    const statuses = await Promise.all(
      Array.from({ length: 40 }, async (_, i) => {
        const res = await request(`${running.url}/api/${i}`, { dispatcher: agent, headers: { host: HOSTS.staff, cookie } });
        const echo = (await res.body.json()) as { headers: Record<string, string> };
        assert.equal(echo.headers['x-regentra-email']?.endsWith('@example.com'), true);
        return res.statusCode;
      }),
    );
    assert.deepEqual(new Set(statuses), new Set([200]));
  } finally {
    await agent.close();
  }
  const res = await request(`${running.url}/private`, { headers: { host: HOSTS.staff } });
  assert.equal(res.statusCode, 401);
  await res.body.dump();
});

test('the primary serves aggregated metrics and readiness', async () => {
  const metrics = await (await request(`${running.opsUrl}/metrics`)).body.text();
  const m = /regentra_proxied_requests_total\{site="staff",status_class="2xx"\} (\d+)/.exec(metrics);
  assert.ok(m && Number(m[1]) >= 40, metrics.slice(0, 500));
  const ready = await request(`${running.opsUrl}/readyz`);
  const body = (await ready.body.json()) as { checks: Record<string, string> };
  assert.equal(ready.statusCode, 200);
  assert.equal(body.checks.workers, 'ok');
  assert.throws(() => running.app, /worker processes/);
});

test('a reload reaches every worker', async () => {
  const r = await running.reload();
  assert.equal(r.ok, true, JSON.stringify(r));
  assert.equal(r.generation, 2);
});

test('a worker that dies is replaced', async () => {
  const [first] = workerPids();
  process.kill(first as number, 'SIGKILL');
  await eventually(() => workerPids().length === 2 && !workerPids().includes(first), 20_000, 'a replacement worker');
  const notReady = await request(`${running.opsUrl}/readyz`);
  assert.equal(notReady.statusCode, 503, 'not ready while a worker is missing');
  await notReady.body.dump();
  await eventually(
    async () => (await request(`${running.opsUrl}/readyz`).then(async (r) => (await r.body.dump(), r.statusCode))) === 200,
    20_000,
    'ready again',
  );
  const res = await request(`${running.url}/api/after`, { headers: { host: HOSTS.staff, cookie } });
  assert.equal(res.statusCode, 200);
  await res.body.dump();
});

test('stop() drains and stops every worker, exit code 0', async () => {
  await running.stop();
  assert.equal(await running.closed, 0, primaryLog.lines.join(''));
  assert.equal(workerPids().length, 0);
  await assert.rejects(request(`${running.url}/api/x`, { headers: { host: HOSTS.staff } }));
});

test('a worker that does not stop cleanly is named in the log, and the exit code is 1', async () => {
  const raw: RawConfig = baseRawConfig(staff.url, portal.url);
  raw.server.workers = 2;
  raw.store = { driver: 'sqlite', path: join(dir, 'second.db') };
  raw.log = { level: 'error' };
  const { config } = loadConfigObject(raw);
  const log = keptLog();
  const second = await serve(config, { installSignalHandlers: false, logDestination: log.destination });
  const [victim] = workerPids();
  const stopped = second.stop();
  // told to drain, it is killed before it can
  process.kill(victim as number, 'SIGKILL');
  await stopped;
  assert.equal(await second.closed, 1);
  const lines = log.lines.map((l) => JSON.parse(l) as { msg: string; worker?: number; signal?: string });
  const unclean = lines.filter((l) => l.msg === 'gateway worker did not stop cleanly');
  assert.deepEqual(
    unclean.map((l) => [l.worker, l.signal]),
    [[victim, 'SIGKILL']],
    log.lines.join(''),
  );
  assert.equal(workerPids().length, 0);
});

test('workers need a store they share: an in-memory SQLite database is refused', async () => {
  const raw: RawConfig = baseRawConfig(staff.url, portal.url);
  raw.server.workers = 2;
  const { config } = loadConfigObject(raw);
  await assert.rejects(
    serve(config, { installSignalHandlers: false, logDestination: quiet }),
    (err: unknown) => err instanceof ConfigError && /share/.test(err.message),
  );
});
