/**
 * The proxy's timeouts (src/proxy/forward.ts keeps its own, one timer per request):
 * `timeouts.responseMs` bounds the wait for the upstream's response headers after the
 * request was sent, and any stall of the upstream between body chunks; progress resets
 * it (an upload that keeps moving, a body that keeps dripping), and a client that reads
 * slowly is never blamed on the upstream.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { HOSTS, startGateway, type TestGateway, type RawConfig } from '../support/gateway.ts';
import { TICK_MS, watched } from '../../src/proxy/deadlines.ts';

type Raw = RawConfig;

const RESPONSE_MS = 400;
const BIG = 8 * 1024 * 1024;

/** an upstream with one route per behaviour */
function upstreamApp(req: IncomingMessage, res: ServerResponse): void {
  const path = (req.url ?? '/').split('?')[0];
  if (path === '/stall-body') {
    // headers and a first chunk, then nothing, with the connection left open
    res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '1000' });
    res.write('x'.repeat(100));
    return;
  }
  if (path === '/drip') {
    // six chunks, each well inside the timeout, three timeouts in all
    res.writeHead(200, { 'content-type': 'text/plain' });
    let n = 0;
    const timer = setInterval(() => {
      res.write(`chunk ${n}\n`);
      if (++n === 6) {
        clearInterval(timer);
        res.end();
      }
    }, RESPONSE_MS / 2);
    return;
  }
  if (path === '/big') {
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(BIG) });
    res.end(Buffer.alloc(BIG, 7));
    return;
  }
  if (path === '/upload-then-wait') {
    // reads the whole body, then takes longer than the timeout to answer
    req.resume();
    req.on('end', () => setTimeout(() => res.end('late'), RESPONSE_MS * 3).unref());
    return;
  }
  if (path === '/upload') {
    // answers once the whole body has arrived, with its length
    let bytes = 0;
    req.on('data', (c: Buffer) => (bytes += c.length));
    req.on('end', () => res.end(JSON.stringify({ bytes })));
    return;
  }
  res.writeHead(404).end();
}

