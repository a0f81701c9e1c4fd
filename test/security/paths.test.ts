/**
 * Path normalisation, differentially: a generated corpus of hostile request targets
 * (`/%2e%2e/`, `//`, `/.auth%2f…`, `;` parameters plain and encoded, `#`/`%23`,
 * backslashes, mixed case, queries that look like paths) is sent raw, and for each:
 *
 * - the public-path and reserved-path decisions are made on exactly the path the
 *   upstream receives (the gateway's own normalised form);
 * - a request proxied without a session is public however the upstream reads the
 *   path it receives: WHATWG URL parsing, decode-then-resolve, `;`-parameter
 *   stripping before or after decoding (Tomcat, Spring), backslash as slash,
 *   decoding twice, Unicode compatibility normalisation (NFKC) after decoding;
 * - nothing under /.auth (in any spelling or reading) ever reaches an upstream;
 * - nothing is answered with a 5xx.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { normalizeTarget } from '../../src/routing/path.ts';
import { isPublicPath } from '../../src/routing/sites.ts';
import { HOSTS, startGateway, type TestGateway } from '../support/gateway.ts';
import { rawExchange } from './support.ts';

const STEMS = ['', '/assets', '/ASSETS', '/Assets', '/health', '/assets/x', '/.auth', '/.AUTH', '/private'];
const TRICKS = [
  '/..',
  '/../',
  '/%2e%2e/',
  '/%2E%2E/',
  '/.%2e/',
  '/%2e./',
  '/./',
  '//',
  '\\..\\',
  '\\',
  '/..\\',
  '/%5c..%5c',
  '/..;/',
  '/..;x=1/',
  ';/../',
  ';x/../',
  '/%2e%2e;/',
  '/..%3b/',
  '/..%3B/',
  '/%2e%2e%3b/',
  '/.%3b/',
  '/x%3b/../',
  '/..%2f',
  '%2f..%2f',
  '/.auth%2f',
  '%23/../',
  '#/../',
  '/%23/',
  '?/../',
  '?x=/../',
  '%3f/../',
  '/%252e%252e/',
  '/..%00/',
  '/..%20/',
  '/.. /',
  '/...//',
  '/.../',
  '/.auth/../',
  '/.AUTH/',
  '/.auth;x/',
  '/.auth%3bx/',
  '/%2eauth/',
  // read differently by upstreams that decode twice or apply Unicode compatibility normalisation (NFKC)
  '/..%252f',
  '/%25%32%65%25%32%65/',
  '/%EF%BC%8E%EF%BC%8E/',
  '/%E2%80%A5/',
  '/..%EF%BC%8F',
  '/..%E2%88%95',
  '/%EF%BC%8Eauth/',
];
const TAILS = ['private', 'me', '.auth/me', 'assets/x', 'health', ''];

function corpus(): string[] {
  const out = new Set<string>();
  for (const stem of STEMS) for (const trick of TRICKS) for (const tail of TAILS) out.add(`${stem}${trick}${tail}`);
  // targets that must start with "/"
  return [...out].filter((t) => t.startsWith('/'));
}

function safeDecode(p: string): string | null {
  try {
    return decodeURIComponent(p);
  } catch {
    return null;
  }
}

/** RFC 3986 remove_dot_segments, with empty segments merged (as most servers do) */
function resolve(p: string): string {
  const out: string[] = [];
  const segs = p.split('/');
  for (let i = 1; i < segs.length; i++) {
    const s = segs[i] as string;
    const last = i === segs.length - 1;
    if (s === '' && !last) continue;
    if (s === '.') {
      if (last) out.push('');
      continue;
    }
    if (s === '..') {
      out.pop();
      if (last) out.push('');
      continue;
    }
    out.push(s);
  }
  return `/${out.join('/')}`;
}

const stripParams = (p: string) =>
  p
    .split('/')
    .map((s) => s.split(';', 1)[0])
    .join('/');

/** how upstream servers may read the path they receive (null: they would refuse it) */
const READINGS: ReadonlyArray<readonly [string, (path: string) => string | null]> = [
  ['as received', (p) => p],
  [
    'WHATWG URL',
    (p) => {
      try {
        return safeDecode(new URL(p, 'http://upstream.invalid').pathname);
      } catch {
        return null;
      }
    },
  ],
  [
    'decode, then resolve',
    (p) => {
      const d = safeDecode(p);
      return d === null ? null : resolve(d.replaceAll('\\', '/'));
    },
  ],
  [
    'strip ;params, decode, resolve (Tomcat)',
    (p) => {
      const d = safeDecode(stripParams(p));
      return d === null ? null : resolve(d);
    },
  ],
  [
    'decode, strip ;params, resolve (Spring)',
    (p) => {
      const d = safeDecode(p);
      return d === null ? null : resolve(stripParams(d));
    },
  ],
  [
    'decode twice, resolve',
    (p) => {
      const d = safeDecode(p);
      const dd = d === null ? null : safeDecode(d);
      return dd === null ? null : resolve(dd.replaceAll('\\', '/'));
    },
  ],
  [
    'decode, NFKC, resolve',
    (p) => {
      const d = safeDecode(p);
      return d === null ? null : resolve(d.normalize('NFKC').replaceAll('\\', '/'));
    },
  ],
];

