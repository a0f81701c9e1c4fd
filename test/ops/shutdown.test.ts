/**
 * Graceful shutdown of serve(): requests in flight when stop() is called all
 * complete, new connections are refused, and /readyz reports draining meanwhile.
 */
import { connect } from 'node:net';
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Agent, request } from 'undici';
import { baseRawConfig, HOSTS } from '../support/gateway.ts';
import { startUpstream, type Upstream } from '../support/upstream.ts';
import { eventually, startServed, type Served } from './harness.ts';

let staff: Upstream;
let portal: Upstream;
let served: Served;

before(async () => {
  staff = await startUpstream('staff-app');
  portal = await startUpstream('portal-app');
  served = await startServed(baseRawConfig(staff.url, portal.url));
});
after(async () => {
  await served.close();
  await staff.close();
  await portal.close();
});

/** can a new TCP connection be opened to `url`? */
function connects(url: string): Promise<boolean> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = connect(Number(port), hostname);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

test('stop() lets in-flight requests finish, refuses new connections and reports draining', async () => {
  const { running } = served;
  const cookie = await served.sessionCookie(HOSTS.staff);
  assert.equal((await served.ops('/readyz')).status, 200);

  // five requests on five connections, each held by the upstream until we let go
  staff.delayMs = 1_500;
  const agent = new Agent({ connections: 5, pipelining: 1 });
  const inFlight = Array.from({ length: 5 }, (_, i) =>
    request(`${running.url}/slow/${i}`, { dispatcher: agent, headers: { host: HOSTS.staff, cookie } }).then(async (res) => ({
      status: res.statusCode,
      body: (await res.body.json()) as { url: string },
    })),
  );
  await eventually(() => staff.received.filter((e) => e.url.startsWith('/slow/')).length === 5, 5_000, 'five requests at the upstream');

  const stopping = running.stop();
  let exitCode: number | null = null;
  void running.closed.then((code) => (exitCode = code));

  // while draining: readiness fails, new connections are refused
  const ready = await served.ops('/readyz');
  assert.equal(ready.status, 503);
  assert.equal((JSON.parse(ready.body) as { checks: Record<string, string> }).checks.shutdown, 'draining');
  assert.equal(await connects(running.url), false, 'a new connection was accepted during shutdown');
  assert.equal(exitCode, null, 'stopped before the requests finished');

  const results = await Promise.all(inFlight);
  assert.deepEqual(
    results.map((r) => r.status),
    [200, 200, 200, 200, 200],
  );
  assert.deepEqual(results.map((r) => r.body.url).sort(), ['/slow/0', '/slow/1', '/slow/2', '/slow/3', '/slow/4']);

  await stopping;
  assert.equal(await running.closed, 0);
  assert.equal(await connects(running.opsUrl), false, 'the ops listener is closed too');
  await agent.close();
  staff.delayMs = 0;
});