async function listen(server: Server): Promise<string> {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

describe('proxy timeouts (timeouts.responseMs)', () => {
  let gw: TestGateway;
  let upstream: Server;
  let cookie: string;
  before(async () => {
    upstream = createServer(upstreamApp);
    const url = await listen(upstream);
    gw = await startGateway({
      configure: (r: Raw) => {
        r.sites.staff.upstream = url;
        r.sites.staff.timeouts = { connectMs: 1_000, responseMs: RESPONSE_MS };
        return r;
      },
    });
    cookie = await gw.sessionCookie(HOSTS.staff);
  });
  after(async () => {
    await gw.close();
    upstream.closeAllConnections();
    await new Promise<void>((r) => upstream.close(() => r()));
  });

  test('an upstream that stalls mid-body for longer than the timeout: the client connection is cut, not left hanging', async () => {
    const started = performance.now();
    const res = await gw.request(HOSTS.staff, '/stall-body', { cookie });
    assert.equal(res.statusCode, 200);
    await assert.rejects(res.body.text(), 'a truncated body must end in an error, never look complete');
    const elapsed = performance.now() - started;
    assert.ok(elapsed >= RESPONSE_MS * 0.9, `cut after ${elapsed.toFixed(0)} ms: not before the timeout`);
    assert.ok(elapsed < RESPONSE_MS + 2_000, `cut after ${elapsed.toFixed(0)} ms: promptly after the timeout`);
  });

  test('a body that keeps coming, in gaps shorter than the timeout, is relayed whole however long it takes', async () => {
    const started = performance.now();
    const res = await gw.request(HOSTS.staff, '/drip', { cookie });
    assert.equal(res.statusCode, 200);
    const text = await res.body.text();
    assert.equal(text, [0, 1, 2, 3, 4, 5].map((n) => `chunk ${n}\n`).join(''));
    assert.ok(performance.now() - started > RESPONSE_MS * 2, 'the whole exchange took longer than the timeout');
  });

  test('a client that stops reading for longer than the timeout is not cut off: the upstream waits for it', async () => {
    const res = await gw.request(HOSTS.staff, '/big', { cookie, highWaterMark: 16 * 1024 });
    assert.equal(res.statusCode, 200);
    const chunks: Buffer[] = [];
    let received = 0;
    let paused = false;
    for await (const chunk of res.body) {
      chunks.push(chunk as Buffer);
      received += (chunk as Buffer).length;
      if (!paused && received > 64 * 1024) {
        // the gateway's buffer and the sockets fill up; the upstream is held back
        paused = true;
        await sleep(RESPONSE_MS * 3);
      }
    }
    const body = Buffer.concat(chunks);
    assert.equal(body.length, BIG);
    assert.ok(body.every((b) => b === 7));
  });

  /** POST `pieces` KB to `path`, one every half timeout (an upload that keeps moving); the response and how long it took */
  async function slowUpload(path: string, pieces: number): Promise<{ res: Awaited<ReturnType<TestGateway['request']>>; elapsed: number }> {
    async function* slowBody() {
      for (let i = 0; i < pieces; i++) {
        yield Buffer.alloc(1024, 1);
        await sleep(RESPONSE_MS / 2);
      }
    }
    const started = performance.now();
    const res = await gw.request(HOSTS.staff, path, {
      cookie,
      method: 'POST',
      body: Readable.from(slowBody()),
      headers: { 'content-type': 'application/octet-stream', accept: 'application/json' },
    });
    return { res, elapsed: performance.now() - started };
  }

  test('an upload that keeps moving, taking longer than the timeout, is answered; the wait for the answer starts when it ends', async () => {
    const pieces = 6;
    const { res, elapsed } = await slowUpload('/upload', pieces);
    assert.equal(res.statusCode, 200);
    assert.deepEqual(await res.body.json(), { bytes: pieces * 1024 });
    assert.ok(elapsed > RESPONSE_MS * 2, 'the upload took longer than the timeout');
  });

  test('an upload that stops moving for longer than the timeout: 504, the upstream is not waited on for ever', async () => {
    let resume: () => void = () => {};
    async function* stalledBody() {
      yield Buffer.alloc(1024, 1);
      // the client goes quiet (for longer than the timeout: resumed after the answer, or at the latest after 4 timeouts)
      await new Promise<void>((r) => {
        resume = r;
        setTimeout(r, RESPONSE_MS * 4).unref();
      });
      yield Buffer.alloc(1024, 1);
    }
    const started = performance.now();
    const res = await gw.request(HOSTS.staff, '/upload', {
      cookie,
      method: 'POST',
      body: Readable.from(stalledBody()),
      headers: { 'content-type': 'application/octet-stream', accept: 'application/json' },
    });
    const elapsed = performance.now() - started;
    resume();
    assert.equal(res.statusCode, 504);
    await res.body.dump();
    assert.ok(elapsed >= RESPONSE_MS && elapsed < RESPONSE_MS + TICK_MS * 5, `answered after ${Math.round(elapsed)} ms`);
  });

  test('an upload that ends, then an upstream slower than the timeout: 504, counted from the end of the upload', async () => {
    const pieces = 4;
    const { res, elapsed } = await slowUpload('/upload-then-wait', pieces);
    assert.equal(res.statusCode, 504);
    await res.body.dump();
    // the upload alone took (pieces - 1) half-timeouts; then one whole timeout of waiting for the answer
    assert.ok(elapsed >= RESPONSE_MS * ((pieces - 1) / 2 + 1), `answered after ${Math.round(elapsed)} ms`);
    assert.ok(elapsed < RESPONSE_MS * (pieces / 2 + 1) + TICK_MS * 5, `answered after ${Math.round(elapsed)} ms`);
  });

  test('afterwards the gateway serves normally, and no ended exchange is still watched', async () => {
    const res = await gw.request(HOSTS.staff, '/upload', { cookie, method: 'POST', body: 'abc' });
    assert.equal(res.statusCode, 200);
    assert.deepEqual(await res.body.json(), { bytes: 3 });
    assert.equal(watched(), 0, 'every exchange left the deadline list when it ended');
  });

  test('many concurrent exchanges, some timing out: each ends on time and leaves the list', async () => {
    const started = performance.now();
    const outcomes = await Promise.all(
      Array.from({ length: 40 }, async (_, i) => {
        const res = await gw.request(HOSTS.staff, i % 2 === 0 ? '/stall-body' : '/drip', { cookie });
        return res.body.text().then(
          () => 'whole',
          () => 'cut',
        );
      }),
    );
    assert.deepEqual(
      outcomes.filter((o, i) => (i % 2 === 0 ? o !== 'cut' : o !== 'whole')),
      [],
      'stalls cut, drips whole',
    );
    assert.ok(performance.now() - started < RESPONSE_MS * 3 + TICK_MS + 2_000);
    assert.equal(watched(), 0);
  });
});
