/**
 * Large bodies stream through the gateway in both directions: a 100 MB upload and
 * a 100 MB download leave the memory of this process (gateway, upstream and client
 * all run in it) far below 100 MB of growth.
 */
import { Readable } from 'node:stream';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { HOSTS, startGateway, type TestGateway } from '../support/gateway.ts';
import type { Echo } from '../support/upstream.ts';

const SIZE = 100 * 1024 * 1024;
const CHUNK = 64 * 1024;
// this process holds the client, the gateway and the upstream: the chunks in flight and the
// socket buffers of all three count (measured 30-49 MB while streaming); a buffered 100 MB body
// would be 100 MB and more
const LIMIT = 64 * 1024 * 1024;

// a full GC before each sample, so that what is measured is what is still referenced
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/** Track the peak live memory (heap + buffers, after a GC) and RSS above the values when started. */
function memoryWatch() {
  gc();
  const base = process.memoryUsage();
  let rss = 0;
  let heap = 0;
  const sample = () => {
    gc();
    const m = process.memoryUsage();
    rss = Math.max(rss, m.rss - base.rss);
    heap = Math.max(heap, m.heapUsed + m.arrayBuffers - base.heapUsed - base.arrayBuffers);
  };
  const timer = setInterval(sample, 50);
  return {
    sample,
    stop() {
      clearInterval(timer);
      sample();
      return { rss, heap };
    },
  };
}

/** `size` bytes (default SIZE) in CHUNK pieces, produced on demand */
function body(size = SIZE): Readable {
  const chunk = Buffer.alloc(CHUNK, 120);
  let left = size;
  return new Readable({
    read() {
      if (left <= 0) return void this.push(null);
      const n = Math.min(left, CHUNK);
      left -= n;
      this.push(n === CHUNK ? chunk : chunk.subarray(0, n));
    },
  });
}

const mb = (n: number) => `${(n / 1024 / 1024).toFixed(1)} MB`;

describe('streaming', () => {
  let gw: TestGateway;
  before(async () => {
    gw = await startGateway();
    // warm up every code path once so that lazy allocations are not counted
    const cookie = await gw.sessionCookie(HOSTS.staff);
    const res = await gw.request(HOSTS.staff, '/big?bytes=1000000', { cookie });
    await res.body.dump();
    // and the upload path (socket buffers, malloc arenas and JIT code grow once, on first use)
    const up = await gw.request(HOSTS.staff, '/upload', {
      method: 'PUT',
      cookie,
      body: body(16 * 1024 * 1024),
      headers: { 'content-type': 'application/octet-stream' },
    });
    await up.body.dump();
  });
  after(() => gw.close());

  test('a 100 MB upload streams through to the upstream', async () => {
    const cookie = await gw.sessionCookie(HOSTS.staff);
    const watch = memoryWatch();
    const res = await gw.request(HOSTS.staff, '/upload', { method: 'PUT', cookie, body: body(), headers: { 'content-type': 'application/octet-stream' } });
    const echo = (await res.body.json()) as Echo;
    const growth = watch.stop();
    assert.equal(res.statusCode, 200);
    assert.equal(echo.bodyBytes, SIZE);
    assert.ok(growth.rss < LIMIT, `RSS grew by ${mb(growth.rss)}`);
    assert.ok(growth.heap < LIMIT, `heap grew by ${mb(growth.heap)}`);
  });

  test('a 100 MB upload with a Content-Length streams through too', async () => {
    const cookie = await gw.sessionCookie(HOSTS.staff);
    const watch = memoryWatch();
    const res = await gw.request(HOSTS.staff, '/upload', {
      method: 'POST',
      cookie,
      body: body(),
      headers: { 'content-length': String(SIZE), 'content-type': 'application/json' },
    });
    const echo = (await res.body.json()) as Echo;
    const growth = watch.stop();
    assert.equal(res.statusCode, 200);
    assert.equal(echo.bodyBytes, SIZE);
    assert.equal(echo.headers['content-length'], String(SIZE));
    assert.ok(growth.rss < LIMIT, `RSS grew by ${mb(growth.rss)}`);
  });

  test('a 100 MB download streams through to the client', async () => {
    const cookie = await gw.sessionCookie(HOSTS.staff);
    const watch = memoryWatch();
    const res = await gw.request(HOSTS.staff, `/big?bytes=${SIZE}`, { cookie });
    assert.equal(res.statusCode, 200);
    assert.equal(res.headers['content-length'], String(SIZE));
    let received = 0;
    for await (const chunk of res.body) {
      received += (chunk as Buffer).length;
    }
    const growth = watch.stop();
    assert.equal(received, SIZE);
    assert.ok(growth.rss < LIMIT, `RSS grew by ${mb(growth.rss)}`);
    assert.ok(growth.heap < LIMIT, `heap grew by ${mb(growth.heap)}`);
  });

  test('a slow reader does not make the gateway buffer the download', async () => {
    const cookie = await gw.sessionCookie(HOSTS.staff);
    const res = await gw.request(HOSTS.staff, `/big?bytes=${SIZE}`, { cookie });
    const watch = memoryWatch();
    let received = 0;
    for await (const chunk of res.body) {
      received += (chunk as Buffer).length;
      // read a little, then pause: back-pressure must reach the upstream
      if (received < 8 * 1024 * 1024) await new Promise((r) => setImmediate(r));
    }
    const growth = watch.stop();
    assert.equal(received, SIZE);
    assert.ok(growth.rss < LIMIT, `RSS grew by ${mb(growth.rss)}`);
  });
});
