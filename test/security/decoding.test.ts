/**
 * Paths an upstream decodes differently from the gateway (issue #12 §6). The gateway
 * decodes a path once and never applies Unicode normalisation; an upstream that decodes
 * twice reads `/assets/%252e%252e/secret` as `/secret`, and one that applies NFKC reads
 * `/assets/%EF%BC%8E%EF%BC%8E/secret` (full-width dots) as `/secret` too. Such paths are
 * refused with 400 (page for people, JSON for APIs) on public prefixes and protected paths,
 * with and without a session, and never reach the upstream; a site with
 * `ambiguousPaths: allow` forwards them byte for byte. Ordinary non-ASCII paths pass.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { HOSTS, requestTarget, startGateway, type TestGateway } from '../support/gateway.ts';
import type { Echo } from '../support/upstream.ts';

/** [label, path segment standing for ".." or "../"] */
const VARIANTS: ReadonlyArray<readonly [string, string]> = [
  ['double-encoded dots', '%252e%252e'],
  ['double-encoded dots, upper case', '%252E%252E'],
  ['double-encoded slashes', '..%252f..%252f'],
  ['double-encoded backslash', '..%255c..%255c'],
  ['triple-encoded dot', '%25252e%25252e'],
  ['double encoding spelled with unreserved escapes (%25%32%65)', '%25%32%65%25%32%65'],
  ['full-width dots U+FF0E', '%EF%BC%8E%EF%BC%8E'],
  ['full-width dots, lower-case escapes', '%ef%bc%8e%ef%bc%8e'],
  ['two-dot leader U+2025', '%E2%80%A5'],
  ['one-dot leaders U+2024', '%E2%80%A4%E2%80%A4'],
  ['small full stops U+FE52', '%EF%B9%92%EF%B9%92'],
  ['ellipsis U+2026', '%E2%80%A6'],
  ['full-width slash U+FF0F', '..%EF%BC%8F..%EF%BC%8F'],
  ['division slash U+2215', '..%E2%88%95..%E2%88%95'],
  ['fraction slash U+2044', '..%E2%81%84..%E2%81%84'],
  ['big solidus U+29F8', '..%E2%A7%B8..%E2%A7%B8'],
  ['full-width reverse solidus U+FF3C', '..%EF%BC%BC..%EF%BC%BC'],
  ['full-width percent U+FF05 (an escape after NFKC)', '%EF%BC%852e%EF%BC%852e'],
];

const protectedPath = (v: string) => `/app/${v}/secret`;
const publicPath = (v: string) => `/assets/${v}/secret`;

