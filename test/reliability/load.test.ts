/**
 * Sustained load of authenticated requests: zero errors, and flat memory. The gateway
 * runs in a process of its own (so its heap is measured alone, after a full GC) in
 * front of a minimal upstream; many signed-in users (revocation re-checked every
 * second, identity JWTs renewed as they age) send keep-alive requests from many
 * connections. CI sends 20 000 requests; SOAK=1 sends 1 000 000.
 *
 * Memory: the heap after a warm-up, at half-way and at the end. A leak of a kilobyte
 * per request would add ~18 MB in CI (a gigabyte in the soak); the bound is 12 MB in CI
 * (the caches fill during the first half) and 24 MB over a soak run.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Pool } from 'undici';
import { iterations } from '../security/support.ts';

const TOTAL = iterations(20_000, 1_000_000);
const WARMUP = iterations(3_000, 50_000);
const CONNECTIONS = 16;
const USERS = 200;

interface Ready {
  url: string;
  host: string;
  cookies: string[];
}

let child: ChildProcess;
let ready: Ready;
let upstream: Server;
const seenByUpstream = { total: 0, withIdentity: 0, forged: 0 };

before(async () => {
  // the smallest upstream that answers and counts (no per-request memory of its own)
  upstream = createServer((req, res) => {
    seenByUpstream.total++;
    if (typeof req.headers['x-regentra-identity'] === 'string') seenByUpstream.withIdentity++;
    if (String(req.headers['x-regentra-email'] ?? '').includes('forged')) seenByUpstream.forged++;
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '2' });
      res.end('ok');
    });
  });
  upstream.keepAliveTimeout = 60_000;
  await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
  const upstreamUrl = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`;
  child = fork(fileURLToPath(new URL('./children/gateway.ts', import.meta.url)), [upstreamUrl, String(USERS)], {
    execArgv: ['--expose-gc'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  ready = await new Promise<Ready>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`the gateway process exited (${code})`)));
    child.once('message', (m: { ready?: Ready }) => (m.ready ? resolve(m.ready) : reject(new Error(JSON.stringify(m)))));
  });
});
after(async () => {
  if (child.exitCode === null) {
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    await exited;
  }
  upstream.closeAllConnections();
  await new Promise<void>((r) => upstream.close(() => r()));
});

let heapId = 0;
function heap(): Promise<{ used: number; rss: number; gc: boolean }> {
  const id = ++heapId;
  return new Promise((resolve) => {
    const on = (m: { heap?: number; used: number; rss: number; gc: boolean }) => {
      if (m.heap !== id) return;
      child.off('message', on);
      resolve(m);
    };
    child.on('message', on);
    child.send({ heap: id });
  });
}

/** send `count` requests over CONNECTIONS keep-alive connections; every answer must be the expected one */
async function load(pool: Pool, count: number, failures: string[]): Promise<number> {
  let next = 0;
  let done = 0;
  await Promise.all(
    Array.from({ length: CONNECTIONS }, async () => {
      while (next < count) {
        const i = next++;
        const publicPath = i % 10 === 9;
        const cookie = ready.cookies[i % ready.cookies.length] as string;
        try {
          const res = await pool.request({
            path: publicPath ? `/assets/app.js?i=${i}` : `/api/items/${i % 97}?page=${i % 7}`,
            method: i % 5 === 4 ? 'POST' : 'GET',
            headers: {
              host: ready.host,
              cookie,
              accept: 'application/json',
              'x-regentra-email': 'forged@evil.test',
              ...(i % 5 === 4 ? { 'content-type': 'application/json' } : {}),
            },
            ...(i % 5 === 4 ? { body: JSON.stringify({ i }) } : {}),
          });
          const body = await res.body.text();
          if (res.statusCode !== 200 || body !== 'ok') failures.push(`#${i}: ${res.statusCode} ${body.slice(0, 100)}`);
        } catch (err) {
          failures.push(`#${i}: ${(err as Error).message}`);
        }
        done++;
      }
    }),
  );
  return done;
}

test(`${TOTAL} authenticated requests: no error, flat memory`, async (t) => {
  const pool = new Pool(ready.url, { connections: CONNECTIONS, pipelining: 1, keepAliveTimeout: 60_000 });
  const failures: string[] = [];
  try {
    await load(pool, WARMUP, failures);
    const start = await heap();
    assert.ok(start.gc, 'the gateway process can collect garbage on demand');
    const half = Math.floor((TOTAL - WARMUP) / 2);
    const t0 = performance.now();
    await load(pool, half, failures);
    const middle = await heap();
    await load(pool, TOTAL - WARMUP - half, failures);
    const seconds = (performance.now() - t0) / 1000;
    const end = await heap();
    const mb = (n: number) => (n / 1024 / 1024).toFixed(1);
    t.diagnostic(
      `${TOTAL} requests, ${((TOTAL - WARMUP) / seconds).toFixed(0)}/s after warm-up; heap ${mb(start.used)} → ${mb(middle.used)} → ${mb(end.used)} MB; rss ${mb(start.rss)} → ${mb(end.rss)} MB`,
    );

    assert.deepEqual(failures.slice(0, 10), [], `${failures.length} failed requests`);
    assert.equal(seenByUpstream.total, TOTAL, 'every request reached the upstream once');
    assert.equal(seenByUpstream.withIdentity, TOTAL - Math.floor((TOTAL + 1) / 10), 'every protected request carried the identity');
    assert.equal(seenByUpstream.forged, 0, 'no forged identity');
    const bound = SOAK_BOUND_MB * 1024 * 1024;
    assert.ok(end.used - start.used < bound, `the heap grew by ${mb(end.used - start.used)} MB (bound ${SOAK_BOUND_MB} MB)`);
    assert.ok(end.used - middle.used < bound / 2, `the heap grew by ${mb(end.used - middle.used)} MB over the second half`);
  } finally {
    await pool.close();
  }
});

const SOAK_BOUND_MB = iterations(12, 24);