const isReservedReading = (p: string) => /^\/+\.auth(\/|;|$)/i.test(p);

describe('path decisions are made on the path the upstream receives', () => {
  let gw: TestGateway;
  let cookie: string;
  before(async () => {
    gw = await startGateway();
    cookie = await gw.sessionCookie(HOSTS.staff);
  });
  after(() => gw.close());

  let probe = 0;
  /** one raw request; what the upstream received for it (matched by a probe header, so that requests can overlap) */
  async function send(target: string, withSession: boolean) {
    const id = `p${++probe}`;
    const r = await rawExchange(
      gw.port,
      Buffer.from(
        `GET ${target} HTTP/1.1\r\nHost: ${HOSTS.staff}\r\nAccept: application/json\r\nX-Probe: ${id}\r\n${withSession ? `Cookie: ${cookie}\r\n` : ''}Connection: close\r\n\r\n`,
        'latin1',
      ),
      { waitMs: 500 },
    );
    const seen = gw.staffUpstream.received.filter((e) => e.headers['x-probe'] === id).map((e) => e.url);
    return { status: r.statuses[0] ?? 0, seen };
  }

  /** `send` for every target, eight at a time */
  async function sendAll(list: readonly string[], withSession: boolean) {
    const out = new Array<{ target: string; status: number; seen: string[] }>(list.length);
    let next = 0;
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        while (next < list.length) {
          const i = next++;
          const target = list[i] as string;
          out[i] = { target, ...(await send(target, withSession)) };
        }
      }),
    );
    return out;
  }

  const targets = corpus();

  test(`${targets.length} hostile targets without a session: proxied only when public under every reading`, async () => {
    const site = gw.core.sites.lookup(HOSTS.staff)!;
    const problems: string[] = [];
    let proxied = 0;
    for (const { target, status, seen } of await sendAll(targets, false)) {
      if (status >= 500 || status === 0) problems.push(`${target}: answered ${status}`);
      if (seen.length === 0) continue;
      proxied++;
      if (status !== 200) problems.push(`${target}: proxied but answered ${status}`);
      const n = normalizeTarget(target);
      const expected = n.ok ? (n.query ? `${n.path}?${n.query}` : n.path) : null;
      if (seen.length !== 1 || seen[0] !== expected)
        problems.push(`${target}: the upstream received ${JSON.stringify(seen)}, the gateway decided on ${expected}`);
      const path = (seen[0] as string).split('?', 1)[0] as string;
      if (!isPublicPath(site, path)) problems.push(`${target}: proxied without a session, but ${path} is not public`);
      for (const [name, read] of READINGS) {
        const r = read(path);
        if (r === null) continue;
        if (!isPublicPath(site, r)) problems.push(`${target}: proxied as public, but read "${name}" it is ${r}`);
        if (isReservedReading(r)) problems.push(`${target}: a reserved path reached the upstream (read "${name}": ${r})`);
      }
    }
    assert.deepEqual(problems, []);
    assert.ok(proxied > 50, `only ${proxied} targets were proxied: the corpus does not exercise public paths`);
  });

  test(`the same targets with a session: /.auth is never proxied, in any spelling or reading`, async () => {
    const problems: string[] = [];
    for (const { target, status, seen } of await sendAll(targets, true)) {
      if (status >= 500 || status === 0) problems.push(`${target}: answered ${status}`);
      const n = normalizeTarget(target);
      if (n.ok && isReservedReading(n.path) && seen.length > 0) problems.push(`${target}: ${n.path} is the gateway's, but was proxied`);
      for (const url of seen) {
        const path = url.split('?', 1)[0] as string;
        for (const [name, read] of READINGS) {
          const r = read(path);
          if (r !== null && isReservedReading(r)) problems.push(`${target}: the upstream received ${url}, read "${name}" as ${r}`);
        }
      }
    }
    assert.deepEqual(problems, []);
  });

  test('queries and fragments never decide: the path alone is public or not', async () => {
    // [target, the path decided on is public, what the upstream receives if it is proxied]
    const cases: ReadonlyArray<readonly [string, boolean, string | null]> = [
      ['/private?/assets/x', false, null],
      ['/private?x=/../assets/', false, null],
      ['/private#/assets/x', false, null],
      ['/private%23/../assets/x', true, '/assets/x'],
      ['/assets/x#/../../private', true, '/assets/x'],
      ['/assets/x?/../../private', true, '/assets/x?/../../private'],
      ['/assets?../private', true, '/assets?../private'],
      ['/health?../private', true, '/health?../private'],
      ['/health#x', true, '/health'],
      ['/health;x', false, null],
      ['/health/', false, null],
      ['/HEALTH', false, null],
      ['/ASSETS/x', false, null],
    ];
    for (const [target, isPublic, upstreamUrl] of cases) {
      const r = await send(target, false);
      if (!isPublic) {
        assert.equal(r.status, 401, target);
        assert.deepEqual(r.seen, [], target);
      } else {
        // proxied as decided; a proxy layer may still refuse dot-segments in the query (400), never more
        assert.ok(r.status === 200 || (r.status === 400 && target.includes('?')), `${target}: ${r.status}`);
        assert.deepEqual(r.seen, r.status === 200 ? [upstreamUrl] : [], target);
      }
    }
  });
});