describe('paths that decode differently upstream are refused (issue #12 §6)', () => {
  let gw: TestGateway;
  let cookie: string;
  before(async () => {
    gw = await startGateway();
    cookie = await gw.sessionCookie(HOSTS.staff);
  });
  after(() => gw.close());

  for (const [label, v] of VARIANTS) {
    test(`${label}: 400 on a public prefix and a protected path, with and without a session; never proxied`, async () => {
      for (const target of [publicPath(v), protectedPath(v)]) {
        for (const withSession of [false, true]) {
          const before = gw.staffUpstream.received.length;
          const res = await requestTarget(gw.port, HOSTS.staff, target, { headers: { accept: 'application/json', ...(withSession ? { cookie } : {}) } });
          const what = `${target} ${withSession ? 'with' : 'without'} a session`;
          assert.equal(res.status, 400, `${what}: ${res.status} ${res.body}`);
          assert.equal((JSON.parse(res.body) as { error: string }).error, 'bad_path', what);
          assert.equal(gw.staffUpstream.received.length, before, `${what} reached the upstream`);
        }
      }
    });
  }

  test('people get the usual error page', async () => {
    const res = await requestTarget(gw.port, HOSTS.staff, publicPath('%EF%BC%8E%EF%BC%8E'), { headers: { accept: 'text/html' } });
    assert.equal(res.status, 400);
    assert.match(String(res.headers['content-type']), /text\/html/);
    assert.match(res.body, /Bad request/);
    assert.match(res.body, /U\+FF0E/);
    assert.ok(res.body.includes(`Reference: ${res.headers['x-request-id']}`));
  });

  test('on a portal host too, and for WebSocket upgrades', async () => {
    const before = gw.portalUpstream.received.length;
    const res = await requestTarget(gw.port, HOSTS.acme, publicPath('%252e%252e'), { headers: { accept: 'application/json' } });
    assert.equal(res.status, 400);
    const ws = await requestTarget(gw.port, HOSTS.staff, publicPath('%252e%252e'), {
      headers: { cookie, connection: 'Upgrade', upgrade: 'websocket', 'sec-websocket-version': '13', 'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==' },
    });
    assert.equal(ws.status, 400);
    assert.equal(gw.portalUpstream.received.length, before);
    assert.equal(gw.staffUpstream.upgrades.length, 0);
  });

  const normal: ReadonlyArray<readonly [string, string]> = [
    ['/kb/caf%C3%A9', '/kb/caf%C3%A9'],
    ['/kb/caf%c3%a9', '/kb/caf%C3%A9'],
    ['/assets/%E2%82%AC.txt', '/assets/%E2%82%AC.txt'],
    ['/kb/%E6%97%A5%E6%9C%AC', '/kb/%E6%97%A5%E6%9C%AC'],
    ['/kb/100%25', '/kb/100%25'],
    ['/kb/100%25-sure', '/kb/100%25-sure'],
    ['/kb/a.b/c', '/kb/a.b/c'],
  ];
  for (const [target, seen] of normal) {
    test(`${target} still passes (the upstream receives ${seen})`, async () => {
      const res = await requestTarget(gw.port, HOSTS.staff, target, { headers: { cookie } });
      assert.equal(res.status, 200, res.body);
      assert.equal((JSON.parse(res.body) as Echo).url, seen);
    });
  }
});

describe('a site that allows them (ambiguousPaths: allow) forwards them as received', () => {
  let gw: TestGateway;
  let cookie: string;
  before(async () => {
    gw = await startGateway({
      configure(raw) {
        (raw.sites as { staff: Record<string, unknown> }).staff.ambiguousPaths = 'allow';
        return raw;
      },
    });
    cookie = await gw.sessionCookie(HOSTS.staff);
  });
  after(() => gw.close());

  // the gateway's own spelling differs for these two (escapes upper-cased, `%32` → `2`): see below
  const respelled = new Map([
    ['%ef%bc%8e%ef%bc%8e', '%EF%BC%8E%EF%BC%8E'],
    ['%25%32%65%25%32%65', '%252e%252e'],
  ]);
  for (const [label, v] of VARIANTS) {
    const seen = respelled.get(v) ?? v;
    test(`${label}: public without a session, protected with one; the upstream receives ${seen === v ? 'exactly the bytes' : seen}`, async () => {
      const pub = await requestTarget(gw.port, HOSTS.staff, publicPath(v));
      assert.equal(pub.status, 200, pub.body);
      assert.equal((JSON.parse(pub.body) as Echo).url, publicPath(seen));
      const prot = await requestTarget(gw.port, HOSTS.staff, protectedPath(v), { headers: { cookie } });
      assert.equal(prot.status, 200, prot.body);
      assert.equal((JSON.parse(prot.body) as Echo).url, protectedPath(seen));
    });
  }

  test('a protected path still needs a session', async () => {
    const before = gw.staffUpstream.received.length;
    const res = await requestTarget(gw.port, HOSTS.staff, protectedPath('%252e%252e'), { headers: { accept: 'application/json' } });
    assert.equal(res.status, 401);
    assert.equal(gw.staffUpstream.received.length, before);
  });

  test('the other sites keep refusing', async () => {
    const res = await requestTarget(gw.port, HOSTS.acme, publicPath('%252e%252e'), { headers: { accept: 'application/json' } });
    assert.equal(res.status, 400);
  });
});
