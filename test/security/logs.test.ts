/**
 * Credentials in URLs never reach a log line (issue #12 §5). The gateway logs with its
 * production logger options at `trace` into memory while real sign-ins run over HTTP
 * through the Entra stand-in: a staff sign-in (callback with code and state, then a
 * replay of that callback, refused), a portal sign-in through the central callback host
 * (code and state there, then the hand-off ticket on the client's host), and an admin
 * consent (state). No code, state or ticket value may appear in any captured line,
 * while the paths and the parameter names (with the redaction marker) do.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import pino from 'pino';
import type { FastifyBaseLogger } from 'fastify';
import { loggerOptions } from '../../src/ops/logger.ts';
import { REDACTED } from '../../src/ops/redact-url.ts';
import { PATHS } from '../../src/routing/reserved.ts';
import { signConsentState } from '../../src/admin/consent-state.ts';
import { HOSTS, TENANTS, USERS, last, startEnv, type Env, type Page } from '../auth/entra/support.ts';
import { assertNoSecret, rawExchange } from './support.ts';

/** a logger with the gateway's options at `trace`, writing its JSON lines into `lines` */
function capturingLogger(): { logger: FastifyBaseLogger; lines: string[] } {
  const lines: string[] = [];
  const logger = pino(loggerOptions('trace'), { write: (line: string) => void lines.push(line) });
  return { logger: logger, lines };
}

/** every value of `names` in the query of `url`, named for the failure message */
function credentialsIn(url: URL, names: readonly string[], into: Record<string, string>): void {
  for (const name of names) {
    const v = url.searchParams.get(name);
    if (v !== null) into[`${name} of ${url.pathname} #${Object.keys(into).length}`] = v;
  }
}

/** the captured lines that log a request to `path` (its `req.url`) */
function requestUrls(lines: readonly string[], path: string): string[] {
  return lines
    .map((l) => JSON.parse(l) as { req?: { url?: string } })
    .map((l) => l.req?.url)
    .filter((u): u is string => typeof u === 'string' && u.startsWith(path));
}

describe('credentials in URLs never reach a log line', () => {
  const envs: Env[] = [];
  after(async () => {
    for (const env of envs) await env.close();
  });

  test('a staff sign-in through the stand-in, and a replay of its callback: no code or state in any line', async () => {
    const { logger, lines } = capturingLogger();
    const env = await startEnv({ logger });
    envs.push(env);
    await env.gw.store.createUser({
      realm: 'staff',
      email: USERS.ada.email,
      displayName: USERS.ada.name,
      role: 'admin',
      externalTid: TENANTS.staff,
      externalOid: USERS.ada.oid,
    });
    const browser = env.browser();
    const authorize = await browser.start(HOSTS.staff);
    const callback = await browser.atMicrosoft(authorize, USERS.ada.oid);
    const secrets: Record<string, string> = {};
    credentialsIn(callback, ['code', 'state'], secrets);
    assert.equal(Object.keys(secrets).length, 2, 'the callback carries a code and a state');

    const pages = await browser.follow(callback);
    assert.equal(pages[0]?.status, 303);
    assert.equal(new URL(last(pages).url).pathname, '/dashboard');
    // the same callback again: refused (state used), logged as a refusal
    const replay = await env.browser().open(callback);
    assert.ok(replay.status >= 400, `replay answered ${replay.status}`);

    assert.ok(lines.length > 5, 'the gateway logged the exchange');
    assertNoSecret(lines, secrets, 'the log');
    const logged = requestUrls(lines, PATHS.callback);
    assert.ok(logged.length >= 2, `the callback requests are logged: ${JSON.stringify(logged)}`);
    for (const url of logged) assert.equal(url, `${PATHS.callback}?code=${REDACTED}&state=${REDACTED}`);
  });

  test('a portal sign-in through the central callback host: no code, state or hand-off ticket in any line', async () => {
    const { logger, lines } = capturingLogger();
    const env = await startEnv({ central: true, logger });
    envs.push(env);
    const pages: Page[] = await env.browser().signIn(HOSTS.acme, USERS.alice.oid);
    const secrets: Record<string, string> = {};
    for (const page of pages) credentialsIn(page.url, ['code', 'state', 'ticket'], secrets);
    const handoff = pages.find((p) => p.url.pathname === PATHS.handoff);
    assert.ok(handoff, `the sign-in went through a hand-off: ${pages.map((p) => p.url.href).join(' → ')}`);
    assert.equal(handoff.url.host, HOSTS.acme);
    assert.deepEqual(
      Object.keys(secrets)
        .map((k) => k.split(' ')[0])
        .sort(),
      ['code', 'state', 'ticket'],
    );
    assert.equal(new URL(last(pages).url).pathname, '/dashboard');

    assertNoSecret(lines, secrets, 'the log');
    assert.deepEqual(requestUrls(lines, PATHS.handoff), [`${PATHS.handoff}?ticket=${REDACTED}`]);
    assert.deepEqual(requestUrls(lines, PATHS.callback), [`${PATHS.callback}?code=${REDACTED}&state=${REDACTED}`]);
  });

  test('an admin-consent callback: no state in any line; the other parameters are kept', async () => {
    const { logger, lines } = capturingLogger();
    const env = await startEnv({ logger });
    envs.push(env);
    const { state } = signConsentState(env.core, 'acme', TENANTS.acme);
    // where Microsoft sends the client's admin back (the gateway then confirms the grant with the stand-in)
    const back = new URL(`http://${HOSTS.staff}${PATHS.consentCallback}?admin_consent=True&tenant=${TENANTS.acme}&state=${encodeURIComponent(state)}`);
    const page = await env.browser().open(back);
    assert.equal(page.status, 200);
    assert.match(page.body, /consent granted/);

    assertNoSecret(lines, { state }, 'the log');
    const [logged, ...more] = requestUrls(lines, PATHS.consentCallback);
    assert.deepEqual(more, []);
    assert.match(logged ?? '', /[?&]state=\[redacted\](&|$)/);
    assert.match(logged ?? '', /[?&]admin_consent=True(&|$)/);
    assert.ok(logged?.includes(`tenant=${TENANTS.acme}`), logged);
  });

  test('malformed requests logged by Fastify and node:http (client errors at trace) hold no credential either', async () => {
    const { logger, lines } = capturingLogger();
    const env = await startEnv({ logger });
    envs.push(env);
    const code = 'CODE-in-a-bad-request-0123456789';
    // a request node:http refuses (header without a colon): Fastify logs the error with node's raw packet
    const r = await rawExchange(
      env.gw.port,
      `GET ${PATHS.callback}?code=${code}&state=STATE-in-a-bad-request HTTP/1.1\r\nHost: ${HOSTS.staff}\r\nno colon here\r\n\r\n`,
    );
    assert.equal(r.statuses[0], 400);
    // a path the gateway refuses, and one it cannot route, with credentials in the query
    await env.browser().open(`http://${HOSTS.staff}/a%00b?access_token=TOKEN-in-a-bad-path-0123&ticket=TICKET-in-a-bad-path-0123`);
    await env.browser().open(`http://${HOSTS.staff}${PATHS.handoff}x?ticket=TICKET-unrouted-0123456789`);
    assert.ok(
      lines.some((l) => l.includes('"client error"')),
      'the client error was logged',
    );
    assertNoSecret(
      lines,
      {
        code,
        state: 'STATE-in-a-bad-request',
        token: 'TOKEN-in-a-bad-path-0123',
        ticket: 'TICKET-in-a-bad-path-0123',
        unrouted: 'TICKET-unrouted-0123456789',
      },
      'the log',
    );
    assert.ok(!lines.some((l) => l.includes('rawPacket')), 'the raw request bytes are not logged');
  });
});

