/**
 * The library patches (src/util/library-patches.ts) against the libraries installed: the
 * versions they were written for, and that each patch still wraps what the library calls.
 * A dependency update fails here, with the patch to review named, before it can silently
 * bypass a cache or leave tunnels open on close.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import Fastify from 'fastify';
import secureSession from '@fastify/secure-session';
import { Histogram } from 'prom-client';
import {
  addHistogramObservations,
  addUndiciHeaderNames,
  LibraryPatchError,
  PATCHED_VERSIONS,
  patchDecodeSecureSession,
  patchParseCookie,
  patchServerClose,
} from '../../src/util/library-patches.ts';

const ROOT = join(import.meta.dirname, '..', '..');
const require = createRequire(join(ROOT, 'package.json'));

function installedVersion(name: string): string {
  // @fastify/cookie is secure-session's dependency: resolved from there
  const from = name === '@fastify/cookie' ? createRequire(require.resolve('@fastify/secure-session')) : require;
  const pkg = JSON.parse(readFileSync(from.resolve(`${name}/package.json`), 'utf8')) as { version: string };
  return pkg.version;
}

test('the installed libraries are the versions the patches were written for', () => {
  for (const [name, version] of Object.entries(PATCHED_VERSIONS)) {
    assert.equal(installedVersion(name), version, `${name} changed: review its patch in src/util/library-patches.ts, then update PATCHED_VERSIONS`);
  }
  const manifest = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
  assert.equal(manifest.dependencies.fastify, PATCHED_VERSIONS.fastify, 'package.json pins fastify exactly');
  assert.equal(manifest.dependencies['@fastify/secure-session'], PATCHED_VERSIONS['@fastify/secure-session']);
});

const KEY = Buffer.alloc(32, 7);

async function appWithSession() {
  const app = Fastify();
  await app.register(secureSession, { key: KEY, cookieName: 's', cookie: { path: '/' } });
  app.get('/set', (request) => {
    request.session.set('h', { realm: 'staff', host: 'a.test', hint: 'ada' });
    return 'ok';
  });
  app.get('/read', (request) => ({ who: request.session.get('h')?.hint ?? null, cookies: request.cookies }));
  await app.ready();
  return app;
}

test('decodeSecureSession: secure-session opens every request’s cookie (or its absence) through the wrapper, by session name', async () => {
  const app = await appWithSession();
  const calls: string[] = [];
  patchDecodeSecureSession(app, (open) => (cookie, log, name) => {
    calls.push(`${typeof cookie === 'string' ? 'cookie' : 'none'} ${name}`);
    return open(cookie, log, name);
  });
  const set = await app.inject({ url: '/set' });
  const cookie = String(set.headers['set-cookie']).split(';')[0] as string;
  const read = await app.inject({ url: '/read', headers: { cookie } });
  assert.equal(read.json<{ who: string }>().who, 'ada', 'the wrapped decoder still opens the cookie');
  assert.deepEqual(calls, ['none session', 'cookie session']);
  await app.close();
});

test('parseCookie: the wrapper parses every request’s Cookie header', async () => {
  const app = await appWithSession();
  const headers: string[] = [];
  assert.equal(
    patchParseCookie(app, (parse) => (header) => {
      headers.push(header);
      return parse(header);
    }),
    true,
  );
  const read = await app.inject({ url: '/read', headers: { cookie: 'a=1; b=x%20y' } });
  assert.deepEqual(read.json<{ cookies: unknown }>().cookies, { a: '1', b: 'x y' });
  assert.deepEqual(headers, ['a=1; b=x%20y']);
  await app.close();
});

test('server.close: the patch runs first, then node:http closes and calls back', async () => {
  const server = createServer((_req, res) => res.end());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const order: string[] = [];
  patchServerClose(server, () => order.push('tunnels closed'));
  await new Promise<void>((resolve) =>
    server.close(() => {
      order.push('closed');
      resolve();
    }),
  );
  assert.deepEqual(order, ['tunnels closed', 'closed']);
  assert.equal(server.listening, false);
});

test('a library that moved a patched function fails the patch with LIBRARY_CHANGED, naming it', () => {
  const bare = Fastify();
  assert.throws(
    () => patchDecodeSecureSession(bare, (open) => open),
    (err: unknown) => err instanceof LibraryPatchError && err.code === 'LIBRARY_CHANGED' && /decodeSecureSession/.test(err.message),
  );
  assert.equal(
    patchParseCookie(bare, (parse) => parse),
    false,
    'no cookie plugin: nothing to patch',
  );
  const server = createServer();
  Object.defineProperty(server, 'close', { value: undefined });
  assert.throws(() => patchServerClose(server, () => {}), { code: 'LIBRARY_CHANGED' });
});

test('addHistogramObservations: folding tallies gives the exposition that as many observe() calls give', async () => {
  const buckets = [0.001, 0.01, 0.1, 1];
  const observed = new Histogram({ name: 'h', help: 'h', labelNames: ['site'], buckets, registers: [] });
  const folded = new Histogram({ name: 'h', help: 'h', labelNames: ['site'], buckets, registers: [] });
  const values = { staff: [0.0005, 0.001, 0.004, 0.2, 0.9, 7], portal: [0.05] };
  for (const [site, list] of Object.entries(values)) for (const v of list) observed.observe({ site }, v);
  // the same as tallies: per bucket, then sum and count (7 is above the last bound: only in the count)
  addHistogramObservations(folded, { site: 'staff' }, [2, 1, 0, 2], 0.0005 + 0.001 + 0.004 + 0.2 + 0.9 + 7, 6);
  addHistogramObservations(folded, { site: 'portal' }, [0, 0, 1, 0], 0.05, 1);
  assert.deepEqual(await folded.get(), await observed.get());
  // a second fold adds to the first
  observed.observe({ site: 'portal' }, 0.5);
  addHistogramObservations(folded, { site: 'portal' }, [0, 0, 0, 1], 0.5, 1);
  assert.deepEqual(await folded.get(), await observed.get());
  // a histogram without prom-client's internals is refused, not silently skipped
  assert.throws(
    () => addHistogramObservations({} as unknown as typeof folded, { site: 'x' }, [1], 1, 1),
    (err: unknown) => err instanceof LibraryPatchError && err.code === 'LIBRARY_CHANGED',
  );
});

test('addUndiciHeaderNames: the gateway’s added names are in the table undici’s Request reads; other names are still checked', async () => {
  // importing the proxy's header code enters the names (src/proxy/headers.ts)
  const { identityHeaders } = await import('../../src/proxy/headers.ts');
  const { HEADERS } = await import('../../src/identity/headers.ts');
  const table = (require('undici/lib/core/constants.js') as { headerNameLowerCasedRecord: Record<string, string> }).headerNameLowerCasedRecord;
  for (const name of [...Object.values(HEADERS), 'x-forwarded-for', 'x-forwarded-proto', 'x-forwarded-host']) assert.equal(table[name], name, name);
  assert.equal(table['x-not-ours'], undefined);

  assert.throws(() => addUndiciHeaderNames(['X-Upper']), TypeError);
  assert.throws(() => addUndiciHeaderNames(['two words']), TypeError);
  assert.throws(() => addUndiciHeaderNames(['x-ok', 'bad:name']), TypeError);
  assert.equal(table['x-ok'], undefined, 'nothing is entered when one name is refused');

  // over real HTTP: the entered names reach the upstream as sent; a bad name from elsewhere is still refused by undici
  const seen: Record<string, string | string[] | undefined>[] = [];
  const upstream = createServer((req, res) => {
    seen.push(req.headers);
    res.end('ok');
  });
  await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
  const { Pool, errors } = await import('undici');
  const pool = new Pool(`http://127.0.0.1:${(upstream.address() as { port: number }).port}`);
  try {
    const list = identityHeaders({
      identity: {
        sub: 'u1',
        email: 'ada@example.test',
        name: 'Ada',
        realm: 'staff',
        client: null,
        role: 'admin',
        amr: ['pwd', 'otp'],
        idpAmr: null,
        authTime: 0,
        sid: 's1',
      },
      assertion: 'a.b.c',
    });
    const res = await pool.request({ path: '/', method: 'GET', headers: [...list, 'x-forwarded-for', '203.0.113.9'] });
    await res.body.text();
    assert.equal(res.statusCode, 200);
    assert.equal(seen[0]?.[HEADERS.identity], 'a.b.c');
    assert.equal(seen[0]?.[HEADERS.authMethod], 'pwd otp');
    assert.equal(seen[0]?.['x-forwarded-for'], '203.0.113.9');
    await assert.rejects(pool.request({ path: '/', method: 'GET', headers: ['bad name', 'v'] }), errors.InvalidArgumentError);
    await assert.rejects(pool.request({ path: '/', method: 'GET', headers: [HEADERS.identity, 'line\r\nbreak'] }), errors.InvalidArgumentError);
  } finally {
    await pool.close();
    await new Promise<void>((r) => upstream.close(() => r()));
  }
});
