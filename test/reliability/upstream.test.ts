/**
 * Upstreams that misbehave at the TCP and HTTP level (test/proxy/upstream-failures
 * covers down and slow): connections reset before or after the request, closed
 * without an answer, answered with garbage, with headers too large or too many,
 * never answered, cut mid-body, and a flood of such requests at once. Each gets a
 * clear 502 or 504 (the gateway's page or JSON, nothing internal in it) or, once the
 * upstream's response has started, a cut connection — never a hang or a complete-
 * looking truncated answer. The other sites, and the same site afterwards, keep working.
 */
import { createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'undici';
import { HOSTS, startGateway, type TestGateway } from '../support/gateway.ts';

type Mode =
  | 'reset-on-connect'
  | 'reset-after-request'
  | 'close-silently'
  | 'garbage'
  | 'huge-header'
  | 'many-headers'
  | 'never-answer'
  | 'cut-mid-body'
  | 'bad-content-length'
  | 'http09'
  | 'ok';

const RESPONSE_MS = 800;

let mode: Mode = 'ok';
let evil: Server;
const sockets = new Set<Socket>();
let gw: TestGateway;
let cookie: string;

before(async () => {
  evil = createServer((s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => {});
    if (mode === 'reset-on-connect') return void s.resetAndDestroy();
    s.once('data', () => {
      switch (mode) {
        case 'reset-after-request':
          return void s.resetAndDestroy();
        case 'close-silently':
          return void s.end();
        case 'garbage':
          return void s.end('SSH-2.0-OpenSSH_9.6\r\n\r\n\u0000\u0001');
        case 'huge-header':
          return void s.end(`HTTP/1.1 200 OK\r\nX-Big: ${'a'.repeat(300_000)}\r\nContent-Length: 2\r\n\r\nok`);
        case 'many-headers':
          return void s.end(`HTTP/1.1 200 OK\r\n${Array.from({ length: 5_000 }, (_, i) => `X-H${i}: v\r\n`).join('')}Content-Length: 2\r\n\r\nok`);
        case 'never-answer':
          return;
        case 'cut-mid-body': {
          s.write('HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 100000\r\n\r\n' + 'x'.repeat(1000));
          setTimeout(() => s.resetAndDestroy(), 50);
          return;
        }
        case 'bad-content-length':
          return void s.end('HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 7\r\n\r\nhello');
        case 'http09':
          return void s.end('hello');
        default:
          return void s.end('HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nok');
      }
    });
  });
  await new Promise<void>((r) => evil.listen(0, '127.0.0.1', r));
  const port = (evil.address() as AddressInfo).port;
  gw = await startGateway({
    configure: (raw) => {
      const r = raw as { sites: { staff: Record<string, unknown> } };
      r.sites.staff.upstream = `http://127.0.0.1:${port}`;
      r.sites.staff.timeouts = { connectMs: 1_000, responseMs: RESPONSE_MS };
      return raw;
    },
  });
  cookie = await gw.sessionCookie(HOSTS.staff);
});
after(async () => {
  await gw.close();
  for (const s of sockets) s.destroy();
  await new Promise<void>((r) => evil.close(() => r()));
});

async function call(accept = 'application/json') {
  const started = performance.now();
  try {
    const res = await request(`${gw.url}/api/x`, { headers: { host: HOSTS.staff, cookie, accept }, headersTimeout: 10_000, bodyTimeout: 10_000 });
    const body = await res.body.text();
    return { status: res.statusCode, body, ms: performance.now() - started, error: null as string | null, headers: res.headers };
  } catch (err) {
    return { status: 0, body: '', ms: performance.now() - started, error: (err as Error).message, headers: {} };
  }
}

async function healthy(): Promise<void> {
  mode = 'ok';
  const own = await call();
  assert.equal(own.status, 200, 'the same site works again');
  const other = await gw.request(HOSTS.acme, '/assets/x');
  await other.body.dump();
  assert.equal(other.statusCode, 200, 'other sites are not affected');
}

describe('an upstream that misbehaves', () => {
  const cases: ReadonlyArray<readonly [Mode, number, string]> = [
    ['reset-on-connect', 502, 'upstream_down'],
    ['reset-after-request', 502, 'upstream_down'],
    ['close-silently', 502, 'upstream_down'],
    ['garbage', 502, 'upstream_down'],
    ['huge-header', 502, 'upstream_down'],
    ['many-headers', 502, 'upstream_down'],
    ['bad-content-length', 502, 'upstream_down'],
    ['http09', 502, 'upstream_down'],
    ['never-answer', 504, 'upstream_timeout'],
  ];
  for (const [m, status, code] of cases) {
    test(`${m}: ${status}, promptly, nothing internal in the answer; then healthy`, async () => {
      mode = m;
      const api = await call();
      assert.equal(api.status, status, `${m}: ${api.status} ${api.error ?? api.body.slice(0, 200)}`);
      assert.equal((JSON.parse(api.body) as { error: string }).error, code);
      assert.ok(api.ms < RESPONSE_MS + 1_500, `answered after ${Math.round(api.ms)} ms`);
      assert.doesNotMatch(api.body, /127\.0\.0\.1|ECONN|UND_ERR|HPE_|stack|at \w+ \(/);
      const page = await call('text/html');
      assert.equal(page.status, status);
      assert.match(page.body, /Reference: [0-9a-f-]{36}/);
      await healthy();
    });
  }

  test('cut mid-body: the client connection is cut, never a complete-looking answer', async () => {
    mode = 'cut-mid-body';
    const r = await call();
    assert.ok(r.error !== null || r.body.length < 100_000, 'the truncated body did not look complete');
    if (r.error === null) assert.notEqual(r.body.length, 100_000);
    await healthy();
  });

  test('a flood of requests to a resetting upstream: all answered 502 quickly, none hangs', async () => {
    mode = 'reset-after-request';
    const started = performance.now();
    const answers = await Promise.all(Array.from({ length: 60 }, () => call()));
    assert.deepEqual([...new Set(answers.map((a) => a.status))], [502], JSON.stringify(answers.find((a) => a.status !== 502)));
    assert.ok(performance.now() - started < 5_000, `took ${Math.round(performance.now() - started)} ms`);
    mode = 'never-answer';
    const slow = await Promise.all(Array.from({ length: 30 }, () => call()));
    assert.deepEqual([...new Set(slow.map((a) => a.status))], [504]);
    await healthy();
  });

  test('the failures are counted by kind', async () => {
    const text = await gw.core.metrics.registry.getSingleMetricAsString('regentra_upstream_errors_total');
    assert.match(text, /site="staff",kind="unavailable"\} [1-9]/);
    assert.match(text, /site="staff",kind="timeout"\} [1-9]/);
  });
});