describe('the logger options redact credentials wherever a URL is written', () => {
  test('message strings and their arguments, errors (message, stack), causes, url and originalUrl fields', () => {
    const { logger, lines } = capturingLogger();
    const url = '/.auth/callback?code=SECRET-CODE-1&state=SECRET-STATE-1&x=1';
    logger.info(`Route GET:${url} not found`);
    logger.warn('Reply was already sent in "%s" (%s)', '/.auth/handoff?ticket=SECRET-TICKET-1', 'GET');
    logger.error({ err: new Error(`failed to fetch ${url}`) }, 'request failed');
    logger.error({ err: new Error('outer', { cause: new Error('inner /x?ticket=SECRET-CAUSE-1') }) }, 'nested');
    logger.info({ err: { message: `bad request for /x?id_token=SECRET-IDTOKEN-1`, code: 'E' } }, 'bad request');
    logger.warn({ cause: { name: 'TypeError', message: 'at https://login.test/t?client_secret=SECRET-CLIENT-1&client_assertion=SECRET-ASSERTION-1' } }, 'sso');
    logger.info(
      { url: '/a?session_state=SECRET-SESSION-1&password=SECRET-PASSWORD-1&code_verifier=SECRET-VERIFIER-1', originalUrl: '/b?refresh_token=SECRET-REFRESH-1' },
      'rewrite',
    );
    logger.info({ req: { method: 'GET', url: '/.auth/login?rd=%2Fapp%3Faccess_token%3DSECRET-NESTED-1', headers: { host: 'h' } } }, 'incoming request');
    const all = lines.join('\n');
    assert.deepEqual(all.match(/SECRET-[A-Z]+-1/g), null, all);
    assert.match(all, /\/\.auth\/callback\?code=\[redacted\]&state=\[redacted\]&x=1/);
    assert.match(all, /\/\.auth\/handoff\?ticket=\[redacted\]/);
    assert.match(all, /rd=%2Fapp%3Faccess_token%3D%5Bredacted%5D/);
  });

  test('a URL without a query is logged as it is', () => {
    const { logger, lines } = capturingLogger();
    logger.info({ req: { method: 'GET', url: '/assets/app.css', headers: { host: 'h' } } }, 'incoming request');
    assert.equal((JSON.parse(lines[0] as string) as { req: { url: string } }).req.url, '/assets/app.css');
  });
});
